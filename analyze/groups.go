package analyze

// Conflict groups: stacks and Var names interned across logs, the grouping
// key of each GroupBy, and the per-thread cache of the last group met.

import (
	"slices"

	"github.com/stmlog/stmlog/logformat"
)

type gkey struct {
	kind        logformat.ConflictKind
	this, other int32
	log         int32
	thread      uint32
	v           uint64
	vname       int32
}

const mixed = -1

type group struct {
	key          gkey
	kind         logformat.ConflictKind
	kindMixed    bool
	this, other  int32 // interned stack index, or mixed
	v            uint64
	vname        int32
	vMixed       bool
	log          int32
	thread       uint32
	count        int64
	aborts       int64
	aborted      int64
	paused       int64
	first, last  int64
	cost         sketch
	threads      []uint32
	otherThreads []uint32
	// threads and otherThreads below 64, as bits (see addThreadBit)
	threadBits, otherBits uint64
	tl                    *fineTimeline
}

type cacheKey struct {
	site, other logformat.StackID
	kind        logformat.ConflictKind
	v           uint64
}

func (a *Analyzer) stack(l *logState, id logformat.StackID) int32 {
	if id == 0 {
		return 0
	}
	if i, ok := l.stackIDs[id]; ok {
		return i
	}
	st := l.src.Stack(id)
	var i int32
	if st != nil {
		k := st.Key()
		var ok bool
		if i, ok = a.stackIdx[k]; !ok {
			cp := &logformat.Stack{Label: st.Label, Frames: slices.Clone(st.Frames)}
			i = int32(len(a.stacks))
			a.stacks = append(a.stacks, cp)
			a.stackIdx[k] = i
		}
	}
	l.stackIDs[id] = i
	return i
}

func (a *Analyzer) varName(name string) int32 {
	if name == "" {
		return 0
	}
	i, ok := a.varIdx[name]
	if !ok {
		i = int32(len(a.varNames))
		a.varNames = append(a.varNames, name)
		a.varIdx[name] = i
	}
	return i
}

func (a *Analyzer) groupOf(l *logState, ev *logformat.Event) *group {
	this := a.stack(l, ev.Site)
	other := a.stack(l, ev.OtherSite)
	var vname int32
	if ev.Var != 0 && (a.opt.By == ByVar || a.opt.By == ByConflict) {
		vname = a.varName(l.src.VarName(ev.Var))
	}
	var k gkey
	switch a.opt.By {
	case ByConflict:
		k = gkey{kind: ev.Conflict, this: this, other: other}
	case BySite:
		k = gkey{this: this}
	case ByOther:
		k = gkey{other: other}
	case ByPair:
		k = gkey{this: this, other: other}
	case ByKind:
		k = gkey{kind: ev.Conflict}
	case ByThread:
		k = gkey{log: int32(l.index), thread: ev.Thread}
	case ByVar:
		switch {
		case vname != 0:
			k = gkey{vname: vname}
		case ev.Var != 0:
			k = gkey{log: int32(l.index), v: ev.Var}
		} // else no Var (inevitable conflicts): one group for all logs
	}
	g := a.groups[k]
	if g == nil {
		g = &group{key: k, kind: ev.Conflict, this: this, other: other,
			v: ev.Var, vname: vname, log: int32(l.index), thread: ev.Thread, tl: a.newTimeline()}
		a.groups[k] = g
		a.order = append(a.order, g)
		return g
	}
	if g.kind != ev.Conflict {
		g.kindMixed = true
	}
	if g.this != this {
		g.this = mixed
	}
	if g.other != other {
		g.other = mixed
	}
	// A named Var is the same Var in every log and under every id (see
	// ByVar): only its id can differ. Unnamed ones are ids within a log.
	if g.vname != vname || (vname == 0 && (g.v != ev.Var || int(g.log) != l.index)) {
		g.vMixed = true
	} else if g.v != ev.Var {
		g.v = 0
	}
	return g
}

// addThreadBit is addThread with bits, the ids below 64 in s: a
// conflict's threads are mostly known already, and the bit test costs
// less than the scan (and its branch per thread).
func addThreadBit(bits *uint64, s []uint32, id uint32) []uint32 {
	if id >= 64 {
		return addThread(s, id)
	}
	if *bits&(1<<id) != 0 {
		return s
	}
	*bits |= 1 << id
	return append(s, id)
}

func addThread(s []uint32, id uint32) []uint32 {
	// Groups usually see few threads; a linear scan beats a map here.
	for _, x := range s {
		if x == id {
			return s
		}
	}
	return append(s, id)
}

// GroupLog is the name of the log a group belongs to when its thread number
// or Var id is one log's (by thread; by var, an unnamed Var), else "": such
// an id means nothing without its log when several logs are read together.
func (s *Summary) GroupLog(g *Group) string {
	switch {
	case s.Options.By == ByThread,
		s.Options.By == ByVar && g.VarName == "" && g.Var != 0:
		return s.Logs[g.Log].Name
	}
	return ""
}
