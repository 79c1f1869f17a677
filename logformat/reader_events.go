package logformat

// This file decodes event batches: the batch header, the events a slice at
// a time, and their optional fields.

import (
	"fmt"
	"math"
)

// batchHeader is an event batch's header, checked.
type batchHeader struct {
	thread   uint32
	n        int   // events
	i        int   // payload offset of the first event
	base     int64 // time base
	first    int64 // time of the first event, if hasFirst
	hasFirst bool
}

// readBatchHeader decodes and checks the header of an event batch; on a
// problem it returns a message (at payload offset 0).
func readBatchHeader(p []byte) (batchHeader, string) {
	thread, i := uvarint(p, 0)
	zbase, i := uvarint(p, i)
	n, i := uvarint(p, i)
	switch {
	case i < 0:
		return batchHeader{}, "bad event batch header"
	case thread == 0 || thread > math.MaxUint32:
		return batchHeader{}, fmt.Sprintf("bad thread %d", thread)
	case n == 0 || n > MaxBatchEvents:
		return batchHeader{}, fmt.Sprintf("thread %d: bad event count %d", thread, n)
	case n > uint64(len(p)-i)/2: // every event takes at least two bytes
		return batchHeader{}, fmt.Sprintf("thread %d: event count %d exceeds what the chunk holds", thread, n)
	}
	h := batchHeader{thread: uint32(thread), n: int(n), i: i, base: int64(zbase>>1) ^ -int64(zbase&1)}
	if d, j := uvarint(p, i); j > 0 {
		h.first, h.hasFirst = int64(uint64(h.base)+d), true
	}
	return h, ""
}

// backInTime checks that the batch does not take its thread back in time;
// checked on the first event's time, so that such a batch is rejected whole.
func (r *Reader) backInTime(h *batchHeader) string {
	if !h.hasFirst {
		return ""
	}
	if last, ok := r.lastTime[h.thread]; ok && h.first >= h.base && h.first < last {
		return fmt.Sprintf("thread %d goes back in time: batch starts at %d, previous event at %d",
			h.thread, h.first, last)
	}
	return ""
}

// readEvents checks an event batch's header and sets up r.batch; fill
// decodes the events.
func (r *Reader) readEvents(p []byte) (int, string) {
	h, msg := readBatchHeader(p)
	if msg == "" {
		msg = r.backInTime(&h)
	}
	if msg != "" {
		return 0, msg
	}
	r.batch = batchState{p: p, i: h.i, left: h.n, t: h.base, thread: h.thread}
	return 0, ""
}

// batchState is the decoding state of the current event batch, which is
// decoded a slice at a time (fillSize events) so that the events buffer
// stays small and in cache however large the batch.
type batchState struct {
	p           []byte // the payload
	i           int    // offset of the next event in p
	k           int    // index of the next event in the batch
	left        int    // events not yet decoded
	t           int64  // time of the last decoded event (the base at first)
	thread      uint32
	start, size int64         // the chunk's file offset and size
	walk        *decodedBatch // a worker's walk of the batch, for Raw's consumer
}

const fillSize = 256

// fill decodes the next events of the current batch into r.events. At a
// problem it stops; the events before it are still returned.
func (r *Reader) fill() {
	bs := &r.batch
	if cap(r.fillBuf) < fillSize {
		r.fillBuf = make([]Event, fillSize)
	}
	evs := r.fillBuf[:min(bs.left, fillSize)]
	r.dec.stacks = r.stacks
	r.dec.lostAt = [2]int{}
	k, i, t, at, msg := r.dec.decode(evs, bs.p, bs.i, bs.t, bs.thread)
	if msg != "" {
		r.dec.keepLost(at)
		r.badBatch(evs[:k], at, msg)
		return
	}
	bs.i, bs.t = i, t
	bs.k += len(evs)
	bs.left -= len(evs)
	r.lastTime[bs.thread] = t
	r.setEvents(evs)
}

// eventDecoder decodes the events of a batch. The Reader's checks stack ids
// against its table as it goes (stacks); the parallel reader's workers,
// which have no table, defer the check (deferRefs): they note the largest
// id seen, and the Reader decodes the batch again itself if that is not
// known to be defined.
type eventDecoder struct {
	stacks    []*Stack // the stack table (without deferRefs)
	salvage   bool
	deferRefs bool
	maxRef    uint64 // deferRefs: the largest stack id seen
	lostRefs  int64  // salvage: stack references cleared because the stack was lost
	// lostAt holds the payload offsets just past the last two references
	// cleared since the caller's reset (0: none), so that a bad event's
	// own do not count (see keepLost).
	lostAt [2]int
	runs   []PlainRun // decodeFields: the runs of its events
}

// decode decodes len(evs) events of thread from p[i:], the last event
// before them at time t. It returns how many it decoded (k), and the
// offset after them and the time of the last; at a problem, k is the
// index of the bad event, at its offset and msg says what is wrong.
func (d *eventDecoder) decode(evs []Event, p []byte, i int, t int64, thread uint32) (k, next int, last int64, at int, msg string) {
	for k := range evs {
		at := i
		// uvarint by hand: the one-byte case is most deltas and heads, and
		// the call would not be inlined.
		var dt, h uint64
		if i >= 0 && i+3 < len(p) {
			// Deltas a few µs apart take two or three bytes.
			q := p[i : i+4 : i+4]
			if b0 := uint64(q[0]); b0 < 0x80 {
				dt = b0
				i++
			} else if b1 := uint64(q[1]); b1 < 0x80 {
				dt = b0&0x7f | b1<<7
				i += 2
			} else if b2 := uint64(q[2]); b2 < 0x80 {
				dt = b0&0x7f | (b1&0x7f)<<7 | b2<<14
				i += 3
			} else {
				dt, i = uvarintSlow(p, i)
			}
		} else {
			dt, i = uvarint(p, i)
		}
		if i >= 0 && i+1 < len(p) {
			// Heads take one byte, two with optional fields.
			q := p[i : i+2 : i+2]
			if b0 := uint64(q[0]); b0 < 0x80 {
				h = b0
				i++
			} else if b1 := uint64(q[1]); b1 < 0x80 {
				h = b0&0x7f | b1<<7
				i += 2
			} else {
				h, i = uvarintSlow(p, i)
			}
		} else {
			h, i = uvarint(p, i)
		}
		if i < 0 {
			return k, i, t, at, "bad encoding"
		}
		nt := int64(uint64(t) + dt)
		kind := Kind(h & kindMask)
		mask := h >> kindBits
		if nt < t || !kind.Valid() || mask >= 1<<numFieldBits {
			return k, i, t, at, eventProblem(nt < t, kind, mask)
		}
		t = nt
		ev := &evs[k]
		*ev = Event{Time: t, Kind: kind, Thread: thread}
		if mask != 0 {
			var msg string
			if i, msg = d.readFields(ev, p, i, mask); msg != "" {
				return k, i, t, at, msg
			}
		}
	}
	return len(evs), i, t, 0, ""
}

// badBatch handles a problem at payload offset at of the current batch:
// the events decoded before it (good) are returned, then the rest of the
// batch is an error, or skipped under salvage.
func (r *Reader) badBatch(good []Event, at int, msg string) {
	bs := &r.batch
	k := bs.k + len(good)
	if len(good) > 0 {
		r.lastTime[bs.thread] = good[len(good)-1].Time
	}
	r.setEvents(good)
	bs.left = 0
	msg = fmt.Sprintf("thread %d event %d: %s", bs.thread, k, msg)
	r.corrupt(bs.start, bs.start+chunkHeaderSize+int64(at), bs.size, msg)
}

func eventProblem(overflow bool, kind Kind, mask uint64) string {
	switch {
	case overflow:
		return "time overflows"
	case !kind.Valid():
		return fmt.Sprintf("invalid kind %d", kind)
	default:
		return fmt.Sprintf("unknown field mask %#x", mask)
	}
}

const errBadField = "bad field encoding"

// readFields decodes the optional fields of an event (see the package doc).
func (d *eventDecoder) readFields(ev *Event, p []byte, i int, mask uint64) (int, string) {
	if mask&(fieldCause|fieldReason|fieldConflict) != 0 {
		if mask&fieldCause != 0 {
			if i >= len(p) || !AbortCause(p[i]).Valid() {
				return i, "invalid abort cause"
			}
			ev.Cause = AbortCause(p[i])
			i++
		}
		if mask&fieldReason != 0 {
			if i >= len(p) || !WaitReason(p[i]).Valid() {
				return i, "invalid wait reason"
			}
			ev.Reason = WaitReason(p[i])
			i++
		}
		if mask&fieldConflict != 0 {
			if i >= len(p) || ConflictKind(p[i]) >= numConflictKinds {
				return i, "invalid conflict kind"
			}
			ev.Conflict = ConflictKind(p[i])
			i++
		}
	}
	// The varints and stack checks by hand, as in decode: the calls
	// would not be inlined.
	var v uint64
	if mask&fieldOther != 0 {
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			v = uint64(p[i])
			i++
		} else if v, i = uvarintSlow(p, i); i < 0 {
			return i, errBadField
		}
		if v > math.MaxUint32 {
			return i, errBadField
		}
		ev.OtherThread = uint32(v)
	}
	if mask&fieldVar != 0 {
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			ev.Var = uint64(p[i])
			i++
		} else if ev.Var, i = uvarintSlow(p, i); i < 0 {
			return i, errBadField
		}
	}
	if mask&fieldSite != 0 {
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			v = uint64(p[i])
			i++
		} else if v, i = uvarintSlow(p, i); i < 0 {
			return i, errBadField
		}
		if v < uint64(len(d.stacks)) && (v == 0 || d.stacks[v] != nil) {
			ev.Site = StackID(v)
		} else {
			s, msg := d.stackRefSlow(v, i)
			if msg != "" {
				return i, msg
			}
			ev.Site = s
		}
	}
	if mask&fieldOtherSite != 0 {
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			v = uint64(p[i])
			i++
		} else if v, i = uvarintSlow(p, i); i < 0 {
			return i, errBadField
		}
		if v < uint64(len(d.stacks)) && (v == 0 || d.stacks[v] != nil) {
			ev.OtherSite = StackID(v)
		} else {
			s, msg := d.stackRefSlow(v, i)
			if msg != "" {
				return i, msg
			}
			ev.OtherSite = s
		}
	}
	return i, ""
}

// keepLost takes back the references cleared in the bad event at payload
// offset at, which decode stopped at (an event has two stack fields at
// most, each ends past at, and every earlier event ends at or before it):
// the event is not read, and a consumer that reads its batch again
// (Fields, then NextBatch) decodes it once more. The caller reset lostAt
// before decoding, so the offsets are this payload's.
func (d *eventDecoder) keepLost(at int) {
	for _, o := range d.lostAt {
		if o > at {
			d.lostRefs--
		}
	}
}

// stackRefSlow checks a stack id from an event that is not a defined
// stack of d.stacks (readFields checks that inline). Under salvage,
// references to stacks that were lost are cleared (and counted) rather
// than fatal; with deferRefs the largest id is noted (see eventDecoder).
func (d *eventDecoder) stackRefSlow(v uint64, i int) (StackID, string) {
	if d.deferRefs {
		d.maxRef = max(d.maxRef, v)
		return StackID(v), ""
	}
	if v < uint64(len(d.stacks)) && (v == 0 || d.stacks[v] != nil) {
		return StackID(v), ""
	}
	if d.salvage && v <= math.MaxUint32 {
		d.lostRefs++
		d.lostAt[0], d.lostAt[1] = d.lostAt[1], i
		return 0, ""
	}
	return 0, fmt.Sprintf("undefined stack id %d", v)
}
