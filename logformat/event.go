package logformat

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says what happened. The zero Kind is invalid so that a zeroed Event is
// never mistaken for a real one.
type Kind uint8

const (
	KindInvalid Kind = iota
	// KindTxStart: a transaction attempt begins on Thread. Every start is
	// followed later, on the same thread, by a commit or an abort.
	KindTxStart
	// KindTxCommit: the attempt committed.
	KindTxCommit
	// KindTxAbort: the attempt was rolled back; Cause says why. The work from
	// its start to here is lost (aborted time).
	KindTxAbort
	// KindConflict: this thread met a conflict of kind Conflict on Var with
	// thread Other. Site is where this side touched the Var (or asked to become
	// inevitable); OtherSite is where the other side wrote it (or became
	// inevitable). The time the conflict costs is not in the event: it is the
	// aborted attempt that follows (KindTxAbort) or the pause that follows
	// (KindWaitStart/KindWaitDone) on the same thread, before its next commit.
	KindConflict
	// KindWaitStart: the thread pauses for Reason.
	KindWaitStart
	// KindWaitDone: the pause begun by the last KindWaitStart of the thread ends.
	KindWaitDone
	// KindBecomeInevitable: the transaction became irrevocable at Site.
	KindBecomeInevitable
	// KindDetach / KindReattach: PyPy-STM c8 only; an inevitable transaction
	// leaves / re-enters the transactional zone (time between is "detached").
	KindDetach
	KindReattach
	// GC events: PyPy-STM only; they overlap transaction time.
	KindGCMinorStart
	KindGCMinorDone
	KindGCMajorStart
	KindGCMajorDone

	numKinds
)

// KindAggregate is not an event of a thread but an aggregate record
// (format version 2, profile level): a Reader returns one as an Event of
// this kind, with Thread and Time (the end of the record's period) set,
// and the record itself from its Aggregate method. It never appears in an
// event batch, and Valid reports false for it, so consumers that skip
// invalid kinds skip aggregates.
const KindAggregate Kind = numKinds

var kindNames = [...]string{
	KindInvalid:          "invalid",
	KindTxStart:          "start",
	KindTxCommit:         "commit",
	KindTxAbort:          "abort",
	KindConflict:         "conflict",
	KindWaitStart:        "wait",
	KindWaitDone:         "wait-done",
	KindBecomeInevitable: "become-inevitable",
	KindDetach:           "detach",
	KindReattach:         "reattach",
	KindGCMinorStart:     "gc-minor-start",
	KindGCMinorDone:      "gc-minor-done",
	KindGCMajorStart:     "gc-major-start",
	KindGCMajorDone:      "gc-major-done",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	if k == KindAggregate {
		return "aggregate"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Valid reports whether k is a kind this version knows.
func (k Kind) Valid() bool { return k > KindInvalid && k < numKinds }

// ConflictKind classifies a conflict the way PyPy-STM's reports do.
type ConflictKind uint8

const (
	ConflictNone ConflictKind = iota
	// ConflictWriteWrite: both transactions wrote the same Var.
	ConflictWriteWrite
	// ConflictWriteRead: this transaction read a Var that the other wrote
	// (and committed) after the read; this side's snapshot is stale.
	ConflictWriteRead
	// ConflictInevitable: this transaction wanted to become inevitable (or to
	// commit) while the other one was inevitable.
	ConflictInevitable

	numConflictKinds
)

var conflictNames = [...]string{
	ConflictNone:       "none",
	ConflictWriteWrite: "write-write",
	ConflictWriteRead:  "write-read",
	ConflictInevitable: "inevitable",
}

func (c ConflictKind) String() string {
	if c < numConflictKinds {
		return conflictNames[c]
	}
	return "conflict(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c names a conflict (not ConflictNone).
func (c ConflictKind) Valid() bool { return c > ConflictNone && c < numConflictKinds }

// ParseConflictKind is the inverse of ConflictKind.String (for CLI flags).
func ParseConflictKind(s string) (ConflictKind, error) {
	for k := ConflictWriteWrite; k < numConflictKinds; k++ {
		if conflictNames[k] == s {
			return k, nil
		}
	}
	return ConflictNone, fmt.Errorf("unknown conflict kind %q (want write-write, write-read or inevitable)", s)
}

// AbortCause says why an attempt was rolled back.
type AbortCause uint8

const (
	AbortUnknown AbortCause = iota
	// AbortConflict: a conflict (the preceding KindConflict event of the
	// thread says which) forced the attempt to restart.
	AbortConflict
	// AbortRetry: the body called Tx.Retry; the thread waits for a change of a
	// Var it read, then runs the body again.
	AbortRetry
	// AbortError: the body returned an error; its writes are discarded and the
	// error returned, the body is not run again.
	AbortError
	// AbortPanic: the body panicked; writes discarded, the panic propagates.
	AbortPanic
	// AbortInevitable: the attempt failed to become inevitable (PyPy c8).
	AbortInevitable

	numAbortCauses
)

var abortNames = [...]string{
	AbortUnknown:    "unknown",
	AbortConflict:   "conflict",
	AbortRetry:      "retry",
	AbortError:      "error",
	AbortPanic:      "panic",
	AbortInevitable: "inevitable",
}

func (c AbortCause) String() string {
	if c < numAbortCauses {
		return abortNames[c]
	}
	return "cause(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is a cause this version knows.
func (c AbortCause) Valid() bool { return c < numAbortCauses }

// WaitReason says why a thread paused.
type WaitReason uint8

const (
	WaitUnknown WaitReason = iota
	// WaitInevitable: waiting for the inevitable transaction of another thread.
	WaitInevitable
	// WaitRetry: Tx.Retry is waiting for a Var it read to change.
	WaitRetry
	// WaitBackoff: contention management sleeps before re-running an attempt.
	WaitBackoff
	// WaitCommitLock: waiting for a Var locked by a committing transaction.
	WaitCommitLock
	// PyPy-STM reasons.
	WaitFreeSegment
	WaitSyncing
	WaitSyncPause
	WaitContention // c7: paused by contention management

	numWaitReasons
)

var waitNames = [...]string{
	WaitUnknown:     "unknown",
	WaitInevitable:  "inevitable",
	WaitRetry:       "retry",
	WaitBackoff:     "backoff",
	WaitCommitLock:  "commit-lock",
	WaitFreeSegment: "free-segment",
	WaitSyncing:     "syncing",
	WaitSyncPause:   "sync-pause",
	WaitContention:  "contention",
}

func (r WaitReason) String() string {
	if r < numWaitReasons {
		return waitNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Valid reports whether r is a reason this version knows.
func (r WaitReason) Valid() bool { return r < numWaitReasons }

// StackID names a Stack within one log. 0 means "no stack". IDs are local to
// a log: when merging logs, compare stacks by content, not by ID.
type StackID uint32

// Event is one thing that happened on one thread. It is a plain comparable
// value (no pointers) so readers can hand out events without allocating;
// stacks and Var names are resolved through the reader (see Source).
type Event struct {
	// Time in nanoseconds since an arbitrary per-log epoch (native logs: the
	// start of recording; PyPy logs: the monotonic clock). Only differences
	// within one log mean anything.
	Time   int64
	Kind   Kind
	Thread uint32 // 1-based; 0 is never a real thread
	// Fields below are meaningful only for some kinds; zero otherwise.
	Conflict    ConflictKind // KindConflict
	Cause       AbortCause   // KindTxAbort
	Reason      WaitReason   // KindWaitStart (and KindWaitDone, when known)
	OtherThread uint32       // KindConflict: the other thread, 0 if unknown
	Var         uint64       // KindConflict: the Var's id, 0 if unknown
	Site        StackID      // KindConflict, KindBecomeInevitable: this side
	OtherSite   StackID      // KindConflict: the other side
}

// Frame is one call site. Line 0 means unknown.
type Frame struct {
	Func string // package-qualified function, e.g. "main.(*Server).handle"
	File string // as recorded (absolute for Go programs)
	Line int
}

func (f Frame) String() string {
	if f.Func == "" {
		return f.File + ":" + strconv.Itoa(f.Line)
	}
	return f.File + ":" + strconv.Itoa(f.Line) + " in " + f.Func
}

// Stack is a call stack, leaf (innermost) first. Label, when not empty, is
// the site's original text (a PyPy marker such as
// `File "x.py", line 3, in f (#7)`); reports that mimic PyPy print it verbatim.
type Stack struct {
	Frames []Frame
	Label  string
}

// Leaf returns the innermost frame, or the zero Frame for an empty stack.
func (s *Stack) Leaf() Frame {
	if s == nil || len(s.Frames) == 0 {
		return Frame{}
	}
	return s.Frames[0]
}

// Key is a canonical text of the stack's content, equal for equal stacks
// across logs; analyzers group by it.
func (s *Stack) Key() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(s.Label)
	for _, f := range s.Frames {
		b.WriteByte('\n')
		b.WriteString(f.Func)
		b.WriteByte('\x00')
		b.WriteString(f.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
	}
	return b.String()
}

// Stats describes what a reader has consumed so far; after Next returns
// io.EOF it describes the whole log.
type Stats struct {
	Format         string // "stmlog/1", "pypy-c8", "pypy-c7", ...
	Bytes          int64  // bytes of input consumed, header included
	Chunks         int64  // complete chunks (native) or records (PyPy) read
	Events         int64  // events returned by Next
	TruncatedBytes int64  // bytes of a cut-off tail that were ignored
	CleanEnd       bool   // the log ended with its end marker (native only)
	Dropped        int64  // events the writer reported as dropped
	Skipped        int64  // damaged chunks skipped under salvage
	SkippedBytes   int64  // bytes in those chunks
	Warnings       []string
}

// Native reports whether the log is in this module's own format (any
// version, or the recorder's live window "stmlog/live"): such logs count
// time from the start of recording and end with an end marker, unlike
// PyPy-STM's. It is the one place that knows how the Format names say so.
func (s Stats) Native() bool { return strings.HasPrefix(s.Format, "stmlog") }

// Source is what every log reader provides: native logs (Reader) and PyPy
// logs (package pypy). Next returns io.EOF at the clean or truncated end of
// the log; any other error is damage, and names the byte offset.
type Source interface {
	Next() (Event, error)
	// Stack resolves a StackID seen in an event already returned; nil for 0
	// or unknown IDs.
	Stack(id StackID) *Stack
	// VarName returns the name given to a Var, or "" if it has none.
	VarName(id uint64) string
	// Offset is the byte offset in the input of the chunk or record that
	// holds the event last returned by Next.
	Offset() int64
	Stats() Stats
}
