// Package logtest is the test kit of the packages that read logs (analyze,
// report, timeline, cmd/stmlog): an in-memory logformat.Source and builders
// of events and stacks, so that a test states the events it means instead
// of writing a log file and reading it back, and every package's tests
// build them the same way. Logs that look like a real program's are made
// by package analyze/analyzetest; Source.Encode writes a Source as a native
// log for the tests that need a file.
package logtest

import (
	"bytes"
	"io"
	"maps"
	"os"
	"slices"

	lf "github.com/stmlog/stmlog/logformat"
)

// Source is a logformat.Source over events held in memory.
type Source struct {
	Events []lf.Event
	Stacks map[lf.StackID]*lf.Stack
	Vars   map[uint64]string
	// Err is returned after the events instead of io.EOF (damage).
	Err error
	// Stat is what Stats returns, with Events set to the events read so
	// far and Format "test" when it is "" (a format that is not native, so
	// no end marker is expected).
	Stat lf.Stats
	// Meta and Aggregates go into the log Encode writes (a profile-level
	// log's level, processors and aggregate records, after the events);
	// Next does not return them.
	Meta       lf.Meta
	Aggregates []lf.Aggregate
	// FlushAt are indices into Events before which Encode flushes the
	// writer, so that the log's chunks are cut there as a recording's
	// are every flush period (else each thread's events are one chunk's).
	FlushAt []int

	i int
}

// Next returns the next event, then Err or io.EOF.
func (s *Source) Next() (lf.Event, error) {
	if s.i >= len(s.Events) {
		if s.Err != nil {
			return lf.Event{}, s.Err
		}
		return lf.Event{}, io.EOF
	}
	s.i++
	return s.Events[s.i-1], nil
}

// NextN returns up to n of the next events (at least one), then what Next
// returns at the end: for tests of the batch path (logformat.BatchSource).
func (s *Source) NextN(n int) ([]lf.Event, error) {
	if s.i >= len(s.Events) {
		_, err := s.Next()
		return nil, err
	}
	n = max(1, min(n, len(s.Events)-s.i))
	evs := s.Events[s.i : s.i+n]
	s.i += n
	return evs, nil
}

// Rewind starts the events over (benchmarks read them again each round).
func (s *Source) Rewind() { s.i = 0 }

// Read is how many events were returned so far.
func (s *Source) Read() int { return s.i }

func (s *Source) Stack(id lf.StackID) *lf.Stack { return s.Stacks[id] }
func (s *Source) VarName(id uint64) string      { return s.Vars[id] }

// Offset is the number of events returned so far: distinct per event, as a
// byte offset would be.
func (s *Source) Offset() int64 { return int64(s.i) }

func (s *Source) Stats() lf.Stats {
	st := s.Stat
	if st.Format == "" {
		st.Format = "test"
	}
	st.Events = int64(s.i)
	return st
}

// Encode writes the events as a native log (the stacks they name and the
// Vars' names with them), for tests that need a file: the command line
// reads files. Stack ids are the writer's own in the log; the events keep
// naming the same stacks. Meta.Usage, when set, is the log's last record.
// The log ends with its end marker.
func (s *Source) Encode(w io.Writer) error {
	lw, err := lf.NewWriterMeta(w, s.Meta)
	if err != nil {
		return err
	}
	ids := map[lf.StackID]lf.StackID{}
	stack := func(id lf.StackID) lf.StackID {
		if id == 0 || s.Stacks[id] == nil {
			return 0
		}
		if n, ok := ids[id]; ok {
			return n
		}
		n := lw.Stack(*s.Stacks[id])
		ids[id] = n
		return n
	}
	for _, id := range slices.Sorted(maps.Keys(s.Vars)) {
		lw.NameVar(id, s.Vars[id])
	}
	for i, ev := range s.Events {
		if slices.Contains(s.FlushAt, i) {
			if err := lw.Flush(); err != nil {
				return err
			}
		}
		ev.Site, ev.OtherSite = stack(ev.Site), stack(ev.OtherSite)
		if err := lw.Write(&ev); err != nil {
			return err
		}
	}
	for _, a := range s.Aggregates {
		if err := lw.Aggregate(a); err != nil {
			return err
		}
	}
	if s.Meta.Usage != (lf.Usage{}) {
		if err := lw.Usage(s.Meta.Usage); err != nil {
			return err
		}
	}
	return lw.Close()
}

// WriteFile writes the events to path as Encode does.
func (s *Source) WriteFile(path string) error {
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Native is the Stats of a whole native log: set Source.Stat to it where
// the format matters (a native log without its end marker is damaged).
var Native = lf.Stats{Format: "stmlog/2", CleanEnd: true}

// Frame is a stack frame.
func Frame(fn, file string, line int) lf.Frame { return lf.Frame{Func: fn, File: file, Line: line} }

// Stack is a stack of the frames given, innermost first.
func Stack(frames ...lf.Frame) *lf.Stack { return &lf.Stack{Frames: frames} }

// Label is a stack with a label and no frames (a PyPy-STM marker).
func Label(text string) *lf.Stack { return &lf.Stack{Label: text} }

// Event builders: time, thread, then what the kind needs.

func Start(t int64, th uint32) lf.Event  { return lf.Event{Time: t, Kind: lf.KindTxStart, Thread: th} }
func Commit(t int64, th uint32) lf.Event { return lf.Event{Time: t, Kind: lf.KindTxCommit, Thread: th} }

func Abort(t int64, th uint32, c lf.AbortCause) lf.Event {
	return lf.Event{Time: t, Kind: lf.KindTxAbort, Thread: th, Cause: c}
}

// Conflict is a conflict that thread th met at site, against thread oth at
// other, on Var v (0: none).
func Conflict(t int64, th uint32, k lf.ConflictKind, site, other lf.StackID, oth uint32, v uint64) lf.Event {
	return lf.Event{Time: t, Kind: lf.KindConflict, Thread: th, Conflict: k, Site: site, OtherSite: other, OtherThread: oth, Var: v}
}

func Wait(t int64, th uint32, r lf.WaitReason) lf.Event {
	return lf.Event{Time: t, Kind: lf.KindWaitStart, Thread: th, Reason: r}
}

func WaitDone(t int64, th uint32) lf.Event {
	return lf.Event{Time: t, Kind: lf.KindWaitDone, Thread: th}
}

func Inevitable(t int64, th uint32, site lf.StackID) lf.Event {
	return lf.Event{Time: t, Kind: lf.KindBecomeInevitable, Thread: th, Site: site}
}
