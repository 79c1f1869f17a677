package logformat

// This file is the parallel reader's help for a consumer of raw batches
// (RawSource): once Raw is called, a worker decodes each event batch as
// RawBatch.Fields would at its start (walk), and the consumer's first
// Fields takes it all. Where the consumer is not at the batch's start (or
// the worker stopped at a problem), Fields decodes as without a worker.

// walk decodes b's batch from payload p as RawBatch.Fields would at its
// start, all of it in one slice (it stops at the first problem, which the
// consumer meets itself). In a worker: it touches only b and p.
func (b *decodedBatch) walk(p []byte) {
	b.walked = true
	h := &b.hdr
	// A run of plain events is one entry, so a batch takes far fewer
	// entries than events: the buffer starts at a fraction of them and
	// grows when full, instead of one entry an event in every item.
	evs := b.events[:cap(b.events)]
	if len(evs) == 0 {
		evs = make([]Event, min(h.n, walkFirst))
	}
	d := eventDecoder{deferRefs: true, runs: b.runs[:0]}
	k, i, left, t := 0, h.i, h.n, h.base
	for {
		n, ni, nleft, nt, at, msg := d.decodeFields(evs[k:], p, i, left, t, h.thread)
		k += n
		if msg != "" {
			ni, nt = at, h.base
			if k > 0 {
				nt = evs[k-1].Time
			}
		}
		i, left, t = ni, nleft, nt
		if msg != "" || left == 0 {
			break
		}
		evs = append(evs[:k], make([]Event, len(evs))...)
	}
	b.events = evs
	b.wk, b.wi, b.wleft, b.wt = k, i, left, t
	b.runs = d.runs
	b.maxRef = d.maxRef
}

// walkFirst is the entries a walk's buffer starts with (a variable for
// the tests, which make it grow at every batch).
var walkFirst = 4096

// plainPairs takes the pairs of a start and its commit, both with no
// field, at p[i:] (of the left events of a batch, the one before at time
// bt), a start without its commit last, if so: it returns the offset,
// events left and time after them, the sums of the commits' deltas and of
// the times an event's delta was not zero, and the last commit's delta
// (lastRun if none). It stops before an event that is not the pair's next,
// before one whose delta is 1<<21 or more, and within the payload's last
// four bytes; the caller makes sure the times do not overflow (bt+left<<21
// at most math.MaxInt64). A function of its own, so that its loop has the
// registers to itself.
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
