package pypyreport

import (
	"encoding/binary"
	"math/bits"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// A thread's flags and state as c8Step takes them, in one byte.
const (
	tsState       = 3 // prevState, stStop…stDetached
	tsFreeSeg     = 1 << 2
	tsMinor       = 1 << 3
	tsMajor       = 1 << 4
	tsInev        = 1 << 5
	tsInevWaiting = 1 << 6
	tsAborting    = 1 << 7
)

// What a conflict entry does (c8Conf.kind; the same numbers as pend*).
const (
	kindWriteRead = 1 // CONTENTION_WRITE_READ's
	kindDouble    = 2 // a CONTENTION_WRITE_READ that only prints the note
	kindInevWait  = 3 // the end of a wait for the inevitable transaction
)

// c8Step is the flags and state that a record of event ev (canonical)
// leaves a thread in flags and state st with: what c8Thread's methods do
// to the flags (TestC8StepAgrees compares them), for summarizeSplit's
// check of the records a part left (verify).
func c8Step(st, ev uint8) uint8 {
	next := st
	progress := func(to uint8) { next = next&^tsState | to }
	switch ev {
	case pypy.EvStart:
		next &^= tsAborting | tsFreeSeg | tsInev | tsInevWaiting | tsMinor
		progress(stRun)
	case pypy.EvCommit, pypy.EvAbort:
		progress(stStop)
	case pypy.EvDetach:
		progress(stDetached)
	case pypy.EvReattach, pypy.EvBecomeInevitable:
		progress(stRun)
		if st&tsInev == 0 {
			next = next&^tsInevWaiting | tsInev
		}
	case pypy.EvWriteRead:
		if st&tsAborting == 0 {
			next |= tsAborting
			progress(stRun)
		}
	case pypy.EvWaitFreeSegment:
		next |= tsFreeSeg
		progress(stPause)
	case pypy.EvWaitSyncing, pypy.EvWaitSyncPause:
		progress(stPause)
	case pypy.EvWaitOtherInev:
		progress(stPause)
		if st&tsInev != 0 {
			next |= tsInevWaiting
		}
	case pypy.EvWaitDone:
		if st&tsFreeSeg != 0 {
			next &^= tsFreeSeg
			progress(stStop)
		} else {
			progress(stRun)
		}
		if st&(tsInev|tsInevWaiting) == tsInev|tsInevWaiting {
			next &^= tsInevWaiting
		}
	case pypy.EvGCMinorStart:
		if st&tsState == stDetached {
			progress(stRun)
		}
		next |= tsMinor
	case pypy.EvGCMinorDone:
		next &^= tsMinor
	case pypy.EvGCMajorStart:
		next |= tsMajor
	case pypy.EvGCMajorDone:
		next &^= tsMajor
	}
	return next
}

// c8Next is c8Step as a table, by flags and state <<4 | event.
var c8Next = func() (t [256 * 16]uint8) {
	for i := range t {
		t[i] = c8Step(uint8(i>>4), uint8(i&15))
	}
	return
}()

// c8Conf is a conflict entry of a part (c8Part.conf): flushConf's work
// for a CONTENTION_WRITE_READ or the end of a wait for the inevitable
// transaction, or the note of a double CONTENTION_WRITE_READ. 64 bytes.
type c8Conf struct {
	a, p      float64 // to add to the conflict's aborted and paused
	mk        []byte  // the marker
	sec, nsec uint32  // the timestamp to keep
	kind      uint8   // kindWriteRead, kindDouble, kindInevWait
	event     uint8
	off, ci   uint32 // the record's offset in its part, its conflict there (c8Part.list)
	_         [6]byte
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
