package analyze

import (
	"github.com/stmlog/stmlog/logformat"
)

// raw takes in the rest of the event batch rs is at, which it decodes
// itself (logformat.RawSource), under the conditions batch's loop takes a
// thread's events in (batchFast; with tb, its schedule past its Limit).
// b.Fields decodes the events, but for runs of starts and commits with no
// field, the plainest events and most of any log, which it sums; slowSteps
// steps the events as batch would, and the runs as batch's inner loop
// would (takeRun). It reports whether it took any event; if not, the
// events are NextBatch's.
func (a *Analyzer) raw(l *logState, rs logformat.RawSource, tb *teeBatches) bool {
	b, ok := rs.Raw()
	if !ok {
		return false
	}
	left := b.Left
	// The first events go through slowSteps, so that a batch whose first
	// event is bad leaves no thread behind, as NextBatch would.
	evs := b.Fields()
	if len(evs) == 0 {
		return false
	}
	th := a.threadOf(l, b.Thread)
	var st *schedThread // tb's, of th
	shared := false     // as in batch
	if tb != nil {
		st = tb.s.thread(tb.l, b.Thread)
		shared = st.sharedState(th)
	}
	for {
		shared = a.slowSteps(l, th, st, shared, tb, evs, &b)
		if evs = b.Fields(); len(evs) == 0 {
			break
		}
	}
	rs.Took(&b)
	l.events += int64(left - b.Left)
	l.noteTime(th.last)
	if shared {
		st.unshare(th)
	}
	return true
}

// takeRun takes th's run of starts and commits with no field (see
// logformat.PlainRun) as batch's inner loop takes the clean ones (th seen,
// not waiting, in stStop or stRun; st nil, or its state shared; no conflict
// pending but one the first event ends), if th is in that state and the
// run is what that loop would take, from its first event: th's clock is at
// the run's start and the first event is the commit of th's open attempt
// or the start of one out of a transaction. Else it takes nothing and
// reports false. An attempt's run is its commit's delta, and th's and
// st's fields are set from the count at the end.
func (a *Analyzer) takeRun(th *thread, st *schedThread, shared bool, r *logformat.PlainRun, start int64) bool {
	inTx := th.inTx
	if !(shared || st == nil) || !th.seen || th.waiting || th.state > stRun || r.T-start != th.last || th.prev != th.last || (r.Lead >= 0) != inTx {
		return false
	}
	// Only an event that ends a pending conflict: the start after the
	// abort it caused, or its attempt's commit (slowSteps' clearPending,
	// whose order against the rest of those steps does not matter: it is
	// last, where nothing else is kept for after the call).
	ends := th.pendingSet
	if ends && inTx == th.afterAbort {
		return false
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
	if ends {
		a.clearPending(th)
	}
	return true
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
