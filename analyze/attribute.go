package analyze

// The attribution rule (see the package doc): a conflict event makes its
// group the thread's pending conflict; the thread's pauses while it is
// pending, and the abort that ends the attempt, are charged to it.

import (
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// conflict makes the event's group the thread's pending conflict, which
// the pauses and the abort that follow on the thread are charged to (see
// advance and abort), and counts the event in its group when it is inside
// the window. A conflict filtered out by Options.Kind stays pending with no
// group: the time it costs is then neither its group's nor unattributed.
// It returns the group's cache entry (nil if filtered out).
func (a *Analyzer) conflict(l *logState, th *thread, ev *logformat.Event, t int64, in bool) *groupEntry {
	if th.pendingSet { // else the pending fields are all zero already
		a.clearPending(th)
	}
	th.pendingSet = true
	if a.opt.Kind != logformat.ConflictNone && ev.Conflict != a.opt.Kind {
		return nil
	}
	// The group through l's groupCache (see groupHash), the hit inline:
	// most conflicts' (a log's come from few sites and Vars).
	k := cacheKey{ev.Site, ev.OtherSite, ev.Conflict, ev.Var}
	var thread uint32
	if a.opt.By == ByThread {
		thread = ev.Thread
	}
	h := groupHash(k, thread)
	var e *groupEntry
	if c := l.groups; c != nil {
		e = &c[h]
	}
	if e == nil || e.g == nil || e.k != k || e.thread != thread {
		e = a.cacheMiss(l, ev, h, thread)
	}
	g := e.g
	th.pending = g
	th.pendingKept = in
	if !in {
		return e
	}
	th.conflicts++
	a.tot.conflicts++
	if g.count == 0 {
		g.first = t
	}
	g.count++
	g.first = min(g.first, t)
	g.last = max(g.last, t)
	// A thread already seen (most conflicts' both) stores no slice back.
	if id := ev.Thread; id >= 64 || g.threadBits&(1<<id) == 0 {
		g.threads = addThreadBit(&g.threadBits, g.threads, id)
	}
	if id := ev.OtherThread; id != 0 && (id >= 64 || g.otherBits&(1<<id) == 0) {
		g.otherThreads = addThreadBit(&g.otherBits, g.otherThreads, id)
	}
	i, ok := a.fineCovered(t)
	if !ok {
		i = a.fineIndex(t)
	}
	g.tl[i]++
	a.all[i]++
	return e
}

// abort charges an aborted attempt's run time: to the thread's pending
// conflict when one is pending and the cause is one a conflict can have
// caused (see contended), else to the unattributed total. After an abort
// by a conflict, the conflict stays pending for the backoff pause before
// the re-run (see thread.afterAbort).
//
// With st (batch's, its state shared with th: see sharedState), it also
// takes the schedule's step of the abort, before th
// changes: one call for both, with the test of the cause once.
func (a *Analyzer) abort(l *logState, th *thread, ev *logformat.Event, in bool, st *schedThread) {
	run := th.run
	if st != nil {
		if th.pendingSet && contended(ev.Cause) && st.pending >= 0 {
			r := run
			if !th.inTx {
				r = st.attemptRun
			}
			if !st.chargedAcc.addDense(st.pending, r) {
				st.chargedAcc.addSlow(st.charged, st.pending, r)
			}
		}
		st.attemptRun = 0
	}
	if !th.inTx {
		l.orphanEnd++
	}
	if in {
		a.tot.aborts++
		th.aborts++
	}
	a.tot.aborted += run
	th.aborted += run
	cs := &a.causes[ev.Cause]
	if in {
		cs.Count++
	}
	cs.Time += time.Duration(run)
	if th.pendingSet && contended(ev.Cause) {
		if g := th.pending; g != nil {
			g.aborted += run
			if in {
				g.aborts++
			}
			th.pendingCost += run
		}
	} else {
		a.unattribAb += run
	}
	th.run = 0
	th.inTx = false
	th.state = stStop
	if th.pendingSet && ev.Cause == logformat.AbortConflict {
		th.afterAbort = true
	} else {
		a.clearPending(th)
	}
}

// contended reports whether an abort of this cause can be the pending
// conflict's doing. A body that called Retry, returned an error or panicked
// threw its attempt away itself, even if it had met a conflict before (say,
// it waited for an inevitable transaction, then found nothing to do).
func contended(c logformat.AbortCause) bool {
	switch c {
	case logformat.AbortRetry, logformat.AbortError, logformat.AbortPanic:
		return false
	}
	return true
}

// clearPending ends th's pending conflict: its total cost becomes one sample
// of its group's per-event distribution.
func (a *Analyzer) clearPending(th *thread) {
	if g := th.pending; g != nil && th.pendingKept && !g.cost.addFast(max(th.pendingCost, 0)) {
		g.cost.add(th.pendingCost)
	}
	th.pending = nil
	th.pendingSet = false
	th.pendingKept = false
	th.pendingCost = 0
	th.afterAbort = false
}
