package analyze

// The what-if schedule past its Limit, which keeps only what the bound
// reads, and the sums of time charged to groups that both paths keep (the
// schedule itself is in whatif_schedule.go).

import "github.com/stmlog/stmlog/logformat"

// boundEvents is event (and aggregate) for a schedule past its Limit:
// only what the bound reads
// (see predict) is kept, no segments, attempt ends or commit run times
// (descheduled, their only reader, is not run past the Limit). Past the
// Limit most of a large log's events come here, one call per batch.
func (s *Schedule) boundEvents(l *schedLog, evs []logformat.Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.Kind == logformat.KindAggregate {
			if as, ok := l.src.(logformat.AggregateSource); ok {
				s.aggregate(l, as.Aggregate())
			}
			continue
		}
		if ev.Thread == 0 || !ev.Kind.Valid() {
			continue
		}
		if !l.started {
			l.started, l.start = true, ev.Time
		}
		t := ev.Time - l.start
		th := l.last
		if th == nil || th.id != ev.Thread {
			th = s.thread(l, ev.Thread)
		}
		if d := th.boundClock(t); d > 0 {
			th.boundPause(d)
		}
		switch ev.Kind {
		case logformat.KindTxStart:
			th.boundStart()
		case logformat.KindTxCommit:
			th.boundCommit()
		default:
			s.boundStep(l, th, ev)
		}
	}
}

// The steps of boundEvents, which Analyzer.batch also takes when it reads
// a tee past the Limit (one loop for both: see Analyzer.addEvents).

// boundClock is event's advance and addSeg's sum of run time, past the
// Limit; it returns the length of the pause just ended, for boundPause,
// or 0. (Two functions so that this one inlines.)
func (th *schedThread) boundClock(t int64) int64 {
	t = th.advance(t)
	d := t - th.prev
	if d <= 0 {
		return 0
	}
	th.prev = t
	if th.waiting {
		return d
	}
	if th.inTx {
		th.attemptRun += d
	}
	return 0
}

// boundPause is addSeg's sums for a pause of length d.
func (th *schedThread) boundPause(d int64) {
	g := int32(-1)
	if th.pendingSet && (!th.afterAbort || th.reason == logformat.WaitBackoff) {
		g = th.pending
	}
	th.pauseSums(g, th.reason, d)
}

// pauseSums adds a pause of length d, charged to group g (or none, -1),
// to the sums the bound reads.
func (th *schedThread) pauseSums(g int32, reason logformat.WaitReason, d int64) {
	if g >= 0 && !th.chargedAcc.addDense(g, d) {
		th.chargedAcc.addSlow(th.charged, g, d)
	}
	if reason != logformat.WaitBackoff {
		th.waitPause += d
		if g >= 0 && !th.waitAcc.addDense(g, d) {
			th.waitAcc.addSlow(th.waitPauseBy, g, d)
		}
	}
}

func (th *schedThread) boundStart() {
	if th.inTx || th.afterAbort {
		th.clearPending()
	}
	th.inTx = true
	th.attemptInev = false
	th.attemptRun = 0
}

func (th *schedThread) boundCommit() {
	th.commits++
	th.inTx = false
	if th.pendingSet { // else pending, other and afterAbort are clear already
		th.clearPending()
	}
}

// boundStep is the rest of event past the Limit: the kinds other than
// starts and commits.
func (s *Schedule) boundStep(l *schedLog, th *schedThread, ev *logformat.Event) {
	switch ev.Kind {
	case logformat.KindTxAbort:
		if th.pendingSet && contended(ev.Cause) && th.pending >= 0 {
			th.chargedAcc.add(th.charged, th.pending, th.attemptRun)
		}
		th.attemptRun = 0
		th.abortEnded(ev.Cause)
	case logformat.KindConflict, logformat.KindWaitStart, logformat.KindWaitDone, logformat.KindBecomeInevitable:
		s.noteState(l, th, ev)
	}
}

// groupSum adds up time charged to groups before adding it to a group ->
// time map (flush): a map update per event was ~8 % of stmlog report, and
// one per conflict (when only the last group's sum was kept: a thread's
// conflicts alternate between groups) still ~6 %. Groups below
// denseGroups, most logs' all, are summed in a slice; the others one
// group at a time.
type groupSum struct {
	dense []denseSum // by group, below denseGroups
	g     int32
	d     int64
	set   bool
}

// denseSum is a group's sum in groupSum's slice; used: it was added to
// (flush puts the group in the map, even for 0).
type denseSum struct {
	d    int64
	used bool
}

// denseGroups bounds a groupSum's slice (two per thread: 4 KB each).
const denseGroups = 256

func (a *groupSum) add(m map[int32]int64, g int32, d int64) {
	if !a.addDense(g, d) {
		a.addSlow(m, g, d)
	}
}

// addDense is add for a group the slice has room for, most adds (an
// abort's, a pause's), small enough to be inlined where they are many
// (add itself, with its call of addSlow, is not); it reports false for
// the others, which addSlow takes: the map and the growth.
func (a *groupSum) addDense(g int32, d int64) bool {
	if uint(g) >= uint(len(a.dense)) {
		return false
	}
	s := &a.dense[g]
	s.d += d
	s.used = true
	return true
}

func (a *groupSum) addSlow(m map[int32]int64, g int32, d int64) {
	if uint32(g) < denseGroups {
		if int(g) >= len(a.dense) {
			a.grow(int(g))
		}
		s := &a.dense[g]
		s.d += d
		s.used = true
		return
	}
	if a.set && a.g == g {
		a.d += d
		return
	}
	if a.set {
		m[a.g] += a.d
	}
	a.g, a.d, a.set = g, d, true
}

func (a *groupSum) grow(g int) {
	n := min(max(2*len(a.dense), g+1, 8), denseGroups)
	a.dense = append(a.dense, make([]denseSum, n-len(a.dense))...)
}

func (a *groupSum) flush(m map[int32]int64) {
	for g, s := range a.dense {
		if s.used {
			m[int32(g)] += s.d
			a.dense[g] = denseSum{}
		}
	}
	if a.set {
		m[a.g] += a.d
		a.set = false
	}
}
