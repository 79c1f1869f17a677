package analyze

import (
	"math"

	"github.com/stmlog/stmlog/logformat"
)

// raw takes in the rest of the event batch rs is at, which it decodes
// itself (logformat.RawSource), under the conditions batch's loop takes a
// thread's events in (batchFast; with tb, its schedule past its Limit).
// Starts and commits with no field, the plainest events and most of any
// log, are decoded and stepped together in rawPlain; the others are
// decoded by b.Fields, a run at a time, and stepped by slowSteps, as batch
// would. It reports whether it took any event; if not, the events are
// NextBatch's.
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
		shared = a.slowSteps(l, th, st, shared, tb, evs)
		if st != nil && !shared {
			shared = st.sharedState(th)
		}
		if (shared || st == nil) && !th.waiting && th.state <= stRun && (!th.pendingSet || th.afterAbort || th.inTx) {
			a.rawPlain(th, st, &b, l.start)
		}
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

// rawPlain decodes and takes th's starts and commits with no field at the
// head of b, as batch's inner loop takes the clean ones (th seen, not
// waiting, in stStop or stRun; st nil, or its state shared; no conflict
// pending but one the first event ends): it stops before the first event
// that is not one of them or whose step is not that loop's, and before one
// whose encoding b.PlainPairs does not read (b.Fields does). Such events
// alternate, a start and its commit, so b.PlainPairs takes them in pairs
// and returns only sums (a parallel Reader's worker may have them ready):
// th's clock is at b's time (else it takes nothing), an attempt's run is
// its commit's delta, and th's and st's fields are set from the count at
// the end.
func (a *Analyzer) rawPlain(th *thread, st *schedThread, b *logformat.RawBatch, start int64) {
	bt := b.T
	if bt-start != th.last || th.prev != th.last {
		return
	}
	left := b.Left
	inTx := th.inTx
	if th.pendingSet {
		// Only an event that ends the pending conflict: the start after
		// the abort it caused, or its attempt's commit (slowSteps'
		// clearPending, whose order against the rest of those steps
		// does not matter).
		if inTx == th.afterAbort {
			return
		}
		w, ok := b.Word()
		dt, h, _ := logformat.PlainWord(w)
		if !ok || h != byte(logformat.KindTxStart)+b2u(inTx) || bt+int64(dt) < bt {
			return
		}
		a.clearPending(th)
	}
	// No delta overflows the time below this bound (a delta here is
	// under 1<<21), so PlainPairs has no overflow test.
	if bt > math.MaxInt64-int64(left)<<21 {
		return
	}
	var committed, moves, lastRun int64
	if inTx {
		// the open attempt's commit
		w, ok := b.Word()
		dt, h, n := logformat.PlainWord(w)
		if !ok || h != byte(logformat.KindTxCommit) {
			return
		}
		lastRun = th.run + int64(dt)&-int64(th.state)
		committed = lastRun
		moves = int64(min(dt, 1))
		b.I, b.T, b.Left = b.I+n, bt+int64(dt), left-1
	}
	c, m, lr := b.PlainPairs()
	committed += c
	moves += m
	if lr >= 0 {
		lastRun = lr
	}
	n := left - b.Left
	if n == 0 {
		return
	}
	bt = b.T
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
	th.last, th.prev, th.run = bt-start, bt-start, 0
	th.commits += commits
	th.committed += committed
	th.moves += moves
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
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
