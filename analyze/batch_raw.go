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
// decoded by b.Fields, a run at a time, and stepped by slowStep, as batch
// would. It reports whether it took any event; if not, the events are
// NextBatch's.
func (a *Analyzer) raw(l *logState, rs logformat.RawSource, tb *teeBatches) bool {
	b, ok := rs.Raw()
	if !ok {
		return false
	}
	left := b.Left
	// The first events go through slowStep, so that a batch whose first
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
		for i := range evs {
			shared = a.slowStep(l, th, st, shared, tb, &evs[i])
		}
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
// pending but one the first event ends): it stops before the first event that is not one of them or
// whose step is not that loop's, and before one whose encoding it does not
// read here (b.Fields does). Such events alternate, a start and its
// commit, so the loop takes them in pairs and keeps no state but times
// and sums (so few values that they stay in registers): th's clock is at
// b's time (else it takes nothing), an attempt's run is its commit's
// delta, and th's and st's fields are set from the count at the end.
func (a *Analyzer) rawPlain(th *thread, st *schedThread, b *logformat.RawBatch, start int64) {
	bt := b.T
	if bt-start != th.last || th.prev != th.last {
		return
	}
	p, i, left := b.P, b.I, b.Left
	inTx := th.inTx
	if th.pendingSet {
		// Only an event that ends the pending conflict: the start after
		// the abort it caused, or its attempt's commit (slowStep's
		// clearPending, whose order against the rest of those steps
		// does not matter).
		if left == 0 || i < 0 || i+4 > len(p) || inTx == th.afterAbort {
			return
		}
		dt, h, _ := plainWord(le32(p, i))
		if h != byte(logformat.KindTxStart)+b2u(inTx) || bt+int64(dt) < bt {
			return
		}
		a.clearPending(th)
	}
	// No delta overflows the time below this bound (a delta here is
	// under 1<<21), so the loop has no overflow test; i only grows.
	if i < 0 || bt > math.MaxInt64-int64(left)<<21 {
		return
	}
	end := len(p) - 4 // the last offset le32 reads at
	var committed, moves, lastRun int64
	if inTx && left > 0 && i <= end {
		// the open attempt's commit
		dt, h, n := plainWord(le32(p, i))
		if h != byte(logformat.KindTxCommit) {
			return
		}
		lastRun = th.run + int64(dt)&-int64(th.state)
		committed = lastRun
		moves = int64(min(dt, 1))
		i, bt, left = i+n, bt+int64(dt), left-1
	}
	var c, m int64
	i, left, bt, c, m, lastRun = plainPairs(p, i, left, bt, lastRun)
	committed += c
	moves += m
	n := b.Left - left
	if n == 0 {
		return
	}
	b.I, b.T, b.Left = i, bt, left
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

// plainPairs takes the pairs of a start and its commit, with no field, at
// p[i:] (of the left events of a batch, the one before at time bt): it
// returns the offset, events left and time after them (a start without
// its commit last, if so) and the sums of the commits' runs and of the
// times the clock moved, and the last commit's run (lastRun if none). A
// function of its own, so that its loop has the registers to itself.
func plainPairs(p []byte, i, left int, bt, lastRun int64) (int, int, int64, int64, int64, int64) {
	end := len(p) - 4 // the last offset le32 reads at
	var committed, moves int64
	for left > 0 && i <= end {
		dt, h, n := plainWord(le32(p, i))
		if h != byte(logformat.KindTxStart) {
			break
		}
		moves += int64(min(dt, 1))
		i, bt, left = i+n, bt+int64(dt), left-1
		if left == 0 || i > end {
			break
		}
		dt, h, n = plainWord(le32(p, i))
		if h != byte(logformat.KindTxCommit) {
			break
		}
		lastRun = int64(dt) // in stRun since the start
		committed += lastRun
		moves += int64(min(dt, 1))
		i, bt, left = i+n, bt+int64(dt), left-1
	}
	return i, left, bt, committed, moves, lastRun
}

// le32 is the little-endian word at p[i:i+4].
func le32(p []byte, i int) uint32 {
	return uint32(p[i]) | uint32(p[i+1])<<8 | uint32(p[i+2])<<16 | uint32(p[i+3])<<24
}

// plainWord decodes the delta of an event (one to three bytes) from its
// first four bytes w, little-endian, and the byte after it, which is the
// event's head when the event has no field, and returns their length;
// with a longer delta, a zero head, which no event has.
func plainWord(w uint32) (dt uint64, h byte, n int) {
	if w&0x80 == 0 {
		return uint64(w & 0x7f), byte(w >> 8), 2
	}
	dt = uint64(w&0x7f | w>>1&0x3f80)
	if w&0x8000 == 0 {
		return dt, byte(w >> 16), 3
	}
	if w&0x800000 == 0 {
		h = byte(w >> 24)
	}
	return dt | uint64(w>>2&0x1fc000), h, 4
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
