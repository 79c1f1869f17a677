package logformat

// This file is the parallel reader's help for a consumer of raw batches
// (RawSource): once Raw is called, a worker walks each event batch as that
// consumer will (walk), and the consumer's RawBatch.Fields and PlainPairs
// take what the worker found at their offset instead of decoding it again.
// Where the consumer's offset is not one the worker stopped at (or the
// worker stopped at a problem), they decode as without a worker.

import "math"

// walkRun is a run of events RawBatch.Fields would return, decoded by a
// worker: events[from:to] of its batch, at payload offset at; i and t
// are the offset after them and the time of the last.
type walkRun struct {
	at, i    int
	from, to int
	t        int64
}

// walkPairs is what plainPairs returns at payload offset at (lastRun -1
// if the pairs hold no commit).
type walkPairs struct {
	at, i, left                  int
	t, committed, moves, lastRun int64
}

// walk decodes b's batch from payload p as a consumer of raw batches takes
// it: at a start with no field, the pairs PlainPairs would take from
// there; at a commit with no field, that event alone (the consumer takes
// it itself); at any other event, the run Fields would return from
// there. It stops at the first problem, which the consumer meets itself.
// In a worker: it touches only b and p.
func (b *decodedBatch) walk(p []byte) {
	b.walked = true
	b.runs, b.pairs = b.runs[:0], b.pairs[:0]
	h := &b.hdr
	if cap(b.events) < h.n {
		b.events = make([]Event, h.n)
	}
	evs := b.events[:h.n]
	d := eventDecoder{deferRefs: true}
	i, t, left, k := h.i, h.base, h.n, 0
	for left > 0 {
		var dt uint64
		var head byte
		var n int
		if i >= 0 && i+4 <= len(p) {
			dt, head, n = PlainWord(le32(p, i))
		}
		if head == byte(KindTxStart) && t <= math.MaxInt64-int64(left)<<21 {
			ni, nleft, nt, c, m, lr := plainPairs(p, i, left, t, -1)
			if nleft < left {
				b.pairs = append(b.pairs, walkPairs{at: i, i: ni, left: nleft, t: nt, committed: c, moves: m, lastRun: lr})
				i, left, t = ni, nleft, nt
				continue
			}
		}
		if head == byte(KindTxCommit) && int64(uint64(t)+dt) >= t {
			i, left, t = i+n, left-1, t+int64(dt)
			continue
		}
		kk, ni, nt, _, msg := d.decodeFields(evs[k:k+left], p, i, t, h.thread)
		if msg != "" {
			break
		}
		b.runs = append(b.runs, walkRun{at: i, i: ni, from: k, to: k + kk, t: nt})
		i, left, t, k = ni, left-kk, nt, k+kk
	}
	b.maxRef = d.maxRef
}

// fromWalk is the run the worker decoded at b's offset, if any: b moves
// past it.
func (b *RawBatch) fromWalk() ([]Event, bool) {
	w := b.walk
	for b.ri < len(w.runs) && w.runs[b.ri].at < b.I {
		b.ri++
	}
	if b.ri == len(w.runs) || w.runs[b.ri].at != b.I {
		return nil, false
	}
	run := &w.runs[b.ri]
	b.ri++
	evs := w.events[run.from:run.to]
	b.I, b.T = run.i, run.t
	b.Left -= len(evs)
	return evs, true
}

// Word returns the four bytes at b's offset, little-endian (see PlainWord),
// if b has an event left and they are in its payload. Small enough to be
// inlined, as PlainWord is, so that a consumer decodes an event with them
// in its own loop.
func (b *RawBatch) Word() (uint32, bool) {
	if b.Left <= 0 || b.I < 0 || b.I > len(b.P)-4 {
		return 0, false
	}
	return le32(b.P, b.I), true
}

// PlainPairs takes the pairs of a start and its commit, both with no
// field, at b's offset (a start without its commit last, if so), and moves
// b past them: the sums of the commits' deltas and of the times an
// event's delta was not zero, and the last commit's delta (-1 if none).
// It stops before an event that is not the pair's next, before one whose
// delta is 1<<21 or more, and within the payload's last four bytes; the
// caller makes sure the times do not overflow (b.T+b.Left<<21 at most
// math.MaxInt64).
func (b *RawBatch) PlainPairs() (committed, moves, lastRun int64) {
	if w := b.walk; w != nil {
		for b.pi < len(w.pairs) && w.pairs[b.pi].at < b.I {
			b.pi++
		}
		if b.pi < len(w.pairs) && w.pairs[b.pi].at == b.I {
			r := &w.pairs[b.pi]
			b.pi++
			b.I, b.Left, b.T = r.i, r.left, r.t
			return r.committed, r.moves, r.lastRun
		}
	}
	b.I, b.Left, b.T, committed, moves, lastRun = plainPairs(b.P, b.I, b.Left, b.T, -1)
	return committed, moves, lastRun
}

// plainPairs is PlainPairs on p[i:] (of the left events of a batch, the
// one before at time bt), which returns the offset, events left and time
// after the pairs, and lastRun if they hold no commit. A function of its
// own, so that its loop has the registers to itself.
func plainPairs(p []byte, i, left int, bt, lastRun int64) (int, int, int64, int64, int64, int64) {
	end := len(p) - 4 // the last offset le32 reads at
	var committed, moves int64
	for left > 0 && i >= 0 && i <= end {
		dt, h, n := PlainWord(le32(p, i))
		if h != byte(KindTxStart) {
			break
		}
		moves += int64(min(dt, 1))
		i, bt, left = i+n, bt+int64(dt), left-1
		if left == 0 || i > end {
			break
		}
		dt, h, n = PlainWord(le32(p, i))
		if h != byte(KindTxCommit) {
			break
		}
		lastRun = int64(dt)
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

// PlainWord decodes the delta of an event (one to three bytes) from its
// first four bytes w, little-endian (RawBatch.Word), and the byte after
// it, which is the event's head when the event has no field (1 for a
// start, 2 for a commit), and returns their length; with a longer delta,
// a zero head, which no event has.
func PlainWord(w uint32) (dt uint64, h byte, n int) {
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
