package pypyreport

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// summarize is the c8 pass over the log: one pass over the bytes. The
// records are decoded by scan, the analyzer's own loop, straight from the
// scanner's buffer (Scanner.Window), instead of going through Records:
// decoding into a batch and reading the batch back cost as much as the
// analysis. What scan leaves (the first record, each record that prints a
// progress percentage, the last records of the input, damage) is read
// with Scanner.Next, which reports errors as always, and written back into
// a one-record buffer for scan: the analysis exists once.
func (s *c8Summary) summarize(sc *pypy.Scanner, errw *pyStderr, size int64, budget int) (passResult, error) {
	if s.jobs > 1 && s.ra != nil {
		return s.summarizeSplit(sc, errw, size, budget)
	}
	p := s.newPass(sc, errw, size, budget)
	if _, err := p.run(math.MaxInt64); err != nil {
		return p.res, err
	}
	return p.end(), nil
}

// c8Pass is summarize's pass between two records: summarizeSplit stops it
// at an offset and moves it past the part of the log another goroutine
// analyzed.
type c8Pass struct {
	s      *c8Summary
	sc     *pypy.Scanner
	errw   *pyStderr
	size   int64 // the input's, for the percentages (-1: none)
	budget int
	order  bool    // the era's timestamps never decrease
	prev   float64 // the last record's time (-1 before the first)
	cnt    int64   // records so far
	res    passResult
	rec    pypy.Record
	one    [pypy.C8MaxRecord]byte
}

func (s *c8Summary) newPass(sc *pypy.Scanner, errw *pyStderr, size int64, budget int) *c8Pass {
	return &c8Pass{s: s, sc: sc, errw: errw, size: size, budget: budget, order: sc.Era().MonotonicClock(), prev: -1}
}

// end is the pass's result after the last record.
func (p *c8Pass) end() passResult {
	if !p.res.overBudget && p.s.dropTimestamps(p.budget) {
		p.res.overBudget = true
	}
	return p.res
}

// percent is what the record that prints a percentage does before it is
// analyzed: the percentage of the input up to its end (consumed), and
// the check of the kept timestamps against the budget.
func (p *c8Pass) percent(consumed int64) {
	if p.size > 0 {
		p.errw.item(pyFloat(float64(consumed)*(1.0/float64(p.size))*100.0, 0) + "%")
	}
	if !p.res.overBudget && p.s.dropTimestamps(p.budget) {
		p.res.overBudget = true
	}
}

// scanSpan is how many bytes scan reads for a record: the largest record
// and the next one's head up to its event.
const scanSpan = pypy.C8MaxRecord + 13

// run analyzes the records until the input ends (done) or the next record
// starts at the byte offset stop or after it.
func (p *c8Pass) run(stop int64) (done bool, err error) {
	s, sc, errw := p.s, p.sc, p.errw
	for {
		at := sc.Consumed()
		if at >= stop {
			return false, nil
		}
		if k := p.cnt & (progressEvery - 1); k != 0 && !recordAtATime {
			// Up to the next record that prints a percentage.
			if win := sc.Window(pypy.C8MaxRecord); len(win) >= pypy.C8MaxRecord {
				if d := stop - at; d < int64(len(win)) {
					// scan takes a record only with scanSpan bytes from it
					win = win[:min(len(win), int(d)+scanSpan-1)]
				}
				prev := p.prev
				pos, n, last := 0, 0, 0
				for limit := int(progressEvery - k); n < limit; {
					used, m, at, pv, heavy, t := s.scan(win[pos:], limit-n, prev, p.order)
					if s.pend.n > 0 {
						s.flush(win[pos:], errw)
					}
					if m > 0 {
						last, prev = pos+at, pv
					}
					pos += used
					n += m
					if !heavy {
						break
					}
					// The record at pos is whole in win, its event in
					// range and its time in order (scan checked).
					last = pos
					if t != nil {
						used, prev = s.conflictRecord(t, win[pos:])
					} else {
						used, prev = s.record(win[pos:])
					}
					if s.pend.n > 0 {
						s.flush(win[pos:], errw)
					}
					pos += used
					n++
				}
				if n > 0 {
					sc.Skip(pos, n, last)
					p.cnt += int64(n)
					p.prev = prev
					p.res.stop, p.res.cut = prev, 0
					continue
				}
				// The next record is damaged or goes back in time: Next
				// and the check below report it.
			}
		}
		rec := &p.rec
		if err := sc.Next(rec); err != nil {
			if err == io.EOF {
				return true, nil
			}
			return true, err
		}
		now := pyTime(rec.Sec, rec.Nsec)
		if p.order && now < p.prev {
			return true, fmt.Errorf("%s: byte offset %d: decreasing timestamps: %.9f -> %.9f", sc.Name(), sc.Offset(), p.prev, now)
		}
		if p.cnt&(progressEvery-1) == 0 {
			// The percentage is printed before the record is analyzed.
			if p.cnt == 0 {
				p.res.start = now
			} else {
				p.percent(sc.Consumed())
			}
		}
		// rec is written back as a c8 record (its marker as read: a cut
		// record's partial one) for scan, which needs C8MaxRecord bytes.
		one := p.one[:]
		put32(one[0:], rec.Sec)
		put32(one[4:], rec.Nsec)
		put32(one[8:], rec.Thread)
		one[12], one[13] = rec.Event, byte(copy(one[14:], rec.Marker))
		s.record(one)
		if s.pend.n > 0 {
			s.flush(one, errw)
		}
		p.cnt++
		p.prev = now
		p.res.stop, p.res.cut = now, rec.Cut
	}
}

// recordAtATime makes summarize read every record with Next (tests: the
// same output as scan's).
var recordAtATime = false

func put32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// scan is the analyzer's loop: it decodes and analyzes the c8 records at
// the front of win, at most limit of them, while a record of the largest
// size fits (so that one bounds check covers a whole record). It stops
// before a record whose event is out of the era's range or, with order,
// whose time is before the previous one (prev, then each record's), and
// before a heavy one (heavy is then true): a record of a new thread or a
// big thread number, which record does, or one that touches a conflict
// when s.pend is full (conflictRecord). The records that touch a conflict
// (CONTENTION_WRITE_READ, the end of a wait for the inevitable
// transaction) have their thread's part done here and the conflict's
// queued in s.pend, for flush, which the caller calls at once (the
// conflicts' sums, order and notes follow the file's order). It returns
// the bytes and records consumed, where the last one starts, and its time
// (prev if none).
//
// The loop and the light records' work are one function without a call,
// so that the position, the era's table and the times stay in registers:
// with a call in any arm, Go spills every value live across it on every
// record, and a call per record cost more than most records' work.
func (s *c8Summary) scan(win []byte, limit int, prev float64, order bool) (used, n, last int, now float64, heavy bool, ht *c8Thread) {
	events, small, pend := s.events, s.small, s.pend
	now = prev
	// ev is the canonical event of the record at the front of rest
	// (noEvent out of the era's range), found while the record before it
	// was analyzed: the switch on it then does not wait for two loads
	// after a mispredicted jump (most are: the events of interleaved
	// threads are unpredictable). The loop reads span bytes a record, the
	// largest record and the next one's head up to its event, so that
	// finding it needs no check; rest is the window from the record on
	// (no bounds check a record), lastLen its length at the last record.
	const span = pypy.C8MaxRecord + 13
	if len(win) < span {
		return 0, 0, 0, now, false, nil
	}
	ev := events[win[12]]
	rest, lastLen, left := win, len(win), limit
	for ; left > 0 && len(rest) >= span; left-- {
		b := (*[span]byte)(rest)
		t1 := pyTime(le32(b[0:]), le32(b[4:]))
		if t1 < now && order {
			break
		}
		th := le32(b[8:])
		t := small[uint8(th)]
		if th>>8 != 0 || t == nil {
			// A thread not met yet or of a big number: record, but
			// for an event out of range (Next reports it).
			if ev == noEvent {
				break
			}
			return len(win) - len(rest), limit - left, len(win) - lastLen, now, true, nil
		}
		m := int(b[13])
		cur := ev
		ev = events[b[26+m]]
		switch ev := cur; ev {
		case pypy.EvStart:
			t.start(t1)
		case pypy.EvDetach:
			t.progress(t1, stDetached)
		case pypy.EvCommit, pypy.EvAbort:
			t.end(ev, t1)
		// t.wait(ev, t1) by event: a test of the event inside a shared
		// arm is mispredicted as often as the switch.
		case pypy.EvWaitSyncing, pypy.EvWaitSyncPause:
			t.progress(t1, stPause)
		case pypy.EvWaitOtherInev:
			t.progress(t1, stPause)
			if t.inev {
				t.inevWaiting, t.inevWaitStart = true, t1
			}
		case pypy.EvWaitFreeSegment:
			t.freeSegment = true
			t.progress(t1, stPause)
		case pypy.EvWaitDone:
			if t.inev && t.inevWaiting {
				// inevWaitDone: its conflict's part is queued (no call
				// here), done by flush when scan returns, before any
				// other conflict is touched, so in file order.
				if pend.n == len(pend.e) {
					return len(win) - len(rest), limit - left, len(win) - lastLen, now, true, t
				}
				t.waitDone(t1)
				e := &pend.e[pend.n&(len(pend.e)-1)]
				pend.n++
				e.kind, e.event, e.n, e.off = pendInev, t.inevEvent, t.inevLen, uint32(len(win)-len(rest))
				e.sec, e.nsec = t.inevSec, t.inevNsec
				e.marker.copyFrom(&t.inevMarker, t.inevLen)
				e.a, e.p = 0, t1-t.inevWaitStart
				t.inevWaiting = false
				break
			}
			t.waitDone(t1)
		case pypy.EvGCMinorStart:
			t.gcMinorStart(t1)
		case pypy.EvGCMinorDone:
			t.gcMinorDone(t1)
		case pypy.EvGCMajorStart:
			t.gcMajorStart(t1)
		case pypy.EvGCMajorDone:
			t.gcMajorDone(t1)
		case pypy.EvReattach:
			// REATTACH changes state, then is BECOME_INEVITABLE, as in
			// record.
			t.progress(t1, stRun)
			t.becomeInevitable(ev, b[:], t1)
		case pypy.EvBecomeInevitable:
			t.becomeInevitable(ev, b[:], t1)
		default: // CONTENTION_WRITE_READ, or an event out of range
			if ev == noEvent {
				return len(win) - len(rest), limit - left, len(win) - lastLen, now, false, nil
			}
			// writeRead: the conflict's part is queued, as above.
			if pend.n == len(pend.e) {
				return len(win) - len(rest), limit - left, len(win) - lastLen, now, true, t
			}
			e := &pend.e[pend.n&(len(pend.e)-1)]
			pend.n++
			e.off = uint32(len(win) - len(rest))
			if t.aborting {
				e.kind = pendDouble
				break
			}
			t.aborting = true
			t.progress(t1, stRun)
			e.kind, e.event, e.n = pendWriteRead, pypy.EvWriteRead, uint8(m)
			e.sec, e.nsec = le32(b[0:]), le32(b[4:])
			e.a, e.p = t.tx[stRun], t.tx[stPause]
		}
		now = t1
		lastLen = len(rest)
		rest = rest[14+m:]
	}
	return len(win) - len(rest), limit - left, len(win) - lastLen, now, false, nil
}

// record analyzes the one c8 record at the front of b, which holds at
// least C8MaxRecord bytes and whose event is in range, whatever it is; it
// returns the record's size and time. A conflict's part is queued in
// s.pend, as scan queues it, for flush.
func (s *c8Summary) record(b []byte) (int, float64) {
	b = b[:pypy.C8MaxRecord]
	now := pyTime(le32(b[0:]), le32(b[4:]))
	t := s.thread(le32(b[8:]))
	switch ev := s.table[b[12]]; ev {
	case pypy.EvStart:
		t.start(now)
	case pypy.EvDetach:
		t.progress(now, stDetached)
	case pypy.EvReattach:
		t.progress(now, stRun)
		t.becomeInevitable(ev, b, now)
	case pypy.EvCommit, pypy.EvAbort:
		t.end(ev, now)
	case pypy.EvBecomeInevitable:
		t.becomeInevitable(ev, b, now)
	case pypy.EvWriteRead:
		s.writeRead(t, b, now)
	case pypy.EvWaitFreeSegment, pypy.EvWaitSyncing, pypy.EvWaitSyncPause, pypy.EvWaitOtherInev:
		t.wait(ev, now)
	case pypy.EvWaitDone:
		t.waitDone(now)
		s.inevWaitDone(t, now)
	case pypy.EvGCMinorStart:
		t.gcMinorStart(now)
	case pypy.EvGCMinorDone:
		t.gcMinorDone(now)
	case pypy.EvGCMajorStart:
		t.gcMajorStart(now)
	case pypy.EvGCMajorDone:
		t.gcMajorDone(now)
	}
	return 14 + int(b[13]), now
}

// conflictRecord is record for a record of t that scan left because it
// updates a conflict and s.pend was full: a CONTENTION_WRITE_READ or the
// WAIT_DONE of a wait for the inevitable transaction.
func (s *c8Summary) conflictRecord(t *c8Thread, b []byte) (int, float64) {
	b = b[:pypy.C8MaxRecord]
	now := pyTime(le32(b[0:]), le32(b[4:]))
	if s.table[b[12]] == pypy.EvWriteRead {
		s.writeRead(t, b, now)
	} else {
		t.waitDone(now)
		s.inevWaitDone(t, now)
	}
	return 14 + int(b[13]), now
}

// writeRead is CONTENTION_WRITE_READ for the record b of t (at the front
// of the window flush is given).
func (s *c8Summary) writeRead(t *c8Thread, b []byte, now float64) {
	e := s.pend.add()
	e.off = 0
	if t.aborting {
		e.kind = pendDouble
		return
	}
	t.aborting = true
	t.progress(now, stRun)
	e.kind, e.event, e.n = pendWriteRead, pypy.EvWriteRead, b[13]
	e.sec, e.nsec = le32(b[0:]), le32(b[4:])
	e.a, e.p = t.tx[stRun], t.tx[stPause]
}

// inevWaitDone is the end of t's wait for the inevitable transaction, if
// it was waiting, after WAIT_DONE's change of state.
func (s *c8Summary) inevWaitDone(t *c8Thread, now float64) {
	if t.inev && t.inevWaiting {
		e := s.pend.add()
		e.kind, e.event, e.n, e.off = pendInev, t.inevEvent, t.inevLen, 0
		e.sec, e.nsec = t.inevSec, t.inevNsec
		e.marker.copyFrom(&t.inevMarker, t.inevLen)
		e.a, e.p = 0, now-t.inevWaitStart
		t.inevWaiting = false
	}
}

// pending is what scan leaves of the records that touch a conflict (the
// conflicts' part of writeRead and inevWaitDone), for flush. Both kinds
// carry the same fields, so that flush does them with the same code (a
// test of the kind is mispredicted as often as the kinds alternate): the
// end of a wait for the inevitable transaction adds 0 to the conflict's
// aborted time, which leaves it as it is (a sum that starts at +0 is
// never -0).
type pending struct {
	n int
	e [64]pendEntry
}

type pendEntry struct {
	kind, event, n uint8
	off, sec, nsec uint32    // off: the record in scan's window
	a, p           float64   // to add to the conflict's aborted and paused
	marker         markerBuf // pendInev's (its first n bytes)
}

// add queues an entry (the queue has room: scan and its callers flush it
// before it fills).
func (q *pending) add() *pendEntry {
	e := &q.e[q.n&(len(q.e)-1)]
	q.n++
	return e
}

// What a pending record does.
const (
	pendWriteRead = 1 // its marker is in scan's window
	pendDouble    = 2 // a CONTENTION_WRITE_READ that only prints a note
	pendInev      = 3 // the end of a wait for the inevitable transaction: its marker is in marker (kind>>1&1 = 1)
)

// flush does what scan queued in s.pend, in order; win is scan's window.
// The common case of each entry (its conflict in s.recent, its timestamp
// a stamp that fits the conflict's chunk) is written out in the loop, the
// work of lookup, sameMarker and addTime without their three calls, whose
// overhead (arguments, slices rebuilt, spills) was a large share of the
// work they did.
func (s *c8Summary) flush(win []byte, note *pyStderr) {
	pend, on := s.pend, s.cells.on
	for i := range pend.n {
		e := &pend.e[i&(len(pend.e)-1)]
		if e.kind == pendDouble {
			note.line("note: double STM_CONTENTION_WRITE_READ")
			continue
		}
		// The marker: in the window or in e, picked without a branch.
		w := (*[pypy.C8MaxRecord]byte)(win[e.off:])
		at := [2]*[pypy.C8MaxRecord - 14]byte{(*[pypy.C8MaxRecord - 14]byte)(w[14:]), e.marker.bytes()}
		mk, n := at[e.kind>>1&1], int(e.n)
		// lookup's hit for a marker of 33-64 bytes (most are), written
		// out: sameMarker's two blocks.
		var c *conflictSummary
		hit := false
		if n >= 33 && n <= 64 {
			c = s.recent[recentHash(e.event, mk, n)]
			if c != nil && c.event == e.event && len(c.mk) == n {
				a := c.mk[:n:n]
				hit = block32((*[32]byte)(a), (*[32]byte)(mk[:32]))|block32((*[32]byte)(a[n-32:]), (*[32]byte)(mk[n-32:])) == 0
			}
		}
		if hit {
			c.n++
		} else {
			c = s.lookup(e.event, mk, n)
		}
		c.aborted += e.a
		c.paused += e.p
		// addTime's common case (see there).
		key := uint64(e.sec)<<32 | uint64(e.nsec)
		d := int64(key - c.lastKey)
		u := uint64(d<<1) ^ uint64(d>>63)
		b := c.cur
		if l := bits.Len64(u); l <= 53 && cap(b)-len(b) >= 8 && !on {
			sz, at := (l+3+7)/8, len(b)
			binary.LittleEndian.PutUint64(b[at:at+8], u<<3|uint64(sz-1))
			// c.cur = c.cur[:…] stores only the length (b[:…] would store
			// the pointer too, with a write barrier check).
			c.lastKey, c.cur, c.tsLen = key, c.cur[:at+sz], c.tsLen+sz
			continue
		}
		c.addTime(e.sec, e.nsec, &s.cells)
	}
	pend.n = 0
}
