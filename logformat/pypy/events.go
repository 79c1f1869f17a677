package pypy

import "strconv"

// Event numbers of the final c8 numbering (era E, stmgc c8/stmgc.h
// enum stm_event_e). Records of older eras are translated to these by
// Era.Canon, so the rest of the code knows only one numbering.
const (
	EvStart            uint8 = 0  // STM_TRANSACTION_START
	EvCommit           uint8 = 1  // STM_TRANSACTION_COMMIT
	EvAbort            uint8 = 2  // STM_TRANSACTION_ABORT
	EvDetach           uint8 = 3  // STM_TRANSACTION_DETACH
	EvReattach         uint8 = 4  // STM_TRANSACTION_REATTACH
	EvBecomeInevitable uint8 = 5  // STM_BECOME_INEVITABLE
	EvWriteRead        uint8 = 6  // STM_CONTENTION_WRITE_READ
	EvWaitFreeSegment  uint8 = 7  // STM_WAIT_FREE_SEGMENT
	EvWaitSyncing      uint8 = 8  // STM_WAIT_SYNCING
	EvWaitSyncPause    uint8 = 9  // STM_WAIT_SYNC_PAUSE
	EvWaitOtherInev    uint8 = 10 // STM_WAIT_OTHER_INEVITABLE
	EvWaitDone         uint8 = 11 // STM_WAIT_DONE
	EvGCMinorStart     uint8 = 12 // STM_GC_MINOR_START
	EvGCMinorDone      uint8 = 13 // STM_GC_MINOR_DONE
	EvGCMajorStart     uint8 = 14 // STM_GC_MAJOR_START
	EvGCMajorDone      uint8 = 15 // STM_GC_MAJOR_DONE
	c8EventN                 = 16
)

// c8Names are the names print_stm_log.py prints (its STM_* constants).
var c8Names = [c8EventN]string{
	"STM_TRANSACTION_START", "STM_TRANSACTION_COMMIT", "STM_TRANSACTION_ABORT",
	"STM_TRANSACTION_DETACH", "STM_TRANSACTION_REATTACH", "STM_BECOME_INEVITABLE",
	"STM_CONTENTION_WRITE_READ", "STM_WAIT_FREE_SEGMENT", "STM_WAIT_SYNCING",
	"STM_WAIT_SYNC_PAUSE", "STM_WAIT_OTHER_INEVITABLE", "STM_WAIT_DONE",
	"STM_GC_MINOR_START", "STM_GC_MINOR_DONE", "STM_GC_MAJOR_START", "STM_GC_MAJOR_DONE",
}

// C8Name is the STM_* name of a canonical (era E) c8 event number.
func C8Name(ev uint8) string {
	if int(ev) < len(c8Names) {
		return c8Names[ev]
	}
	return "STM_EVENT_" + strconv.Itoa(int(ev))
}

// Event numbers of c7 (stmgc c7/stmgc.h; stable for c7's whole life).
const (
	C7Start           uint8 = 0
	C7Commit          uint8 = 1
	C7Abort           uint8 = 2
	C7WriteWrite      uint8 = 3 // markers: self (second write) / other (first write)
	C7WriteRead       uint8 = 4 // by the committing writer: its write / (none)
	C7Inevitable      uint8 = 5 // self (wants inevitable) / other (is inevitable)
	C7AbortingOther   uint8 = 6 // the contention's emitter aborts the other thread
	C7WaitFreeSegment uint8 = 7
	C7WaitSyncPause   uint8 = 8
	C7WaitContention  uint8 = 9
	C7WaitDone        uint8 = 10
	C7GCMinorStart    uint8 = 11
	C7GCMinorDone     uint8 = 12
	C7GCMajorStart    uint8 = 13
	C7GCMajorDone     uint8 = 14
	c7EventN                = 15
)

var c7Names = [c7EventN]string{
	"STM_TRANSACTION_START", "STM_TRANSACTION_COMMIT", "STM_TRANSACTION_ABORT",
	"STM_CONTENTION_WRITE_WRITE", "STM_CONTENTION_WRITE_READ", "STM_CONTENTION_INEVITABLE",
	"STM_ABORTING_OTHER_CONTENTION", "STM_WAIT_FREE_SEGMENT", "STM_WAIT_SYNC_PAUSE",
	"STM_WAIT_CONTENTION", "STM_WAIT_DONE", "STM_GC_MINOR_START", "STM_GC_MINOR_DONE",
	"STM_GC_MAJOR_START", "STM_GC_MAJOR_DONE",
}

// C7Name is the STM_* name of a c7 event number.
func C7Name(ev uint8) string {
	if int(ev) < len(c7Names) {
		return c7Names[ev]
	}
	return C8Name(ev)
}

// Era names one of the five event numberings c8 logs had under the same
// magic (docs/pypy-log-format.md §2): 'a' (2015-03-07) … 'e' (2015-11-05, final). A
// reader must be told which one produced a file; the default is 'e'.
type Era byte

const (
	EraA Era = 'a'
	EraB Era = 'b'
	EraC Era = 'c'
	EraD Era = 'd'
	EraE Era = 'e'
)

// eraTables map an era's event numbers to the canonical (era E) ones.
var eraTables = map[Era][]uint8{
	EraA: {EvStart, EvCommit, EvAbort, EvWriteRead, EvWaitFreeSegment, EvWaitOtherInev, EvWaitDone,
		EvGCMinorStart, EvGCMinorDone, EvGCMajorStart, EvGCMajorDone},
	EraB: {EvStart, EvCommit, EvAbort, EvWriteRead, EvWaitFreeSegment, EvWaitSyncPause, EvWaitOtherInev, EvWaitDone,
		EvGCMinorStart, EvGCMinorDone, EvGCMajorStart, EvGCMajorDone},
	EraC: {EvStart, EvCommit, EvAbort, EvWriteRead, EvBecomeInevitable, EvWaitFreeSegment, EvWaitSyncPause,
		EvWaitOtherInev, EvWaitDone, EvGCMinorStart, EvGCMinorDone, EvGCMajorStart, EvGCMajorDone},
	EraD: {EvStart, EvCommit, EvAbort, EvBecomeInevitable, EvWriteRead, EvWaitFreeSegment, EvWaitSyncing,
		EvWaitSyncPause, EvWaitOtherInev, EvWaitDone, EvGCMinorStart, EvGCMinorDone, EvGCMajorStart, EvGCMajorDone},
	EraE: {EvStart, EvCommit, EvAbort, EvDetach, EvReattach, EvBecomeInevitable, EvWriteRead, EvWaitFreeSegment,
		EvWaitSyncing, EvWaitSyncPause, EvWaitOtherInev, EvWaitDone, EvGCMinorStart, EvGCMinorDone,
		EvGCMajorStart, EvGCMajorDone},
}

// Events is the number of events of the era (_STM_EVENT_N), 0 for an
// unknown era.
func (e Era) Events() int { return len(eraTables[e]) }

// Table returns the mapping from the era's event numbers to canonical ones
// (nil for an unknown era). Index it only with numbers < Events().
func (e Era) Table() []uint8 { return eraTables[e] }

// MonotonicClock reports whether writers of this era read the clock inside
// the file lock, so that timestamps never decrease (stmgc fb374fd, June
// 2015); the era-D and -E analyzers reject decreasing timestamps.
func (e Era) MonotonicClock() bool { return e >= EraD }
