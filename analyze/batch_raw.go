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
// would, in one step. It reports whether it took any event; if not, the
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

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
