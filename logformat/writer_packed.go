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
	for n < len(evs) {
		if b := w.last; b != nil && b.thread == thread && b.n > 0 {
			k, full := w.appendPacked(b, evs[n:])
			if n += k; full {
				w.writeBatch(b)
				if w.err != nil {
					return n, w.err
				}
				continue
			}
			if n == len(evs) {
				break
			}
		}
		// A batch's first event, or one appendPacked stopped at: Write
		// writes it, or says it must be refused; an event with other
		// fields ends the run (the caller writes it).
		e := &evs[n]
		a := e.A
		if e.B != 0 || a&0xff00 != 0 || Kind(a) == KindConflict {
			break
		}
		ev := Event{Thread: thread, Time: e.Time, Kind: Kind(a), Cause: AbortCause(a >> 16), Reason: WaitReason(a >> 24)}
		if w.Write(&ev) != nil {
			return n, w.err
		}
		n++
	}
	return n, nil
}

// packedKind says which kinds appendPacked writes itself: the valid ones
// but KindConflict (a conflict has other fields).
var packedKind = func() (ok [256]bool) {
	for k := KindInvalid + 1; k < numKinds; k++ {
		ok[k] = k != KindConflict
	}
	return ok
}()

// appendPacked appends events of b's thread from evs to b, one after
// another, while they are ones WritePacked writes itself and valid (kind,
// cause, reason, a time not before the last), and returns how many; full:
// b reached the size or count at which it is written. The batch's buffer,
// count and last time stay in locals while the run is appended (stores to
// the buffer could alias b's fields otherwise, and each would be loaded
// again).
func (w *Writer) appendPacked(b *batch, evs []PackedEvent) (n int, full bool) {
	buf, cnt, last := b.buf, b.n, b.last
	for n < len(evs) {
		e := &evs[n]
		t, a := e.Time, e.A
		if e.B != 0 || !packedKind[uint8(a)] || a&0xff00 != 0 || uint8(a>>16) >= uint8(numAbortCauses) ||
			a>>24 >= uint32(numWaitReasons) || t < last {
			break
		}
		// Room for the longest such event first, so that the bytes go in
		// without a capacity test each.
		if cap(buf)-len(buf) < maxKindEvent {
			buf = growBatch(buf)
		}
		m := len(buf)
		p := buf[m : m+maxKindEvent : m+maxKindEvent]
		d := uint64(t) - uint64(last)
		i := 0
		for ; d >= 0x80 && i < 9; i++ {
			p[i] = byte(d) | 0x80
			d >>= 7
		}
		p[i] = byte(d)
		if a>>16 == 0 {
			// No cause, no reason: starts and commits, most of a log.
			p[i+1] = byte(a)
			i += 2
		} else {
			c, r := byte(a>>16), byte(a>>24)
			var mask byte
			if c != 0 {
				mask = fieldCause
			}
			if r != 0 {
				mask |= fieldReason
			}
			p[i+1] = byte(a) | mask<<kindBits // < 0x80: a one-byte uvarint
			i += 2
			if c != 0 {
				p[i] = c
				i++
			}
			if r != 0 {
				p[i] = r
				i++
			}
		}
		buf = buf[:m+i]
		cnt++
		last = t
		n++
		if len(buf) >= chunkTarget || cnt >= MaxBatchEvents {
			full = true
			break
		}
	}
	b.buf, b.n, b.last = buf, cnt, last
	return n, full
}

// maxKindEvent is the longest event WritePacked writes itself: a 10-byte time
// delta, the kind byte, a cause and a reason.
const maxKindEvent = 13

// growBatch makes room for at least maxKindEvent more bytes in buf.
//
//go:noinline
func growBatch(buf []byte) []byte { return slices.Grow(buf, max(maxKindEvent, cap(buf))) }
