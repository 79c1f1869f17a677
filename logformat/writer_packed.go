package logformat

// Writer.WritePacked: runs of events with no field but kind, cause and
// reason, written without Write's per-field tests (the rest of the Writer
// is in writer.go).

import (
	"math"
	"slices"
)

// PackedEvent is an event as WritePacked takes it: its time in ns and, in
// A, its kind, conflict kind, abort cause and wait reason as PackKind
// packs them. B is the caller's (runtime/stm's recorder keeps a site
// there): WritePacked stops at an event whose B is not 0. One with A
// PackedQuiet stands for two events: see there.
type PackedEvent struct {
	Time int64
	A, B uint32
}

// PackedQuiet in PackedEvent.A makes the entry a quiet attempt: a start
// (KindTxStart) at Time and its commit (KindTxCommit) B ns later, nothing
// between. WritePacked writes the two events, the bytes Write writes for
// them; a caller that writes such an entry itself (one WritePacked
// stopped at) writes the two. It lets a recorder keep one entry, not two,
// for each attempt that meets nothing. Its kind byte is no Kind's.
const PackedQuiet uint32 = 0xff

var _ [0xff - numKinds]struct{} // PackedQuiet's kind byte is no kind's, KindAggregate's either

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
		if a == PackedQuiet {
			// Its two events one by one: Write may cut the batch
			// between them, as it would for the start and commit. A
			// start Write refuses, or a commit past the int64 range,
			// is the caller's, as any event Write refuses; once the
			// start is in, its commit is not before it.
			if e.Time > math.MaxInt64-int64(e.B) {
				break
			}
			ev := Event{Thread: thread, Time: e.Time, Kind: KindTxStart}
			if w.Write(&ev) != nil {
				return n, w.err
			}
			ev.Time, ev.Kind = e.Time+int64(e.B), KindTxCommit
			if w.Write(&ev) != nil {
				return n, w.err
			}
			n++
			continue
		}
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
		if n+1 < len(evs) && evs[n].A == uint32(KindTxStart) && evs[n+1].A == uint32(KindTxCommit) {
			// A quiet attempt's start and commit (most of a full-level
			// log) go through appendPairs' loop of its own; the test
			// keeps the call off the runs of other events.
			var k int
			if buf, k, last = appendPairs(buf, evs[n:], last); k > 0 {
				cnt += k
				n += k
				continue
			}
		}
		if evs[n].A == PackedQuiet {
			var k int
			if buf, k, last = appendQuiet(buf, evs[n:], last); k > 0 {
				cnt += 2 * k
				n += k
				continue
			}
			break // WritePacked writes it with Write
		}
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

// appendPairs appends to buf the pairs of a start and its commit at the
// head of evs, both with no field, in time order after last and with
// deltas of at most two bytes, and returns how many events it appended
// and the last one's time: none of appendPacked's per-event tests of kind,
// cause, reason and room, and each test is for the pair. It stops where
// the batch has less than pairMax bytes to its size target, so that it
// never goes past the point where Write would cut a batch (between a start
// and its commit too): the general loop takes the events from there. Every
// event takes at least two bytes, so a batch reaches chunkTarget long
// before MaxBatchEvents, and the count need not be tested here.
func appendPairs(buf []byte, evs []PackedEvent, last int64) ([]byte, int, int64) {
	// With last in [0, 2^61), a time whose difference from last, taken
	// as a uint64, is below 2^14 is not before last: one that is before
	// it differs by less than 2^63 and wraps to 2^64 minus that, and a
	// call advances last by less than 2^15 a pair for at most
	// chunkTarget/4 pairs, so it stays below 2^62. The same holds for a
	// commit against its start. So the deltas' one test checks the order.
	if last < 0 || last >= 1<<61 {
		return buf, 0, last
	}
	lim := min(cap(buf)-8, chunkTarget-pairMax-1)
	m, n := len(buf), 0
	for m <= lim && len(evs) >= 2 {
		e := (*[2]PackedEvent)(evs)
		d0, d1 := uint64(e[0].Time)-uint64(last), uint64(e[1].Time)-uint64(e[0].Time)
		if e[0].A != uint32(KindTxStart) || e[1].A != uint32(KindTxCommit) || e[0].B|e[1].B != 0 || d0|d1 >= 1<<14 {
			break
		}
		p := buf[m : m+8 : m+8]
		i := 1
		if d0 < 0x80 {
			p[0] = byte(d0)
		} else {
			p[0], p[1] = byte(d0)|0x80, byte(d0>>7)
			i = 2
		}
		p[i] = byte(KindTxStart)
		if d1 < 0x80 {
			p[i+1] = byte(d1)
			i += 2
		} else {
			p[i+1], p[i+2] = byte(d1)|0x80, byte(d1>>7)
			i += 3
		}
		p[i] = byte(KindTxCommit)
		m += i + 1
		last = e[1].Time
		evs = evs[2:]
		n += 2
	}
	return buf[:m], n, last
}

var _ [MaxBatchEvents - chunkTarget/2 - 2]struct{} // appendPairs: the size target binds first

// appendQuiet is appendPairs for the PackedQuiet entries at the head of
// evs (a start at Time, its commit B ns later): the same bytes, bounds
// and reasoning, one entry read for the two events (the bytes are put as
// appendPairs puts them: keep the two alike). It returns how many
// entries it appended (twice as many events).
func appendQuiet(buf []byte, evs []PackedEvent, last int64) ([]byte, int, int64) {
	if last < 0 || last >= 1<<61 {
		return buf, 0, last
	}
	lim := min(cap(buf)-8, chunkTarget-pairMax-1)
	m, n := len(buf), 0
	for m <= lim && n < len(evs) {
		e := &evs[n]
		d0, d1 := uint64(e.Time)-uint64(last), uint64(e.B)
		if e.A != PackedQuiet || d0|d1 >= 1<<14 {
			break
		}
		p := buf[m : m+8 : m+8]
		i := 1
		if d0 < 0x80 {
			p[0] = byte(d0)
		} else {
			p[0], p[1] = byte(d0)|0x80, byte(d0>>7)
			i = 2
		}
		p[i] = byte(KindTxStart)
		if d1 < 0x80 {
			p[i+1] = byte(d1)
			i += 2
		} else {
			p[i+1], p[i+2] = byte(d1)|0x80, byte(d1>>7)
			i += 3
		}
		p[i] = byte(KindTxCommit)
		m += i + 1
		last = e.Time + int64(e.B)
		n++
	}
	return buf[:m], n, last
}

// pairMax is the longest start and commit pair appendPacked writes as one:
// two 2-byte deltas and the two kind bytes.
const pairMax = 6

// growBatch makes room for at least maxKindEvent more bytes in buf.
//
//go:noinline
func growBatch(buf []byte) []byte { return slices.Grow(buf, max(maxKindEvent, cap(buf))) }
