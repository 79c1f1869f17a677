package logformat

// Writer.WritePacked: runs of events with no field but kind, cause and
// reason, written without Write's per-field tests (the rest of the Writer
// is in writer.go).

import "slices"

// PackedEvent is an event as WritePacked takes it: its time in ns and, in
// A, its kind, conflict kind, abort cause and wait reason as PackKind
// packs them. B is the caller's (runtime/stm's recorder keeps a site
// there): WritePacked stops at an event whose B is not 0.
type PackedEvent struct {
	Time int64
	A, B uint32
}

// PackKind packs an event's kind, conflict kind, abort cause and wait
// reason as PackedEvent.A holds them.
func PackKind(k Kind, c ConflictKind, ca AbortCause, r WaitReason) uint32 {
	return uint32(k) | uint32(c)<<8 | uint32(ca)<<16 | uint32(r)<<24
}

// WritePacked writes events of thread from evs, in order, while they have
// no field but their kind, cause and reason (conflict kind 0, a kind other
// than KindConflict, B 0): the starts, commits, aborts and pauses that are
// most of a recording. It returns how many it wrote. It stops at the first
// other event, one Write would refuse, or a failure of the underlying
// writer (then err is that error); the caller writes that event with
// Write and goes on. The bytes are those Write writes; a run costs one
// call and none of Write's tests of the fields these events lack.
func (w *Writer) WritePacked(thread uint32, evs []PackedEvent) (n int, err error) {
	if w.err != nil {
		return 0, w.err
	}
	b := w.last
	// The batch's buffer, count and last time are kept in locals while the
	// run is appended (stores to buf could alias b's fields otherwise, and
	// each would be loaded again) and put back before anything else sees b.
	var buf []byte
	var cnt int
	var last int64
	if b != nil {
		buf, cnt, last = b.buf, b.n, b.last
	}
	for n < len(evs) {
		e := &evs[n]
		t, a := e.Time, e.A
		k, c, r := Kind(a), AbortCause(a>>16), WaitReason(a>>24)
		if e.B != 0 || a&0xff00 != 0 || k == KindConflict {
			break
		}
		if b == nil || b.thread != thread || cnt == 0 || !k.Valid() || !c.Valid() || !r.Valid() || t < last {
			// A batch's first event, or one to refuse: Write says which.
			if b != nil {
				b.buf, b.n, b.last = buf, cnt, last
			}
			ev := Event{Thread: thread, Time: t, Kind: k, Cause: c, Reason: r}
			if w.Write(&ev) != nil {
				return n, w.err
			}
			b = w.last
			buf, cnt, last = b.buf, b.n, b.last
		} else {
			// Room for the longest such event first, so that the bytes go
			// in without a capacity test each.
			if cap(buf)-len(buf) < maxKindEvent {
				buf = growBatch(buf)
			}
			m := len(buf)
			p := buf[m : m+maxKindEvent]
			d := uint64(t) - uint64(last)
			i := 0
			for ; d >= 0x80; i++ {
				p[i] = byte(d) | 0x80
				d >>= 7
			}
			p[i] = byte(d)
			var mask byte
			if c != 0 {
				mask = fieldCause
			}
			if r != 0 {
				mask |= fieldReason
			}
			p[i+1] = byte(k) | mask<<kindBits // < 0x80: a one-byte uvarint
			i += 2
			if c != 0 {
				p[i] = byte(c)
				i++
			}
			if r != 0 {
				p[i] = byte(r)
				i++
			}
			buf = buf[:m+i]
			cnt++
			last = t
		}
		n++
		if len(buf) >= chunkTarget || cnt >= MaxBatchEvents {
			b.buf, b.n, b.last = buf, cnt, last
			w.writeBatch(b)
			if w.err != nil {
				return n, w.err
			}
			buf, cnt, last = b.buf, b.n, b.last
		}
	}
	if b != nil {
		b.buf, b.n, b.last = buf, cnt, last
	}
	return n, nil
}

// maxKindEvent is the longest event WritePacked writes itself: a 10-byte time
// delta, the kind byte, a cause and a reason.
const maxKindEvent = 13

// growBatch makes room for at least maxKindEvent more bytes in buf.
//
//go:noinline
func growBatch(buf []byte) []byte { return slices.Grow(buf, max(maxKindEvent, cap(buf))) }
