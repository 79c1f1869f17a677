package analyze

import (
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// addEvents feeds every event of src to the analysis, a batch at a time
// when src can (logformat.BatchSource): per event, the batch path costs a
// loop step where Next costs a call through the interface and a copy.
//
// A Schedule's tee (Schedule.Tee) read directly is read through: the
// Analyzer hands each batch to the schedule itself, and once the schedule
// is past its Limit, takes the schedule's steps (boundEvents) in its own
// loop (batch's tb), which then dispatches on the kind and finds the
// thread once for both: two loops over every event of a large log were
// ~30 % of stmlog report's time.
func (a *Analyzer) addEvents(l *logState, src logformat.Source) error {
	as, _ := src.(logformat.AggregateSource)
	if tb, ok := src.(*teeBatches); ok {
		rs, _ := tb.bs.(logformat.RawSource)
		for {
			if rs != nil && tb.s.over && a.batchFast(l) && tb.l.started && tb.l.start == l.start && a.raw(l, rs, tb) {
				continue
			}
			evs, err := tb.bs.NextBatch()
			if err == nil && tb.s.over && a.batchFast(l) && tb.l.started && tb.l.start == l.start {
				a.batch(l, evs, as, tb)
				continue
			}
			tb.feed(evs)
			if err != nil {
				// The segments the schedule would have kept (BoundFirst): one
				// where a thread's clock moved, as the batch loop counted.
				a.eachThreadOf(l, func(th *thread) { tb.s.segs += int(th.moves) })
				return err
			}
			a.batch(l, evs, as, nil)
		}
	}
	if bs, ok := src.(logformat.BatchSource); ok {
		rs, _ := src.(logformat.RawSource)
		for {
			if rs != nil && a.batchFast(l) && a.raw(l, rs, nil) {
				continue
			}
			evs, err := bs.NextBatch()
			if err != nil {
				return err
			}
			a.batch(l, evs, as, nil)
		}
	}
	for {
		ev, err := src.Next()
		if err != nil {
			return err
		}
		if ev.Kind == logformat.KindAggregate {
			if as != nil {
				a.aggregate(l, as.Aggregate())
			}
			continue
		}
		a.event(l, &ev)
	}
}

// batchFast reports whether batch takes its own loop (else event's).
func (a *Analyzer) batchFast(l *logState) bool {
	return !a.windowed && a.opt.Thread == 0 && l.started
}

// batch takes in a batch of events. It is event's loop, inline, when no
// window or thread filter applies and the log's start is known, with the
// two kinds that are most of any log, starts and commits, done inline too
// (the others through step); events with thread 0 or an invalid kind, and
// aggregates, go through event. Consecutive events are mostly of one thread
// (a native batch is one thread's), whose state is looked up once for
// them. What it computes is exactly what event would.
//
// With tb (only when batchFast, and tb's schedule is past its Limit and
// counts time from l's start), the loop also takes each event's steps in
// tb's schedule, exactly what boundEvents would.
func (a *Analyzer) batch(l *logState, evs []logformat.Event, as logformat.AggregateSource, tb *teeBatches) {
	if !a.batchFast(l) {
		for i := range evs {
			a.eventOrAggregate(l, &evs[i], as)
		}
		return
	}
	var th *thread
	var st *schedThread // tb's, of th
	// shared: st's state is th's (see sharedState), kept in th alone,
	// and st keeps only what th has not, until the loop leaves th or an
	// event of another kind comes (unshare).
	shared := false
	start := l.start
	// The log's event count and time range are l's (event, for the
	// events it takes, updates them too), not locals: the loop has
	// registers for little more than its own. A thread's times never go
	// back (see the order check), so the range's ends are a thread's
	// first time and, when the loop leaves it, its last.
	l.events += int64(len(evs))
	for i := 0; i < len(evs); i++ {
		ev := &evs[i]
		if th != nil && ev.Thread == th.id && (shared || st == nil) && !th.waiting && th.state <= stRun {
			// The run of th's clean starts and commits (no attempt left
			// open, no pending conflict, no wait), which are most events:
			// the steps below for them, in a loop that calls nothing, so
			// that its values stay in registers.
			for ; i < len(evs); i++ {
				ev = &evs[i]
				t := ev.Time - start
				if ev.Thread != th.id || t < th.last {
					break
				}
				if ev.Kind == logformat.KindTxStart && !th.inTx && !th.afterAbort {
					if shared {
						st.attemptInev = false
					}
					th.inTx = true
					th.state = stRun
				} else if ev.Kind == logformat.KindTxCommit && th.inTx && !th.pendingSet {
					th.run += max(t-th.prev, 0) & -int64(th.state)
					if shared {
						st.commits++
						st.attemptRun = th.run
					}
					a.tot.commits++
					th.commits++
					a.tot.committed += th.run
					th.committed += th.run
					th.inTx = false
					th.state = stStop
				} else {
					break
				}
				if t > th.last {
					th.moves++
				}
				th.last, th.prev, th.run = t, t, 0
			}
			if i == len(evs) {
				break
			}
		}
		k := ev.Kind
		if !k.Valid() || ev.Thread == 0 {
			if shared {
				st.unshare(th)
				shared = false
			}
			l.events-- // event counts those it takes
			a.eventOrAggregate(l, ev, as)
			if tb != nil && k == logformat.KindAggregate && as != nil {
				if tb.s.boundFirst {
					tb.s.segsUnknown = true // it moves st's clock, not th's
				}
				tb.s.aggregate(tb.l, as.Aggregate())
				if th != nil {
					l.noteTime(th.last)
					th = nil
				}
			}
			continue
		}
		if th == nil || th.id != ev.Thread {
			if th != nil {
				l.noteTime(th.last)
			}
			if shared {
				st.unshare(th)
			}
			th = a.threadOf(l, ev.Thread)
			if tb != nil {
				st = tb.s.thread(tb.l, ev.Thread)
				shared = st.sharedState(th)
			}
		}
		shared = a.slowSteps(l, th, st, shared, tb, evs[i:i+1], nil)
	}
	if th != nil {
		l.noteTime(th.last)
	}
	if shared {
		st.unshare(th)
	}
}

// slowSteps is batch's step of each of evs, events of th (of valid
// kinds) that its inner loop does not take, with th's schedule thread st
// when the loop takes the schedule's steps (shared: st's state is th's,
// see sharedState); it returns whether st's state is still shared. One
// call for a run of them (raw's), whose arguments then stay in registers
// or are spilled once, not once an event. From raw, with b: an event of
// KindInvalid is b's run of starts and commits (RawBatch.Fields), which
// it takes in one step, or else event by event.
func (a *Analyzer) slowSteps(l *logState, th *thread, st *schedThread, shared bool, tb *teeBatches, evs []logformat.Event, b *logformat.RawBatch) bool {
	start := l.start
	// The schedule's key of a conflict is its group cache entry's when
	// both group alike (see schedKey).
	sameKeys := tb != nil && tb.s.opt.By == a.opt.By && tb.s.opt.Kind == a.opt.Kind
	for i := range evs {
		ev := &evs[i]
		k := ev.Kind
		if k == logformat.KindInvalid {
			if st != nil && !shared {
				shared = st.sharedState(th)
			}
			// th's run of starts and commits with no field (see
			// logformat.PlainRun), taken as batch's inner loop takes the
			// clean ones (th seen, not waiting, in stStop or stRun; st nil,
			// or its state shared; no conflict pending but one the first
			// event ends), if th is in that state and the run is what that
			// loop would take, from its first event: th's clock is at the
			// run's start and the first event is the commit of th's open
			// attempt or the start of one out of a transaction; else event
			// by event. An attempt's run is its commit's delta, and th's
			// and st's fields are set from the count at the end. Here, not
			// in a function of its own: a call, and the reloads after it,
			// cost a fifth of the step.
			r := &b.Runs[ev.Var]
			inTx := th.inTx
			// Only an event that ends a pending conflict: the start after
			// the abort it caused, or its attempt's commit (ends: its
			// clearPending, whose order against the rest of these steps
			// does not matter).
			ends := th.pendingSet
			if !(shared || st == nil) || !th.seen || th.waiting || th.state > stRun || r.T-start != th.last ||
				th.prev != th.last || (r.Lead >= 0) != inTx || ends && inTx == th.afterAbort {
				shared = a.slowSteps(l, th, st, shared, tb, b.RunEvents(r), nil)
				continue
			}
			committed, lastRun := r.Committed, r.LastRun
			if inTx {
				// the open attempt's commit
				lr := th.run + r.Lead&-int64(th.state)
				committed += lr
				if lastRun < 0 {
					lastRun = lr
				}
			}
			n := r.N
			commits := int64(n+int(b2u(inTx))) / 2
			started := n >= 2 || !inTx
			if n&1 == 1 {
				inTx = !inTx
			}
			th.inTx = inTx
			th.state = stStop
			if inTx {
				th.state = stRun
			}
			t := r.End - start
			th.last, th.prev, th.run = t, t, 0
			th.commits += commits
			th.committed += committed
			th.moves += r.Moves
			a.tot.commits += commits
			a.tot.committed += committed
			if st != nil { // shared
				st.commits += commits
				if started {
					st.attemptInev = false
				}
				if commits > 0 {
					st.attemptRun = lastRun
				}
			}
			if ends { // clearPending, written out for the same reason
				if g := th.pending; g != nil && th.pendingKept && !g.cost.addFast(max(th.pendingCost, 0)) {
					g.cost.add(th.pendingCost)
				}
				th.pending, th.pendingSet, th.pendingKept, th.pendingCost, th.afterAbort = nil, false, false, 0, false
			}
			continue
		}
		if shared && k > logformat.KindBecomeInevitable {
			st.unshare(th) // the Analyzer's and the schedule's steps differ
			shared = false
		}
		// event's prologue, for a valid kind of a known thread.
		t := ev.Time - start
		if st != nil && !shared { // the schedule keeps its own clock
			if d := st.boundClock(t); d > 0 {
				st.boundPause(d)
			}
		}
		if t < th.last || !th.seen {
			if th.seen {
				l.outOfOrder++
				t = th.last
			} else {
				th.seen = true
				th.last = t // no segment before a thread's first event
				l.noteTime(t)
			}
		}
		// advance, unwindowed, without a branch on which of the two
		// states most events find is th's (it follows the order of
		// the kinds, which a predictor missed once per 2.4 events); a
		// pause, and with shared its schedule's sums, in pauseTo.
		if th.state <= stRun && !(shared && th.waiting) {
			th.run += max(t-th.prev, 0) & -int64(th.state) // stRun is 1, stStop 0
			th.prev = t
		} else {
			a.pauseTo(th, st, shared, t)
		}
		if t > th.last {
			th.moves++ // see Schedule.BoundFirst
		}
		th.last = t
		switch k {
		case logformat.KindTxStart:
			if th.inTx {
				l.unfinished++ // a start with no end: the old attempt vanished
				a.clearPending(th)
			}
			if th.afterAbort {
				a.clearPending(th)
			}
			th.inTx = true
			th.run = 0
			if !th.waiting {
				th.state = stRun
			}
			if shared {
				st.attemptInev = false
			} else if st != nil {
				st.boundStart()
			}
		case logformat.KindTxCommit:
			if shared {
				st.commits++
				if th.inTx {
					st.attemptRun = th.run
				}
			}
			if !th.inTx {
				l.orphanEnd++
			}
			a.tot.commits++
			th.commits++
			a.tot.committed += th.run
			th.committed += th.run
			th.run = 0
			th.inTx = false
			th.state = stStop
			if th.pendingSet { // else the pending fields are all zero already
				a.clearPending(th)
			}
			if st != nil && !shared {
				st.boundCommit()
			}
		// The two kinds most of the others are, dispatched once for both
		// steps (step would switch on the kind again).
		case logformat.KindConflict:
			// The schedule's key through the group cache's entry when it can
			// (sharedConflict's keyOf hashes the same fields again).
			e := a.conflict(l, th, ev, t, true)
			if shared {
				if e != nil && sameKeys {
					st.pending, st.other = e.schedKey(tb, ev), ev.OtherThread
				} else {
					st.sharedConflict(tb.s, tb.l, ev)
				}
			}
		case logformat.KindTxAbort:
			if g := th.pending; g != nil && ev.Cause == logformat.AbortConflict && th.inTx && th.pendingSet {
				// abort's step (and with shared the schedule's) of the
				// abort most are, its pending conflict's doing, written
				// out: its call, with the spills around it, cost about
				// as much as the step.
				run := th.run
				if shared {
					if sg := st.pending; sg >= 0 && !st.chargedAcc.addDense(sg, run) {
						st.chargedAcc.addSlow(st.charged, sg, run)
					}
					st.attemptRun = 0
				}
				a.tot.aborts++
				th.aborts++
				a.tot.aborted += run
				th.aborted += run
				cs := &a.causes[logformat.AbortConflict]
				cs.Count++
				cs.Time += time.Duration(run)
				g.aborted += run
				g.aborts++
				th.pendingCost += run
				th.run = 0
				th.inTx = false
				th.state = stStop
				th.afterAbort = true
				break
			}
			sst := st // the schedule's step too, if shared
			if !shared {
				sst = nil
			}
			a.abort(l, th, ev, true, sst)
		case logformat.KindWaitStart:
			a.waitStart(l, th, ev.Reason, true)
		case logformat.KindWaitDone:
			waitDone(l, th)
		default:
			if shared && k == logformat.KindBecomeInevitable {
				st.attemptInev = true
			}
			a.step(l, th, ev, t, true)
		}
		if k > logformat.KindTxCommit && st != nil && !shared {
			tb.s.boundStep(tb.l, st, ev)
		}
	}
	return shared
}

// pauseTo is slowSteps' advance of th to t (unwindowed) for a thread
// paused or detached, or waiting with shared (st's state is th's, see
// sharedState): then it takes boundClock's step too, the pause's sums.
// One call for both, where they test the same of th.
func (a *Analyzer) pauseTo(th *thread, st *schedThread, shared bool, t int64) {
	charged := th.pendingSet && (!th.afterAbort || th.reason == logformat.WaitBackoff)
	if d := t - th.last; shared && th.waiting && d > 0 {
		// boundPause's, the state in th, and its pauseSums written out (a
		// call, over the inliner's budget, and its spills cost as much)
		g := int32(-1)
		if charged {
			g = st.pending
		}
		if g >= 0 && !st.chargedAcc.addDense(g, d) {
			st.chargedAcc.addSlow(st.charged, g, d)
		}
		if th.reason != logformat.WaitBackoff {
			st.waitPause += d
			if g >= 0 && !st.waitAcc.addDense(g, d) {
				st.waitAcc.addSlow(st.waitPauseBy, g, d)
			}
		}
	}
	d := max(t-th.prev, 0)
	th.prev = t
	switch th.state {
	case stStop, stRun:
		th.run += d & -int64(th.state)
	case stPause:
		if d == 0 {
			return
		}
		a.tot.paused += d
		th.paused += d
		a.reasons[th.reason].Time += time.Duration(d)
		if !charged {
			a.unattribPau += d
		} else if g := th.pending; g != nil {
			g.paused += d
			th.pendingCost += d
		}
	}
}

// sharedState reports whether the state the schedule past its Limit keeps
// of thread st (boundEvents) is th's, so that batch can keep it in th alone
// for th's next events, as long as they are of the kinds up to
// KindBecomeInevitable, whose steps keep it so: the clock (prev and last;
// th.prev is th.last, unwindowed), the transaction, wait and pending
// conflict's flags, and the attempt's run time (th.run accrues in stRun,
// st.attemptRun when in a transaction and not waiting: the same times
// when stRun is just that, which those kinds' steps keep). An aggregate
// record moves st's clock, not th's; detach and GC events th's state.
func (st *schedThread) sharedState(th *thread) bool {
	return st.seen && th.seen && !st.frozen &&
		st.prev == st.last && st.last == th.last && th.prev == th.last &&
		st.inTx == th.inTx && st.waiting == th.waiting && st.reason == th.reason &&
		st.pendingSet == th.pendingSet && st.afterAbort == th.afterAbort &&
		(!th.inTx || st.attemptRun == th.run) &&
		th.state != stDetached && (th.state == stRun) == (th.inTx && !th.waiting)
}

// unshare gives st back the state batch kept in th. Out of a transaction,
// st.attemptRun is st's own (a commit leaves it, th.run is cleared); the
// pending group and its other thread are st's, and cleared with the flag.
func (st *schedThread) unshare(th *thread) {
	st.prev, st.last = th.last, th.last
	st.inTx, st.waiting, st.reason = th.inTx, th.waiting, th.reason
	st.pendingSet, st.afterAbort = th.pendingSet, th.afterAbort
	if !th.pendingSet {
		st.pending, st.other = -1, 0
	}
	if th.inTx {
		st.attemptRun = th.run
	}
}

// sharedConflict is boundStep with the state in th, before th's step:
// what st keeps that th has not (the pending group, the other thread).
// (An abort's is abort's, with st; a BecomeInevitable's is
// st.attemptInev; the other kinds' are none.)
func (st *schedThread) sharedConflict(s *Schedule, l *schedLog, ev *logformat.Event) {
	st.pending, st.other = -1, ev.OtherThread
	if s.opt.Kind == logformat.ConflictNone || ev.Conflict == s.opt.Kind {
		st.pending = s.keyOf(l, ev)
	}
}

// noteTime widens l's time range to t.
func (l *logState) noteTime(t int64) {
	if !l.seen {
		l.seen = true
		l.min, l.max = t, t
	}
	l.min = min(l.min, t)
	l.max = max(l.max, t)
}

// eventOrAggregate is event, or aggregate for an aggregate record's event
// (the record is as's; a batch holds at most one, its last).
func (a *Analyzer) eventOrAggregate(l *logState, ev *logformat.Event, as logformat.AggregateSource) {
	if ev.Kind != logformat.KindAggregate {
		a.event(l, ev)
	} else if as != nil {
		a.aggregate(l, as.Aggregate())
	}
}

// groupCache maps the event fields that choose a conflict's group to the
// group, direct-mapped: a log's conflicts come from few sites and Vars, and
// a hit skips groupOf's stack interning and two map lookups (one of them
// hashes a string). Hits are exact (the whole key is compared).
type groupCache [64]groupEntry

type groupEntry struct {
	k      cacheKey
	thread uint32 // ByThread only: the group is the thread's
	g      *group
	// key is the what-if schedule's key of the log's conflicts with these
	// fields (Schedule.keyOf), if keySet (see schedKey).
	key    int32
	keySet bool
}

// schedKey is tb's schedule's keyOf of ev, a conflict whose group cache
// entry e is: the same for every event of an entry when the schedule's
// options By and Kind are the Analyzer's (the caller checks), since both
// keys are functions of the same fields then.
func (e *groupEntry) schedKey(tb *teeBatches, ev *logformat.Event) int32 {
	if !e.keySet {
		e.key, e.keySet = tb.s.keyOf(tb.l, ev), true
	}
	return e.key
}

// groupHash is the groupCache entry of a conflict's fields k (and thread,
// under ByThread): conflict looks its group up there, and a hit skips
// groupOf, whose result and effect on the group (the "mixed" flags)
// depend only on these fields within a log. A hit is the entry with these
// fields; cacheMiss fills it on a miss.
func groupHash(k cacheKey, thread uint32) uint64 {
	return (uint64(k.site)*0x9e3779b97f4a7c15 ^ uint64(k.other)*0xc2b2ae3d27d4eb4f ^
		k.v*0x165667b19e3779f9 ^ uint64(thread)*0x27d4eb2f165667c5 ^ uint64(k.kind)) >> 58
}

// cacheMiss fills conflict's groupCache entry h for ev (see groupHash).
func (a *Analyzer) cacheMiss(l *logState, ev *logformat.Event, h uint64, thread uint32) *groupEntry {
	if l.groups == nil {
		l.groups = new(groupCache)
	}
	e := &l.groups[h]
	*e = groupEntry{k: cacheKey{ev.Site, ev.OtherSite, ev.Conflict, ev.Var}, thread: thread, g: a.groupOf(l, ev)}
	return e
}
