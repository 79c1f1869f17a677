package logformat

// This file decodes event batches: the batch header, the events a slice at
// a time, and their optional fields.

import (
	"fmt"
	"math"
)

// readEvents checks an event batch's header and sets up r.batch; fill
// decodes the events.
func (r *Reader) readEvents(p []byte) (int, string) {
	thread, i := uvarint(p, 0)
	zbase, i := uvarint(p, i)
	n, i := uvarint(p, i)
	switch {
	case i < 0:
		return 0, "bad event batch header"
	case thread == 0 || thread > math.MaxUint32:
		return 0, fmt.Sprintf("bad thread %d", thread)
	case n == 0 || n > MaxBatchEvents:
		return 0, fmt.Sprintf("thread %d: bad event count %d", thread, n)
	case n > uint64(len(p)-i)/2: // every event takes at least two bytes
		return 0, fmt.Sprintf("thread %d: event count %d exceeds what the chunk holds", thread, n)
	}
	base := int64(zbase>>1) ^ -int64(zbase&1)
	// The thread must not go back in time; checked here, on the first
	// event's time, so that such a batch is rejected whole.
	if d, j := uvarint(p, i); j > 0 {
		first := int64(uint64(base) + d)
		if last, ok := r.lastTime[uint32(thread)]; ok && first >= base && first < last {
			return 0, fmt.Sprintf("thread %d goes back in time: batch starts at %d, previous event at %d",
				thread, first, last)
		}
	}
	r.batch = batchState{p: p, i: i, left: int(n), t: base, thread: uint32(thread)}
	return 0, ""
}

// batchState is the decoding state of the current event batch, which is
// decoded a slice at a time (fillSize events) so that the events buffer
// stays small and in cache however large the batch.
type batchState struct {
	p           []byte // the payload (r.buf)
	i           int    // offset of the next event in p
	k           int    // index of the next event in the batch
	left        int    // events not yet decoded
	t           int64  // time of the last decoded event (the base at first)
	thread      uint32
	start, size int64 // the chunk's file offset and size
}

const fillSize = 256

// fill decodes the next events of the current batch into r.events. At a
// problem it stops; the events before it are still returned.
func (r *Reader) fill() {
	bs := &r.batch
	if cap(r.events) < fillSize {
		r.events = make([]Event, fillSize)
	}
	evs := r.events[:min(bs.left, fillSize)]
	p, i, t := bs.p, bs.i, bs.t
	for k := range evs {
		at := i
		// uvarint by hand: the one-byte case is most deltas and heads, and
		// the call would not be inlined.
		var d, h uint64
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			d = uint64(p[i])
			i++
		} else {
			d, i = uvarintSlow(p, i)
		}
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			h = uint64(p[i])
			i++
		} else {
			h, i = uvarintSlow(p, i)
		}
		if i < 0 {
			r.badBatch(evs[:k], at, "bad encoding")
			return
		}
		nt := int64(uint64(t) + d)
		kind := Kind(h & kindMask)
		mask := h >> kindBits
		if nt < t || !kind.Valid() || mask >= 1<<numFieldBits {
			r.badBatch(evs[:k], at, eventProblem(nt < t, kind, mask))
			return
		}
		t = nt
		ev := &evs[k]
		*ev = Event{Time: t, Kind: kind, Thread: bs.thread}
		if mask != 0 {
			var msg string
			if i, msg = r.readFields(ev, p, i, mask); msg != "" {
				r.badBatch(evs[:k], at, msg)
				return
			}
		}
	}
	bs.i, bs.t = i, t
	bs.k += len(evs)
	bs.left -= len(evs)
	r.lastTime[bs.thread] = t
	r.events = evs
	r.pos = 0
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
	r.events = good
	r.pos = 0
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
func (r *Reader) readFields(ev *Event, p []byte, i int, mask uint64) (int, string) {
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
	var v uint64
	if mask&fieldOther != 0 {
		if v, i = uvarint(p, i); i < 0 || v > math.MaxUint32 {
			return i, errBadField
		}
		ev.OtherThread = uint32(v)
	}
	if mask&fieldVar != 0 {
		if ev.Var, i = uvarint(p, i); i < 0 {
			return i, errBadField
		}
	}
	if mask&fieldSite != 0 {
		if v, i = uvarint(p, i); i < 0 {
			return i, errBadField
		}
		s, msg := r.stackRef(v)
		if msg != "" {
			return i, msg
		}
		ev.Site = s
	}
	if mask&fieldOtherSite != 0 {
		if v, i = uvarint(p, i); i < 0 {
			return i, errBadField
		}
		s, msg := r.stackRef(v)
		if msg != "" {
			return i, msg
		}
		ev.OtherSite = s
	}
	return i, ""
}

// stackRef checks a stack id from an event. Under salvage, references to
// stacks that were lost are cleared (and counted) rather than fatal.
func (r *Reader) stackRef(v uint64) (StackID, string) {
	if v < uint64(len(r.stacks)) && (v == 0 || r.stacks[v] != nil) {
		return StackID(v), ""
	}
	if r.salvage && v <= math.MaxUint32 {
		r.lostRefs++
		return 0, ""
	}
	return 0, fmt.Sprintf("undefined stack id %d", v)
}
