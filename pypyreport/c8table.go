package pypyreport

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// The c8 analysis without a branch on the event. A record's effect on its
// thread splits in two: what happens to the thread's flags and state
// (which depends only on the events so far) and what happens to its times
// (sums of differences of timestamps). The first is a table (c8A, c8Kind
// and c8B, built from c8Step), indexed by the thread's flags and state and
// the record's event: it
// gives the next flags and state and, for the second, which of the
// thread's float slots the record's fixed sequence of float operations
// (apply) reads and writes, slots it does not touch pointing at a junk
// slot. So no record takes a branch on its event, whose targets follow
// the interleaving of the threads and were mispredicted on most records.
//
// The reader (read) steps the flags through the table, and does the
// rare records' work that needs the flags (the inevitable transaction's
// marker, the conflicts' entries); apply does the floats, and flushConf
// the conflicts, in file order.

// A thread's flags and state (c8Slot.st, c8ThreadA.st: shifted <<4, the
// table's row with the event).
const (
	tsState       = 3 // prevState, stStop…stDetached
	tsFreeSeg     = 1 << 2
	tsMinor       = 1 << 3
	tsMajor       = 1 << 4
	tsInev        = 1 << 5
	tsInevWaiting = 1 << 6
	tsAborting    = 1 << 7
)

// A thread's float slots (c8Thread.f). Slots stStop…stDetached are the
// transaction's time by state (tx), fStop sums what is never read.
const (
	fPrev          = 4 // prevTime
	fCommitted     = 5 // cpuEnded[0]
	fAborted       = 6 // cpuEnded[1]
	fPaused        = 7 // cpuPaused
	fMinor         = 8
	fMajor         = 9
	fMinorStart    = 10
	fMajorStart    = 11
	fInevWaitStart = 12
	fZero          = 13 // always +0
	fNCommitted    = 14 // nEnded[0], counted in a float (exact below 2^53)
	fNAborted      = 15 // nEnded[1]
	// What the operations a record does not do write, never read: one slot
	// (or block) for each operation, so that no operation of a record waits
	// for another's store to the same junk (their loads read fZero).
	fJunkClr = 16 // 16-19
	fJunkX   = 20
	fJunkZ1  = 21
	fJunkZ2  = 22
	fJunkU1  = 23
	fJunkU2  = 24
	fJunkCnt = 25
	fSlots   = 26
)

// What the reader does for a record besides the table's step (c8Row.kind).
const (
	kindWriteRead = 1 // a conflict entry: CONTENTION_WRITE_READ's (its marker in the batch's raw)
	kindDouble    = 2 // a conflict entry that only prints the note
	kindInevWait  = 3 // a conflict entry: the end of a wait for the inevitable transaction
	kindInevStart = 4 // the transaction's first BECOME_INEVITABLE or REATTACH: its marker kept
)

// c8Row is what a record does, by its thread's flags and state and its
// event. apply does, in this order: f[clr…clr+3] = 0; f[x] += now - f[y];
// f[z1] = now; f[z2] = now; f[u1] += f[stRun]; f[u2] += f[stPause];
// f[cnt] += 1; and the record's conflict entry gets a = f[a], p = f[p1] -
// f[p2]. Split in the reader's part (c8A, c8Kind) and apply's (c8B, the
// slots as byte offsets).
type c8Row struct {
	next, kind                     uint8
	clr, x, y, z1, z2, u1, u2, cnt uint8
	a, p1, p2                      uint8
}

// c8BRow is apply's part of a c8Row: the slots' byte offsets in
// c8Thread.f, and conf (1: the record makes a conflict entry).
type c8BRow struct {
	clr, x, y, z1, z2, u1, u2, cnt, a, p1, p2, conf uint8
	_                                               [4]uint8
}

// c8Rows masks a row's index (flags and state <<4 | event).
const c8Rows = 256*16 - 1

// The table's parts: the reader's (c8A: the next flags and state <<4, and
// 1 if the record needs heavyRec; c8Kind: what heavyRec does) and apply's
// (c8B).
var c8A, c8Kind, c8B = func() (a [c8Rows + 1]uint16, kind [c8Rows + 1]uint8, b [c8Rows + 1]c8BRow) {
	for i := range a {
		r := c8Step(uint8(i>>4), uint8(i&15))
		a[i], kind[i] = uint16(r.next)<<4, r.kind
		if r.kind != 0 {
			a[i] |= 1
		}
		b[i] = c8BRow{clr: r.clr * 8, x: r.x * 8, y: r.y * 8, z1: r.z1 * 8, z2: r.z2 * 8, u1: r.u1 * 8, u2: r.u2 * 8,
			cnt: r.cnt * 8, a: r.a * 8, p1: r.p1 * 8, p2: r.p2 * 8}
		if r.kind >= kindWriteRead && r.kind <= kindInevWait {
			b[i].conf = 1
		}
	}
	return
}()

// c8Step is the analysis of one record of event ev (canonical) for a
// thread in flags and state st: print_stm_log.py's per-event code, as
// c8Thread's methods do it for scan and record (runBoth compares them).
func c8Step(st, ev uint8) c8Row {
	r := c8Row{next: st, clr: fJunkClr, x: fJunkX, y: fZero, z1: fJunkZ1, z2: fJunkZ2, u1: fJunkU1, u2: fJunkU2,
		cnt: fJunkCnt, a: fZero, p1: fZero, p2: fZero}
	ps := st & tsState
	// progress: the time since the thread's last change of state goes to
	// the state it leaves.
	progress := func(to uint8) { r.x, r.y, r.z1, r.next = ps, fPrev, fPrev, r.next&^tsState|to }
	inevStart := func() { // becomeInevitable; its own progress adds +0 to f[stRun]
		if st&tsInev == 0 {
			r.next = r.next&^tsInevWaiting | tsInev
			r.kind = kindInevStart
		}
	}
	switch ev {
	case pypy.EvStart:
		// The original forgets a free-segment wait here too: one that ended
		// in an ABORT instead of a WAIT_DONE must not turn this
		// transaction's next WAIT_DONE into a stop (docs/pypy-log-format.md
		// §4.1).
		r.clr = stStop // and stRun, stPause, stDetached
		r.next &^= tsAborting | tsFreeSeg | tsInev | tsInevWaiting | tsMinor
		progress(stRun)
	case pypy.EvCommit, pypy.EvAbort:
		progress(stStop)
		r.u1, r.u2, r.cnt = fCommitted+ev-pypy.EvCommit, fPaused, fNCommitted+ev-pypy.EvCommit
	case pypy.EvDetach:
		progress(stDetached)
	case pypy.EvReattach, pypy.EvBecomeInevitable:
		progress(stRun)
		inevStart()
	case pypy.EvWriteRead:
		if st&tsAborting != 0 {
			r.kind = kindDouble
			break
		}
		r.next |= tsAborting
		progress(stRun)
		r.kind, r.a, r.p1 = kindWriteRead, stRun, stPause
	case pypy.EvWaitFreeSegment:
		r.next |= tsFreeSeg
		progress(stPause)
	case pypy.EvWaitSyncing, pypy.EvWaitSyncPause:
		progress(stPause)
	case pypy.EvWaitOtherInev:
		progress(stPause)
		if st&tsInev != 0 {
			r.next |= tsInevWaiting
			r.z2 = fInevWaitStart
		}
	case pypy.EvWaitDone:
		if st&tsFreeSeg != 0 {
			// Not in a transaction yet: the final analyzer's fix.
			r.next &^= tsFreeSeg
			progress(stStop)
		} else {
			progress(stRun)
		}
		if st&(tsInev|tsInevWaiting) == tsInev|tsInevWaiting {
			// f[fPrev] is now, after the progress.
			r.next &^= tsInevWaiting
			r.kind, r.a, r.p1, r.p2 = kindInevWait, fZero, fPrev, fInevWaitStart
		}
	case pypy.EvGCMinorStart:
		if ps == stDetached {
			progress(stRun)
		}
		r.next |= tsMinor
		r.z2 = fMinorStart
	case pypy.EvGCMinorDone:
		if st&tsMinor != 0 {
			r.next &^= tsMinor
			r.x, r.y = fMinor, fMinorStart
		}
	case pypy.EvGCMajorStart:
		r.next |= tsMajor
		r.z2 = fMajorStart
	case pypy.EvGCMajorDone:
		if st&tsMajor != 0 {
			r.next &^= tsMajor
			r.x, r.y = fMajor, fMajorStart
		}
	}
	return r
}

// c8Entry is one record for apply, in 16 bytes and no pointer (no write
// barrier to test on each store).
type c8Entry struct {
	stamp uint64 // the record's first 8 bytes, little-endian: sec | nsec<<32
	t     uint32 // the thread's index in c8Summary.threads
	row   uint16 // in c8A and c8B
	_     uint16
}

// c8Conf is a conflict entry of a batch: flushConf's work for a
// CONTENTION_WRITE_READ or the end of a wait for the inevitable
// transaction, or the note of a double CONTENTION_WRITE_READ. 64 bytes.
type c8Conf struct {
	a, p      float64 // to add to the conflict's aborted and paused (apply's)
	mk        []byte  // the marker
	sec, nsec uint32  // the timestamp to keep
	kind      uint8   // kindWriteRead, kindDouble, kindInevWait
	event     uint8
	off, ci   uint32 // summarizeSplit's: the record's offset in its part, its conflict there (c8Part.list)
	_         [6]byte
}

// apply does the float part of the records ents (threads: the summary's
// threads; conf: the batch's conflict entries and one more, which the
// records after the last entry write to). The slots are addressed by the
// byte offsets of c8B's rows (at most fSlots*8 - 8, within f).
func apply(ents []c8Entry, threads []*c8Thread, conf []c8Conf) {
	tab := &c8B
	q := 0
	for i := range ents {
		e := &ents[i]
		f := unsafe.Pointer(&threads[e.t].f)
		r := &tab[e.row&c8Rows]
		now := pyTime(uint32(e.stamp), uint32(e.stamp>>32))
		*(*[4]float64)(unsafe.Add(f, r.clr)) = [4]float64{}
		*(*float64)(unsafe.Add(f, r.x)) += now - *(*float64)(unsafe.Add(f, r.y))
		*(*float64)(unsafe.Add(f, r.z1)) = now
		*(*float64)(unsafe.Add(f, r.z2)) = now
		ff := (*[fSlots]float64)(f)
		*(*float64)(unsafe.Add(f, r.u1)) += ff[stRun]
		*(*float64)(unsafe.Add(f, r.u2)) += ff[stPause]
		*(*float64)(unsafe.Add(f, r.cnt))++
		c := &conf[q]
		c.a, c.p = *(*float64)(unsafe.Add(f, r.a)), *(*float64)(unsafe.Add(f, r.p1))-*(*float64)(unsafe.Add(f, r.p2))
		q += int(r.conf)
	}
}

// flushConf does the conflict entries conf, in order: the conflict's
// lookup (its common case, a hit in s.recent for a marker of 33-64 bytes,
// written out; the entry's ci set to the conflict's order), its sums and
// its timestamp (addTime's common case written out).
func (s *c8Summary) flushConf(conf []c8Conf, note *pyStderr) {
	on := s.cells.on
	for i := range conf {
		e := &conf[i]
		if e.kind == kindDouble {
			note.line("note: double STM_CONTENTION_WRITE_READ")
			continue
		}
		mk := e.mk
		n := len(mk)
		var c *conflictSummary
		hit := false
		if n >= 33 && n <= 64 {
			c = s.recent[recentSlot(e.event, mk)]
			if c != nil && c.event == e.event && len(c.mk) == n {
				a := c.mk[:n:n]
				hit = block32((*[32]byte)(a), (*[32]byte)(mk[:32]))|block32((*[32]byte)(a[n-32:]), (*[32]byte)(mk[n-32:])) == 0
			}
		}
		if hit {
			c.n++
		} else {
			c = s.conflict(e.event, mk)
		}
		e.ci = uint32(c.order)
		c.aborted += e.a
		c.paused += e.p
		key := uint64(e.sec)<<32 | uint64(e.nsec)
		d := int64(key - c.lastKey)
		u := uint64(d<<1) ^ uint64(d>>63)
		b := c.cur
		if l := bits.Len64(u); l <= 53 && cap(b)-len(b) >= 8 && !on {
			sz, at := (l+3+7)/8, len(b)
			binary.LittleEndian.PutUint64(b[at:at+8], u<<3|uint64(sz-1))
			c.lastKey, c.cur, c.tsLen = key, c.cur[:at+sz], c.tsLen+sz
			continue
		}
		c.addTime(e.sec, e.nsec, &s.cells)
	}
}
