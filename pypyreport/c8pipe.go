package pypyreport

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"unsafe"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// The c8 pass on two cores (Options.Jobs ≥ 2): one goroutine reads the
// records (the scanner, each record's time and its order check, its
// thread, its event, its thread's flags through c8A, the rare records
// that need more: read, decode, heavyRec) into batches of entries, and the
// calling goroutine does their floats (apply) and their conflicts
// (flushConf), in file order. Neither takes a branch on a record's event.
// On one core scan's fused loop stays: the two passes' extra loads and
// stores cost more there than its mispredicted jumps.

// pipeRecords and pipeBytes bound a batch: small enough to stay in the
// L2 cache with the batch being filled beside it, large enough that the
// hand-over (two channel operations, maybe a wake-up) vanishes.
const (
	pipeRecords = 4096
	pipeBytes   = 160 << 10
	pipeBatches = 4 // in flight: the reader can run that far ahead
)

// c8Batch is a run of records, read, for the analysis.
type c8Batch struct {
	// Before its first record: a progress percentage to print (if not "")
	// and the timestamp budget's check (check), as summarize does them.
	pre     string
	check   bool
	ent     []c8Entry // buf.ent's
	buf     *c8BatchBuf
	conf    []c8Conf    // the records' conflict entries (and room for one more)
	threads []*c8Thread // the summary's threads when the batch was sent
	// raw holds the records' bytes back to back, and C8MaxRecord bytes
	// of room past the last one; arena the copies of inevitable markers.
	raw, arena []byte
	// The last batch of the pass: the pass's result (but overBudget) and
	// its error.
	last bool
	res  passResult
	err  error
}

// c8BatchBuf holds a batch's entries, and the records of a window that
// need heavyRec (decode's hv), side by side: decode addresses both from
// one register.
type c8BatchBuf struct {
	ent [pipeRecords]c8Entry
	hv  [pipeRecords]uint64
}

func newBatch() *c8Batch {
	buf := new(c8BatchBuf)
	return &c8Batch{buf: buf, ent: buf.ent[:0], conf: make([]c8Conf, 0, pipeRecords+1),
		raw: make([]byte, 0, pipeBytes+pypy.C8MaxRecord)}
}

func (b *c8Batch) reset() {
	b.pre, b.check, b.ent, b.conf, b.raw, b.arena, b.last, b.err = "", false, b.ent[:0], b.conf[:0], b.raw[:0], b.arena[:0], false, nil
}

// room reports whether one more record of any size fits.
func (b *c8Batch) room() bool {
	return len(b.ent) < cap(b.ent) && len(b.raw)+pypy.C8MaxRecord <= pipeBytes
}

// c8ThreadA is the part of a thread's analysis the reader does: its
// flags and state (ts* <<4; for a small thread number in its c8Slot
// instead), and its inevitable transaction's marker.
type c8ThreadA struct {
	st                 uint16
	inevEvent, inevLen uint8
	inevSec, inevNsec  uint32
	inevMarker         markerBuf
}

// c8Lut is what decode looks a record's event and thread number up in.
type c8Lut struct {
	slot    [256]c8Slot // by small thread number
	events  [256]uint8  // the era's table, and noEvent past its end
	keyMask uint64      // ^0, or 0 if the era's timestamps may decrease (no order to check)
}

// c8Slot is the reader's view of a small thread number: its thread's index
// in c8Summary.threads (noSlot: none yet), and its flags and state <<4.
type c8Slot struct {
	k  uint32
	st uint16
}

// noSlot is c8Slot.k of a thread number not met yet: its top bit set, which
// decode tests with the others that send a record to the slow path.
const noSlot = 1 << 31

// summarizePiped is summarize in batches, read on a goroutine of its own:
// what it prints and returns is summarize's, byte for byte (runBoth).
func (s *c8Summary) summarizePiped(sc *pypy.Scanner, errw *pyStderr, size int64, budget int) (passResult, error) {
	over := false
	consume := func(b *c8Batch) {
		if b.pre != "" {
			errw.item(b.pre)
		}
		if b.check && !over && s.dropTimestamps(budget) {
			over = true
		}
		conf := append(b.conf, c8Conf{})
		apply(b.ent, b.threads, conf)
		s.flushConf(conf[:len(b.conf)], errw)
	}
	full := make(chan *c8Batch, pipeBatches)
	free := make(chan *c8Batch, pipeBatches)
	for range pipeBatches - 1 {
		free <- newBatch()
	}
	go s.read(sc, size, newBatch(), func(b *c8Batch) *c8Batch {
		full <- b
		if b.last {
			return nil
		}
		b = <-free
		b.reset()
		return b
	})
	b := <-full
	for ; !b.last; b = <-full {
		consume(b)
		free <- b
	}
	// b is the last batch: read is done.
	consume(b)
	for _, t := range s.threads {
		f := &t.f
		t.sums, t.cpuPaused = [4]float64{f[fCommitted], f[fAborted], f[fMinor], f[fMajor]}, f[fPaused]
		t.nEnded = [2]int64{int64(f[fNCommitted]), int64(f[fNAborted])}
	}
	res := b.res
	if b.err != nil {
		return res, b.err
	}
	res.overBudget = over || s.dropTimestamps(budget)
	return res, nil
}

// read is summarizePiped's reader: summarize's reading, into batches,
// starting with b; send hands a batch over and returns an empty one. Its
// last batch, marked last, is the last thing it sends and does (the
// caller then owns sc and the summary again).
func (s *c8Summary) read(sc *pypy.Scanner, size int64, b *c8Batch, send func(*c8Batch) *c8Batch) {
	var res passResult
	frac := 1.0 / float64(size)
	order := sc.Era().MonotonicClock()
	prev := -1.0
	var cnt int64 // records so far
	var rec pypy.Record
	var key uint64 // the last record's stampKey
	s.lut.keyMask = 0
	if order {
		s.lut.keyMask = ^uint64(0)
	}
	b.reset()
	pass := func() { b.threads = s.threads; b = send(b) }
	finish := func(err error) {
		b.last, b.res, b.err, b.threads = true, res, err, s.threads
		send(b)
	}
	for {
		if !b.room() {
			pass()
		}
		if k := cnt & (progressEvery - 1); k != 0 && !recordAtATime {
			// As in summarize: up to the next record that prints a
			// percentage, or the end of the batch.
			if win := sc.Window(pypy.C8MaxRecord); len(win) >= pypy.C8MaxRecord {
				win = win[:min(len(win), pipeBytes-len(b.raw))]
				base := len(b.raw) // win's bytes in b.raw, copied at the end
				pos, n, last := 0, 0, 0
				for limit := min(int(progressEvery-k), cap(b.ent)-len(b.ent)); n < limit; {
					// At most limit-n records in w (each has 14 bytes or
					// more): decode then needs no count of its own.
					e0, w, cut := len(b.ent), win[pos:], false
					if c := (limit-n)*14 + pypy.C8MaxRecord - 14; len(w) > c {
						w, cut = w[:c], true
					}
					used, e1, nh, stop := s.decode(w, key&s.lut.keyMask, b.buf, e0)
					m := e1 - e0
					b.ent = b.ent[:e1]
					for _, h := range b.buf.hv[:nh] {
						i, off := int(h&0xffffffff), pos+int(h>>32)
						e := &b.ent[i]
						s.heavyRec(b, e.t, c8Kind[e.row&c8Rows], uint8(e.row&15), win[off:off+pypy.C8MaxRecord], base+off)
					}
					if m > 0 {
						// The last record's hv slot: the one after the list,
						// or its last if the record is on it.
						e := &b.ent[e1-1]
						h := b.buf.hv[(nh-int(c8A[e.row&c8Rows]&1))&(pipeRecords-1)]
						last, prev, key = pos+int(h>>32), pyTime(uint32(e.stamp), uint32(e.stamp>>32)), bits.RotateLeft64(e.stamp, 32)
					}
					pos += used
					n += m
					if stop == stopEnd && cut {
						continue
					}
					if stop != stopHeavy {
						break
					}
					// A record of a new thread or a big thread number,
					// whole in win, its event in range and its time in
					// order (decode checked).
					r := win[pos : pos+pypy.C8MaxRecord]
					last, prev = pos, pyTime(le32(r[0:]), le32(r[4:]))
					s.stepOne(b, le32(r[8:]), s.table[r[12]], r, base+pos)
					key = stampKey(le32(r[0:]), le32(r[4:]))
					pos += 14 + int(r[13])
					n++
				}
				if n > 0 {
					b.raw = append(b.raw, win[:pos]...)
					sc.Skip(pos, n, last)
					cnt += int64(n)
					res.stop, res.cut = prev, 0
					continue
				}
			}
		}
		if err := sc.Next(&rec); err != nil {
			if err == io.EOF {
				err = nil
			}
			finish(err)
			return
		}
		now := pyTime(rec.Sec, rec.Nsec)
		if order && now < prev {
			finish(fmt.Errorf("%s: byte offset %d: decreasing timestamps: %.9f -> %.9f", sc.Name(), sc.Offset(), prev, now))
			return
		}
		if cnt&(progressEvery-1) == 0 {
			if cnt == 0 {
				res.start = now
			} else {
				// The percentage and the check come before the record:
				// a batch of its own from it.
				if len(b.ent) > 0 {
					pass()
				}
				if size > 0 {
					b.pre = pyFloat(float64(sc.Consumed())*frac*100.0, 0) + "%"
				}
				b.check = true
			}
		}
		// The record as a c8 record (its marker as read: a cut record's
		// partial one), as summarize writes it back for scan.
		at := len(b.raw)
		r := b.raw[at : at+pypy.C8MaxRecord]
		put32(r[0:], rec.Sec)
		put32(r[4:], rec.Nsec)
		put32(r[8:], rec.Thread)
		r[12], r[13] = rec.Event, byte(copy(r[14:], rec.Marker))
		b.raw = b.raw[:at+14+int(r[13])]
		s.stepOne(b, rec.Thread, s.table[rec.Event], r, at)
		key = stampKey(rec.Sec, rec.Nsec)
		cnt++
		prev = now
		res.stop, res.cut = now, rec.Cut
	}
}

// stepOne is decode's work for one record of thread number num, of
// canonical event ev (rec its bytes, C8MaxRecord of them, at
// off in b.raw), and heavyRec's if it needs it.
func (s *c8Summary) stepOne(b *c8Batch, num uint32, ev uint8, rec []byte, off int) {
	k := s.thread(num).index
	st := &s.ast[k].st
	if num < uint32(len(s.lut.slot)) {
		st = &s.lut.slot[num].st
	}
	ri := *st | uint16(ev)
	v := c8A[ri&c8Rows]
	*st = v &^ 15
	b.ent = append(b.ent, c8Entry{stamp: binary.LittleEndian.Uint64(rec), t: k, row: ri})
	if v&1 != 0 {
		s.heavyRec(b, k, c8Kind[ri&c8Rows], ev, rec, off)
	}
}

// heavyRec is the reader's work for a record of kind (c8Kind) of the
// thread of index k, of canonical event ev: rec its bytes (C8MaxRecord of
// them), at off in b.raw.
func (s *c8Summary) heavyRec(b *c8Batch, k uint32, kind, ev uint8, rec []byte, off int) {
	rec = rec[:pypy.C8MaxRecord]
	a := &s.ast[k]
	switch kind {
	case kindWriteRead:
		m := int(rec[13])
		b.conf = append(b.conf, c8Conf{mk: b.raw[off+14 : off+14+m : off+14+m], kind: kind, event: pypy.EvWriteRead,
			sec: le32(rec[0:]), nsec: le32(rec[4:])})
	case kindDouble:
		b.conf = append(b.conf, c8Conf{kind: kind})
	case kindInevWait:
		at := len(b.arena)
		b.arena = append(b.arena, a.inevMarker.bytes()[:a.inevLen]...)
		b.conf = append(b.conf, c8Conf{mk: b.arena[at:len(b.arena):len(b.arena)], kind: kind, event: a.inevEvent,
			sec: a.inevSec, nsec: a.inevNsec})
	case kindInevStart:
		a.inevEvent, a.inevLen = ev, rec[13]
		a.inevMarker.head = [markerHead]byte(rec[14 : 14+markerHead])
		if a.inevLen > markerHead {
			a.inevMarker.tail = [len(markerBuf{}.tail)]byte(rec[14+markerHead : pypy.C8MaxRecord])
		}
		a.inevSec, a.inevNsec = le32(rec[0:]), le32(rec[4:])
	}
}

// stampKey orders timestamps as their times when nsec < 10^9: the
// smallest and the largest key otherwise, so that a record of such a
// timestamp or the record after it goes to the exact test of times (the
// slow path).
func stampKey(sec, nsec uint32) uint64 {
	if nsec >= 1e9 {
		return 1<<64 - 1
	}
	return uint64(sec)<<32 | uint64(nsec)
}

// decode is scan's loop for the batches: it fills buf.ent from i0 on
// with the records at the front of win while a record of the largest size
// fits (the caller leaves room for all of them), their threads' flags
// stepped through c8A. It lists in buf.hv (entry <<0 | its offset in win
// <<32) the records that need heavyRec; the others are written in the
// slot after the list, so the last record is at the end of the list or
// after it (read takes its offset there). It stops at the end of win
// (stopEnd); before an event out of range or, with order, a stampKey below
// the previous one's (lo, then each record's): stopBad, the slow path
// decides; before the record of a new thread or a big thread number
// (stopHeavy). It returns the bytes consumed, the entry after the last
// and the number of records in hv.
func (s *c8Summary) decode(win []byte, lo uint64, buf *c8BatchBuf, i0 int) (used, i, nh int, stop uint8) {
	if len(win) < pypy.C8MaxRecord {
		return 0, i0, 0, stopEnd
	}
	// The records are read through a pointer to win's bytes at p: p <= end
	// keeps a whole record in win, one test where a slice of the rest or
	// an index into win costs its bounds checks and pointer masking. The
	// few values live in the loop stay in registers, the rest is in lut.
	lut := s.lut
	base, end, p := unsafe.Pointer(unsafe.SliceData(win)), len(win)-pypy.C8MaxRecord, 0
	for i = i0; p <= end; i++ {
		r := (*[pypy.C8MaxRecord]byte)(unsafe.Add(base, p))
		// The time's 8 bytes as read (sec | nsec<<32) are the entry's
		// stamp, and rotated the key to order: one load, where sec and
		// nsec apart are two loads, two stores and their spills.
		stamp := binary.LittleEndian.Uint64(r[:8])
		k := bits.RotateLeft64(stamp, 32)
		if k < lo || uint32(k) >= 1e9 {
			stop = stopBad
			break
		}
		lo = k & lut.keyMask
		th := le32(r[8:])
		sl := &lut.slot[uint8(th)]
		ev := lut.events[r[12]]
		if th>>8|sl.k>>31|uint32(ev>>4) != 0 {
			stop = stopBad
			if ev != noEvent {
				stop = stopHeavy
			}
			break
		}
		// Each value is used as soon as it is loaded (Go spills the ones
		// that live long).
		ri := sl.st | uint16(ev)
		v := c8A[ri&c8Rows]
		sl.st = v &^ 15
		buf.hv[nh&(pipeRecords-1)] = uint64(p)<<32 | uint64(i)
		nh += int(v & 1)
		m := 14 + uint16(r[13])
		e := &buf.ent[i&(pipeRecords-1)]
		// The stamp loaded again: keeping it until here costs a spill.
		e.stamp, e.t, e.row = binary.LittleEndian.Uint64(r[:8]), sl.k, ri
		p += int(m)
	}
	return p, i, nh, stop
}

// Why decode stopped.
const (
	stopEnd   = 0
	stopBad   = 1
	stopHeavy = 2
)
