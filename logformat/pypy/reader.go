package pypy

import (
	"fmt"
	"io"

	"github.com/stmlog/stmlog/logformat"
)

// Options tune NewReader.
type Options struct {
	// Name is the file name used in errors and warnings.
	Name string
	// Era is the c8 event numbering, 'a'..'e' (0 means 'e', the final one);
	// the file does not say which (docs/pypy-log-format.md §2). Ignored for c7 logs.
	Era byte
}

// Reader maps the records of a c7 or c8 log to logformat events. It
// implements logformat.Source.
//
// The mapping (one record may give zero, one or two events):
//
// c8: START/COMMIT/ABORT → KindTxStart/Commit/Abort; an abort after a
// write-read contention has Cause AbortConflict, one right after
// BECOME_INEVITABLE AbortInevitable. CONTENTION_WRITE_READ is written by
// the reader being aborted and its marker is the *writer's* location, so it
// becomes KindConflict{ConflictWriteRead, OtherSite: marker} with no Site
// and no Other (the log has neither). A second write-read contention in the
// same attempt is dropped (print_stm_log.py ignores it too; counted in a
// warning). BECOME_INEVITABLE → KindBecomeInevitable{Site: marker}.
// WAIT_OTHER_INEVITABLE in a transaction that became inevitable (or was
// reattached) gives KindConflict{ConflictInevitable, Site: the first
// become-inevitable location of the transaction (none after a REATTACH)}
// and then KindWaitStart{WaitInevitable}; print_stm_log.py charges that
// pause to the same location. Other waits → KindWaitStart with their
// reason, WAIT_DONE → KindWaitDone, DETACH/REATTACH and GC events → their
// kinds.
//
// c7: a CONTENTION_* record is written by the thread that detected the
// conflict, and the *next* record of that thread says who pays:
// ABORTING_OTHER_CONTENTION (the other thread is aborted), ABORT (itself)
// or WAIT_CONTENTION (itself, paused). The reader holds the contention
// until that record and emits the KindConflict on the paying thread, so
// that, as everywhere in the event model, the conflict is followed on its
// own thread by the abort or pause it costs. Site is always the paying
// side's marker and OtherSite the other side's: for the usual write-read
// case (emitted by the committing writer, marker 1 = its write, no
// marker 2, then ABORTING_OTHER) the paying side is the reader, so Site is
// empty and OtherSite is the writer's location, as in c8. Timestamps of a
// held conflict are kept (c7 files are not globally time-ordered anyway).
//
// Markers become single-frame stacks: `File "f", line N, in name (#k)`
// parses to Frame{Func: name, File: f, Line: N}; anything else (binary
// markers of plain stmgc users, cut-off text) to Frame{Func: raw}. Label is
// always the raw marker text, so PyPy-style reports can print it verbatim.
type Reader struct {
	sc     *Scanner
	rec    Record
	format Format
	table  []uint8

	stacks  []*logformat.Stack
	byLabel map[string]logformat.StackID

	small []*threadState // threads 0..len-1
	big   map[uint32]*threadState
	order []*threadState // first-seen order, for deterministic flushing

	// Events of the current record waiting to be returned: at most two,
	// except at the end of a c7 log (held contentions of every thread).
	// They all come from the record at qoff.
	queue []logformat.Event
	qoff  int64
	qhead int

	offset  int64
	last    int64 // time of the previous record
	decr    int64 // decreasing timestamps seen
	doubles int64 // dropped second write-read contentions
	stats   logformat.Stats
	done    bool
	err     error
}

type threadState struct {
	num uint32
	// c8
	inTx      bool
	aborting  bool // a write-read contention was seen in this attempt
	inev      bool // became inevitable (or reattached) in this attempt
	inevSite  logformat.StackID
	lastInev  bool // the previous record was BECOME_INEVITABLE
	waitKind  logformat.WaitReason
	conflict  bool // c7: a conflict was charged to the running attempt
	held      bool // c7: a contention waits for its deciding record
	heldEvent logformat.Event
	heldSite2 logformat.StackID // marker 2 of the held contention
}

// NewReader reads the header of a PyPy-STM log and returns a reader of its
// events. It fails for a file that is not a PyPy-STM log.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	name := opt.Name
	if name == "" {
		name = "PyPy-STM log"
	}
	sc, err := NewScanner(r, name, Era(opt.Era))
	if err != nil {
		return nil, err
	}
	rd := &Reader{
		sc:      sc,
		format:  sc.Format(),
		byLabel: make(map[string]logformat.StackID),
		queue:   make([]logformat.Event, 0, 4),
		small:   make([]*threadState, 64),
	}
	if rd.format == C8 {
		rd.table = sc.Era().Table()
	}
	rd.stats.Format = rd.format.String()
	return rd, nil
}

// Format is the layout of the log (C7 or C8).
func (rd *Reader) Format() Format { return rd.format }

// Next returns the next event, io.EOF at the end of the log.
func (rd *Reader) Next() (logformat.Event, error) {
	for rd.qhead == len(rd.queue) {
		if rd.done {
			return logformat.Event{}, rd.err
		}
		rd.queue = rd.queue[:0]
		rd.qhead = 0
		rd.step()
	}
	i := rd.qhead
	rd.offset = rd.qoff
	rd.qhead++
	rd.stats.Events++
	return rd.queue[i], nil
}

// step reads one record and queues its events (possibly none).
func (rd *Reader) step() {
	err := rd.sc.Next(&rd.rec)
	if err == nil && rd.rec.Cut > 0 {
		// A record cut inside its markers is part of the truncated tail.
		err = rd.sc.Next(&rd.rec)
	}
	if err != nil {
		rd.finish(err)
		return
	}
	rec := &rd.rec
	rd.qoff = rd.sc.Offset()
	now := rec.Nanos()
	if now < rd.last {
		rd.decr++
		if rd.decr == 1 {
			rd.warn(fmt.Sprintf("%s: byte offset %d: timestamp decreases (%d.%09d s after %d.%09d s)",
				rd.sc.Name(), rd.sc.Offset(), rec.Sec, rec.Nsec, rd.last/1e9, rd.last%1e9))
		}
	}
	rd.last = now
	t := rd.thread(rec.Thread)
	if rd.format == C8 {
		rd.c8(t, rec, now)
	} else {
		rd.c7(t, rec, now)
	}
}

func (rd *Reader) finish(err error) {
	rd.done = true
	rd.qoff = rd.sc.Offset()
	if rd.format == C7 {
		for _, t := range rd.order {
			rd.flushHeld(t, false)
		}
	}
	rd.stats.Bytes = rd.sc.Consumed()
	rd.stats.Chunks = rd.sc.Records()
	if err == io.EOF {
		if n := rd.sc.Truncated(); n > 0 {
			rd.stats.TruncatedBytes = n
			if rd.rec.Cut > 0 {
				rd.stats.Chunks-- // the partial record was counted by the scanner
			}
			rd.warn(fmt.Sprintf("%s: the last record is cut off: %d bytes at byte offset %d ignored",
				rd.sc.Name(), n, rd.sc.Consumed()-n))
		}
		if rd.decr > 1 {
			rd.warn(fmt.Sprintf("%s: %d decreasing timestamps in all", rd.sc.Name(), rd.decr))
		}
		if rd.doubles > 0 {
			rd.warn(fmt.Sprintf("%s: %d repeated write-read contentions in an already aborting transaction ignored",
				rd.sc.Name(), rd.doubles))
		}
	}
	rd.err = err
}

func (rd *Reader) warn(s string) {
	if len(rd.stats.Warnings) < 100 {
		rd.stats.Warnings = append(rd.stats.Warnings, s)
	}
}

func (rd *Reader) thread(num uint32) *threadState {
	if int(num) < len(rd.small) {
		if t := rd.small[num]; t != nil {
			return t
		}
	} else if t := rd.big[num]; t != nil {
		return t
	}
	t := &threadState{num: num}
	if int(num) < len(rd.small) {
		rd.small[num] = t
	} else {
		if rd.big == nil {
			rd.big = make(map[uint32]*threadState)
		}
		rd.big[num] = t
	}
	rd.order = append(rd.order, t)
	return t
}

func (rd *Reader) emit(ev logformat.Event) { rd.queue = append(rd.queue, ev) }

var c8Waits = [c8EventN]logformat.WaitReason{
	EvWaitFreeSegment: logformat.WaitFreeSegment,
	EvWaitSyncing:     logformat.WaitSyncing,
	EvWaitSyncPause:   logformat.WaitSyncPause,
	EvWaitOtherInev:   logformat.WaitInevitable,
}

// push appends an event of the current record and returns it to be
// filled in place (Event is 48 bytes; copying it around is the reader's
// main cost).
func (rd *Reader) push(now int64, thread uint32) *logformat.Event {
	rd.queue = append(rd.queue, logformat.Event{Time: now, Thread: thread})
	return &rd.queue[len(rd.queue)-1]
}

func (rd *Reader) c8(t *threadState, rec *Record, now int64) {
	code := rd.table[rec.Event]
	if code == EvWriteRead && t.aborting {
		rd.doubles++
		return
	}
	ev := rd.push(now, rec.Thread)
	lastInev := t.lastInev
	t.lastInev = false
	switch code {
	case EvStart:
		*t = threadState{num: t.num, inTx: true}
		ev.Kind = logformat.KindTxStart
	case EvCommit:
		t.inTx = false
		ev.Kind = logformat.KindTxCommit
	case EvAbort:
		ev.Kind = logformat.KindTxAbort
		switch {
		case t.aborting:
			ev.Cause = logformat.AbortConflict
		case lastInev:
			ev.Cause = logformat.AbortInevitable
		}
		t.inTx = false
		t.aborting = false
	case EvDetach:
		ev.Kind = logformat.KindDetach
	case EvReattach:
		ev.Kind = logformat.KindReattach
		if !t.inev {
			t.inev, t.inevSite = true, 0
		}
	case EvBecomeInevitable:
		ev.Kind = logformat.KindBecomeInevitable
		ev.Site = rd.stack(rec.Marker)
		if !t.inev {
			t.inev, t.inevSite = true, ev.Site
		}
		t.lastInev = true
	case EvWriteRead:
		t.aborting = true
		ev.Kind = logformat.KindConflict
		ev.Conflict = logformat.ConflictWriteRead
		ev.OtherSite = rd.stack(rec.Marker)
	case EvWaitFreeSegment, EvWaitSyncing, EvWaitSyncPause, EvWaitOtherInev:
		if code == EvWaitOtherInev && t.inev {
			ev.Kind = logformat.KindConflict
			ev.Conflict = logformat.ConflictInevitable
			ev.Site = t.inevSite
			ev = rd.push(now, rec.Thread)
		}
		ev.Kind = logformat.KindWaitStart
		ev.Reason = c8Waits[code]
		t.waitKind = ev.Reason
	case EvWaitDone:
		ev.Kind = logformat.KindWaitDone
		ev.Reason = t.waitKind
		t.waitKind = logformat.WaitUnknown
	case EvGCMinorStart:
		ev.Kind = logformat.KindGCMinorStart
	case EvGCMinorDone:
		ev.Kind = logformat.KindGCMinorDone
	case EvGCMajorStart:
		ev.Kind = logformat.KindGCMajorStart
	case EvGCMajorDone:
		ev.Kind = logformat.KindGCMajorDone
	}
}

var c7Conflicts = [...]logformat.ConflictKind{
	C7WriteWrite: logformat.ConflictWriteWrite,
	C7WriteRead:  logformat.ConflictWriteRead,
	C7Inevitable: logformat.ConflictInevitable,
}

var c7Waits = [...]logformat.WaitReason{
	C7WaitFreeSegment: logformat.WaitFreeSegment,
	C7WaitSyncPause:   logformat.WaitSyncPause,
	C7WaitContention:  logformat.WaitContention,
}

// flushHeld emits t's held contention: on the other thread when it was
// aborted by t (toOther), else on t itself.
func (rd *Reader) flushHeld(t *threadState, toOther bool) {
	if !t.held {
		return
	}
	t.held = false
	ev := t.heldEvent
	if toOther && ev.OtherThread != 0 && ev.OtherThread != t.num {
		payer := rd.thread(ev.OtherThread)
		ev.Thread, ev.OtherThread = ev.OtherThread, t.num
		ev.Site, ev.OtherSite = t.heldSite2, ev.Site
		payer.conflict = true
	} else {
		t.conflict = true
	}
	rd.emit(ev)
}

func (rd *Reader) c7(t *threadState, rec *Record, now int64) {
	if rec.Event == C7AbortingOther {
		rd.flushHeld(t, true)
		return
	}
	rd.flushHeld(t, false)
	ev := logformat.Event{Time: now, Thread: rec.Thread}
	switch rec.Event {
	case C7Start:
		t.conflict = false
		ev.Kind = logformat.KindTxStart
	case C7Commit:
		t.conflict = false
		ev.Kind = logformat.KindTxCommit
	case C7Abort:
		ev.Kind = logformat.KindTxAbort
		if t.conflict {
			ev.Cause = logformat.AbortConflict
		}
		t.conflict = false
	case C7WriteWrite, C7WriteRead, C7Inevitable:
		t.held = true
		t.heldEvent = logformat.Event{Time: now, Thread: rec.Thread, Kind: logformat.KindConflict,
			Conflict: c7Conflicts[rec.Event], OtherThread: rec.Other,
			Site: rd.stack(rec.Marker), OtherSite: rd.stack(rec.Marker2)}
		t.heldSite2 = t.heldEvent.OtherSite
		return
	case C7WaitFreeSegment, C7WaitSyncPause, C7WaitContention:
		ev.Kind = logformat.KindWaitStart
		ev.Reason = c7Waits[rec.Event]
		t.waitKind = ev.Reason
	case C7WaitDone:
		ev.Kind = logformat.KindWaitDone
		ev.Reason = t.waitKind
		t.waitKind = logformat.WaitUnknown
	case C7GCMinorStart:
		ev.Kind = logformat.KindGCMinorStart
	case C7GCMinorDone:
		ev.Kind = logformat.KindGCMinorDone
	case C7GCMajorStart:
		ev.Kind = logformat.KindGCMajorStart
	case C7GCMajorDone:
		ev.Kind = logformat.KindGCMajorDone
	}
	rd.emit(ev)
}

// stack interns a marker; the empty marker is "no site".
func (rd *Reader) stack(marker []byte) logformat.StackID {
	if len(marker) == 0 {
		return 0
	}
	if id, ok := rd.byLabel[string(marker)]; ok {
		return id
	}
	s := ParseMarker(string(marker))
	rd.stacks = append(rd.stacks, s)
	id := logformat.StackID(len(rd.stacks))
	rd.byLabel[s.Label] = id
	return id
}

// Stack resolves a StackID returned in an event.
func (rd *Reader) Stack(id logformat.StackID) *logformat.Stack {
	if id == 0 || int(id) > len(rd.stacks) {
		return nil
	}
	return rd.stacks[id-1]
}

// VarName is always "": PyPy-STM logs do not name objects.
func (rd *Reader) VarName(uint64) string { return "" }

// Offset is the byte offset of the record behind the last event.
func (rd *Reader) Offset() int64 { return rd.offset }

// Stats describes what was read so far.
func (rd *Reader) Stats() logformat.Stats {
	s := rd.stats
	if !rd.done {
		s.Bytes = rd.sc.Consumed()
		s.Chunks = rd.sc.Records()
	}
	s.Warnings = append([]string(nil), s.Warnings...)
	return s
}

var _ logformat.Source = (*Reader)(nil)
