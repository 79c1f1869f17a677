package timeline

import (
	"strconv"

	"github.com/stmlog/stmlog/logformat"
)

// conflict writes the instant event on this side (the side that lost time)
// and the flow arrow from the other side.
func (cw *writer) conflict(ev logformat.Event, t *threadState, now int64) {
	if t.inTx {
		t.conflict = ev.Conflict
	}
	if !t.included || !cw.inWindow(now, now) {
		return
	}
	cw.stats.Conflicts++
	a := append(cw.abuf[:0], `{"kind":`...)
	a = appendJSONString(a, ev.Conflict.String())
	a = append(a, `,"this":`...)
	a = append(a, cw.quotedSite(ev.Site)...)
	a = append(a, `,"other":`...)
	a = append(a, cw.quotedSite(ev.OtherSite)...)
	a = append(a, `,"other_thread":`...)
	a = strconv.AppendUint(a, uint64(ev.OtherThread), 10)
	if ev.Var != 0 {
		a = append(a, `,"var":`...)
		name := cw.src.VarName(ev.Var)
		if name == "" {
			name = "#" + strconv.FormatUint(ev.Var, 10)
		}
		a = appendJSONString(a, name)
	}
	a = append(a, '}')
	cw.abuf = a
	cw.instant(ev.Thread, now, cw.conflictName(ev.Conflict), "conflict", a)

	if ev.OtherThread == 0 || ev.OtherThread == ev.Thread {
		return
	}
	o := cw.thread(ev.OtherThread)
	if !o.included {
		return
	}
	fl := pendingFlow{this: ev.Thread, at: now, kind: ev.Conflict, thisStart: now}
	if t.inTx {
		fl.thisStart = t.txStart
	}
	if o.last < now && len(o.waiting) < maxWaitingFlows {
		// The other side's events up to the conflict time have not been read
		// yet (native logs come in per-thread chunks): draw the arrow once
		// they have.
		if len(o.waiting) == 0 || fl.at < o.waitMin {
			o.waitMin = fl.at
		}
		o.waiting = append(o.waiting, fl)
		return
	}
	cw.drawFlow(ev.OtherThread, o, fl)
}

// marks remembers the last few (start, end) intervals of a thread:
// enough to find the other side's event of a conflict read somewhat after it,
// in bounded memory.
type marks struct {
	start, end [32]int64
	n          int // total added; the last min(n, 32) are kept
}

func (m *marks) add(start, end int64) {
	i := m.n % len(m.end)
	m.start[i], m.end[i] = start, end
	m.n++
}

// find returns the latest interval that ends at or before t.
func (m *marks) find(t int64) (start, end int64, ok bool) {
	for k := 1; k <= min(m.n, len(m.end)); k++ {
		i := (m.n - k) % len(m.end)
		if m.end[i] <= t {
			return m.start[i], m.end[i], true
		}
	}
	return 0, 0, false
}

// maxWaitingFlows bounds the arrows held back per other-side thread; beyond it
// arrows start at the conflict time.
const maxWaitingFlows = 4096

// pendingFlow is a conflict arrow whose start is not written yet.
type pendingFlow struct {
	this          uint32 // the side that lost time
	at, thisStart int64
	kind          logformat.ConflictKind
}

// resolveFlows draws the held-back arrows of other-side thread o whose
// conflict time its events have passed (all of them if all is set).
func (cw *writer) resolveFlows(tid uint32, o *threadState, now int64, all bool) {
	keep := o.waiting[:0]
	for _, fl := range o.waiting {
		if all || fl.at < now {
			cw.drawFlow(tid, o, fl)
		} else {
			if len(keep) == 0 || fl.at < o.waitMin {
				o.waitMin = fl.at
			}
			keep = append(keep, fl)
		}
	}
	o.waiting = keep
}

// drawFlow writes an arrow from other-side thread o to this side's attempt. It
// starts at the other side's event that caused the conflict when o's state
// shows it: the commit of the write this side read too early (write-read),
// or the moment o became inevitable (inevitable); else at the conflict time.
func (cw *writer) drawFlow(tid uint32, o *threadState, fl pendingFlow) {
	from := fl.at
	switch fl.kind {
	case logformat.ConflictWriteRead:
		if start, end, ok := o.commits.find(fl.at); ok && end >= fl.thisStart {
			from = max(end-1, start) // inside the commit slice, not at its edge
		}
	case logformat.ConflictInevitable:
		if _, at, ok := o.inevs.find(fl.at); ok {
			from = at
		}
	}
	cw.track(tid)
	cw.track(fl.this)
	if cw.max >= 0 && cw.stats.TraceEvents+2 > cw.max {
		cw.stats.Capped, cw.stats.CappedAt = true, cw.now-cw.origin // both ends or neither
		return
	}
	cw.flowID++
	cw.stats.Flows++
	cw.flow("s", tid, from, cw.flowID)
	cw.flow("f", fl.this, fl.at, cw.flowID)
}
