package timeline

import (
	"maps"
	"slices"
	"sort"
	"strconv"

	"github.com/stmlog/stmlog/logformat"
)

// openSlice is a nested slice (pause or GC) that has begun but not ended.
type openSlice struct {
	name  string
	cname string
	cat   string
	start int64
	// KindWaitStart, KindGCMinorStart, KindGCMajorStart, or
	// KindBecomeInevitable for the inevitable section of an attempt.
	kind logformat.Kind
	args string // pre-encoded args object, "" for none
}

type threadState struct {
	included bool
	named    bool  // its thread_name metadata is written
	last     int64 // latest time seen (times are clamped to be non-decreasing)

	inTx       bool
	txStart    int64
	inevitable bool // became inevitable (or reattached) in this attempt
	inevAt     int64
	reattached bool
	// sectionArgs, when not "", is an inevitable section waiting for the
	// pauses open when the attempt became inevitable to end (it must not
	// overlap them partially).
	sectionArgs string
	conflict    logformat.ConflictKind // last conflict of this attempt

	nested []openSlice
	// pending holds the closed nested slices of the open attempt: they are
	// written after it so that in file order a parent precedes its children
	// (viewers break ties between equal start times by file order).
	pending []closedSlice

	// Recent commits and become-inevitable moments, where conflict arrows
	// from this thread start.
	commits, inevs marks

	waiting []pendingFlow // arrows from this thread, until its events pass their time
	waitMin int64         // the earliest time of waiting (when it is not empty)
}

type closedSlice struct {
	start, end             int64
	name, cname, cat, args string
}

func (cw *writer) event(ev logformat.Event) {
	if ev.Kind == logformat.KindAggregate {
		if as, ok := cw.src.(logformat.AggregateSource); ok {
			cw.stats.Unlogged += as.Aggregate().Commits
		}
		return
	}
	if ev.Thread == 0 || !ev.Kind.Valid() {
		return // not a real event (damaged input); analyze skips these too
	}
	t := cw.thread(ev.Thread)
	now := ev.Time
	if now < t.last {
		now = t.last // keep nesting sound even if a log goes backwards
	}
	t.last = now
	cw.now = now
	if len(t.waiting) > 0 && now > t.waitMin { // else none is due: skip the scan
		cw.resolveFlows(ev.Thread, t, now, false)
	}
	switch ev.Kind {
	case logformat.KindTxStart:
		cw.endTx(ev.Thread, t, now, nameUnfinished, "")
		cw.closeNested(ev.Thread, t, now, 0)
		t.inTx, t.txStart = true, now
		t.inevitable, t.reattached, t.conflict = false, false, logformat.ConflictNone
		t.sectionArgs = ""
	case logformat.KindTxCommit:
		name := nameCommit
		if t.inevitable {
			name = nameInevitable
		}
		start := t.txStart
		if cw.endTx(ev.Thread, t, now, name, "") {
			t.commits.add(start, now)
		}
	case logformat.KindTxAbort:
		cw.endTx(ev.Thread, t, now, nameAbort, ev.Cause.String())
	case logformat.KindDetach:
		// PyPy c8: the inevitable transaction leaves the thread; drawn like
		// plot_stm_log.py does, as the end of the attempt.
		t.inevitable = true
		cw.endTx(ev.Thread, t, now, nameInevitable, "")
	case logformat.KindReattach:
		cw.endTx(ev.Thread, t, now, nameUnfinished, "")
		cw.closeNested(ev.Thread, t, now, 0)
		t.inTx, t.txStart = true, now
		t.inevitable, t.inevAt, t.reattached = true, now, true
		t.inevs.add(now, now)
	case logformat.KindBecomeInevitable:
		a := append(cw.abuf[:0], `{"site":`...)
		a = append(a, cw.quotedSite(ev.Site)...)
		a = append(a, '}')
		cw.abuf = a
		if !t.inevitable && t.inTx {
			// The rest of the attempt holds inevitability (others that
			// want it wait): drawn as a nested "inevitable section", like
			// plot_stm_log.py's orange box.
			t.inevitable, t.inevAt = true, now
			t.sectionArgs = string(a)
			cw.startSection(t, now)
		}
		t.inevs.add(now, now)
		if t.included && cw.inWindow(now, now) {
			cw.instant(ev.Thread, now, "become inevitable", "inevitable", a)
		}
	case logformat.KindConflict:
		cw.conflict(ev, t, now)
	case logformat.KindWaitStart:
		cw.closeNested(ev.Thread, t, now, logformat.KindWaitStart)
		cw.startSection(t, now)
		name := cw.pauseName(ev.Reason) // before reading pauseArgs, which it fills
		t.nested = append(t.nested, openSlice{
			name: name, cname: "terrible", cat: "pause",
			start: now, kind: logformat.KindWaitStart,
			args: cw.pauseArgs[ev.Reason],
		})
	case logformat.KindWaitDone:
		cw.closeNested(ev.Thread, t, now, logformat.KindWaitStart)
		cw.startSection(t, now)
	case logformat.KindGCMinorStart:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMinorStart)
		cw.startSection(t, now)
		t.nested = append(t.nested, openSlice{name: "minor gc", cname: "grey", cat: "gc", start: now, kind: logformat.KindGCMinorStart})
	case logformat.KindGCMinorDone:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMinorStart)
		cw.startSection(t, now)
	case logformat.KindGCMajorStart:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMajorStart)
		cw.startSection(t, now)
		t.nested = append(t.nested, openSlice{name: "major gc", cname: "yellow", cat: "gc", start: now, kind: logformat.KindGCMajorStart})
	case logformat.KindGCMajorDone:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMajorStart)
		cw.startSection(t, now)
	}
}

// startSection opens the inevitable section of t's attempt if one is due
// and nothing else is open (it starts when the last open pause ends).
func (cw *writer) startSection(t *threadState, now int64) {
	if t.sectionArgs == "" || !t.inTx || len(t.nested) > 0 {
		return
	}
	t.nested = append(t.nested, openSlice{name: "inevitable section", cname: "thread_state_iowait", cat: "inevitable",
		start: now, kind: logformat.KindBecomeInevitable, args: t.sectionArgs})
	t.sectionArgs = ""
}

// pauseName returns the slice name of a pause (and fills its args).
func (cw *writer) pauseName(r logformat.WaitReason) string {
	if cw.pauseNames[r] == "" {
		cw.pauseNames[r] = "pause " + r.String()
		cw.pauseArgs[r] = `{"reason":` + string(appendJSONString(nil, r.String())) + `}`
	}
	return cw.pauseNames[r]
}

func (cw *writer) conflictName(k logformat.ConflictKind) string {
	if cw.conflictNames[k] == "" {
		cw.conflictNames[k] = "conflict " + k.String()
	}
	return cw.conflictNames[k]
}

// endTx closes the open attempt of t (and what is nested in it) at now and
// writes it; it reports whether an attempt was open.
func (cw *writer) endTx(tid uint32, t *threadState, now int64, name, cause string) bool {
	if !t.inTx {
		return false
	}
	cw.closeNested(tid, t, now, 0)
	t.inTx, t.sectionArgs = false, ""
	if !t.included || !cw.inWindow(t.txStart, now) {
		t.pending = t.pending[:0]
		return true
	}
	switch name {
	case nameCommit:
		cw.stats.Commits++
	case nameAbort:
		cw.stats.Aborts++
	case nameInevitable:
		cw.stats.Inevitable++
	default:
		cw.stats.Unfinished++
	}
	a := append(cw.abuf[:0], `{"outcome":`...)
	a = appendJSONString(a, name)
	if cause != "" {
		a = append(a, `,"cause":`...)
		a = appendJSONString(a, cause)
	}
	if t.conflict != logformat.ConflictNone {
		a = append(a, `,"conflict":`...)
		a = appendJSONString(a, t.conflict.String())
	}
	if t.inevitable {
		a = append(a, `,"inevitable_after_ns":`...)
		a = strconv.AppendInt(a, t.inevAt-t.txStart, 10)
	}
	if t.reattached {
		a = append(a, `,"reattached":true`...)
	}
	a = append(a, '}')
	cw.abuf = a
	cw.slice(tid, t.txStart, now, name, sliceColor[name], "tx", a)
	// Parents before children: by start, longer first (closing order is
	// innermost first).
	sort.SliceStable(t.pending, func(i, j int) bool {
		pi, pj := &t.pending[i], &t.pending[j]
		if pi.start != pj.start {
			return pi.start < pj.start
		}
		return pi.end > pj.end
	})
	for _, p := range t.pending {
		cw.slice(tid, p.start, p.end, p.name, p.cname, p.cat, []byte(p.args))
	}
	t.pending = t.pending[:0]
	return true
}

// closeNested closes, at now, the innermost open nested slice of the given
// kind and everything opened inside it; kind 0 closes them all.
func (cw *writer) closeNested(tid uint32, t *threadState, now int64, kind logformat.Kind) {
	i := len(t.nested) - 1
	if kind != 0 {
		for i >= 0 && t.nested[i].kind != kind {
			i--
		}
		if i < 0 {
			return
		}
	} else {
		i = 0
	}
	for j := len(t.nested) - 1; j >= i; j-- {
		n := t.nested[j]
		if t.included && cw.inWindow(n.start, now) {
			if n.kind == logformat.KindWaitStart {
				cw.stats.Pauses++
			}
			if t.inTx {
				t.pending = append(t.pending, closedSlice{n.start, now, n.name, n.cname, n.cat, n.args})
			} else {
				cw.slice(tid, n.start, now, n.name, n.cname, n.cat, []byte(n.args))
			}
		}
	}
	t.nested = t.nested[:i]
}

// finish closes what is still open at the end of the log, then the JSON.
func (cw *writer) finish() {
	if !cw.stats.Capped {
		for _, id := range slices.Sorted(maps.Keys(cw.threads)) {
			t := cw.threads[id]
			cw.resolveFlows(id, t, t.last, true)
			if !cw.endTx(id, t, t.last, nameUnfinished, "") {
				cw.closeNested(id, t, t.last, 0)
			}
		}
	}
	st := cw.src.Stats()
	var b []byte
	b = append(b, "\n],\"otherData\":{\"generator\":\"stmlog timeline\",\"format\":"...)
	b = appendJSONString(b, st.Format)
	b = append(b, `,"capped":`...)
	b = strconv.AppendBool(b, cw.stats.Capped)
	b = append(b, `,"truncated_bytes":`...)
	b = strconv.AppendInt(b, st.TruncatedBytes, 10)
	b = append(b, `,"dropped_events":`...)
	b = strconv.AppendInt(b, st.Dropped, 10)
	b = append(b, "}}\n"...)
	cw.raw(string(b))
}

func (cw *writer) inWindow(start, end int64) bool {
	return end >= cw.lo && start <= cw.hi
}

// site renders a stack for the args of an event, cached by ID.
// quotedSite is site as a JSON string, escaped once per stack (a log's
// conflicts come from few sites, and their texts are long).
func (cw *writer) quotedSite(id logformat.StackID) string {
	if q, ok := cw.quoted[id]; ok {
		return q
	}
	q := string(appendJSONString(nil, cw.site(id)))
	cw.quoted[id] = q
	return q
}

func (cw *writer) site(id logformat.StackID) string {
	if id == 0 {
		return ""
	}
	if s, ok := cw.sites[id]; ok {
		return s
	}
	st := cw.src.Stack(id)
	s := ""
	if st != nil {
		s = st.Label
		for i, f := range st.Frames {
			if i > 0 || s != "" {
				s += "\n"
			}
			s += f.String()
		}
	}
	cw.sites[id] = s
	return s
}
