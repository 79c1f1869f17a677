package timeline

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// DefaultMaxEvents caps a timeline: the trace viewers become unusable
// well before a million slices, and the JSON is ~150 bytes per event.
const DefaultMaxEvents = 1_000_000

// Options selects what a timeline shows.
type Options struct {
	// Name labels the process track (usually the log's file name).
	Name string
	// From and To select a window relative to the start of the log, as
	// in package analyze: time 0 of a native log (the start of recording),
	// the first record of a PyPy log. Slices that overlap it are written
	// whole. 0 means no bound.
	From, To time.Duration
	// Threads, when not empty, keeps only these threads.
	Threads []uint32
	// MaxEvents stops the trace after this many trace events (0 means
	// DefaultMaxEvents, negative means no cap).
	MaxEvents int
}

// Stats says what a timeline contains.
type Stats struct {
	TraceEvents int64 // JSON trace events written, metadata included
	Capped      bool  // stopped at MaxEvents; the trace is a prefix of the log
	CappedAt    int64 // log time (ns, relative to the start of the log, as From) of the cap
	// Origin is the trace time (ns) of the start of the log, which From,
	// To and CappedAt count from: 0 for native logs, the first record's
	// clock reading for PyPy's.
	Origin int64

	Commits    int64 // attempt slices by outcome
	Aborts     int64
	Inevitable int64 // committed (or detached) after becoming inevitable
	Unfinished int64
	Pauses     int64
	Conflicts  int64
	Flows      int64
	Threads    int // tracks: threads with something in the trace
	// Unlogged counts the transactions a profile-level log only counts, in
	// its aggregate records (committed without meeting contention): they
	// are in no trace.
	Unlogged    uint64
	SourceStats logformat.Stats
}

// Attempt slice names; the names are what Perfetto colours by.
const (
	nameCommit     = "commit"
	nameAbort      = "abort"
	nameInevitable = "inevitable"
	nameUnfinished = "unfinished"
)

// sliceColor is the chrome://tracing colour (reserved cname) of a slice.
var sliceColor = map[string]string{
	nameCommit:     "good",                // green
	nameAbort:      "bad",                 // red
	nameInevitable: "thread_state_iowait", // orange
	nameUnfinished: "grey",
}

type writer struct {
	w       *bufio.Writer
	src     logformat.Source
	opt     Options
	max     int64
	origin  int64
	lo, hi  int64 // absolute window
	threads map[uint32]*threadState
	keep    map[uint32]bool
	sites   map[logformat.StackID]string
	quoted  map[logformat.StackID]string // sites as JSON strings
	buf     []byte
	abuf    []byte // args being built
	first   bool   // no trace event written yet (for commas)
	flowID  uint64
	now     int64 // time of the event being handled
	// Names and args built once per log rather than per event.
	pauseNames, pauseArgs, conflictNames [256]string
	stats                                Stats
	err                                  error
}

// Write reads src to the end and writes its timeline to w as
// Chrome trace event JSON. The JSON is complete and valid even when the log
// is damaged: the error from src is returned after the trace is closed.
func Write(w io.Writer, src logformat.Source, opt Options) (Stats, error) {
	cw := &writer{
		w:       bufio.NewWriterSize(w, 1<<16),
		src:     src,
		opt:     opt,
		threads: make(map[uint32]*threadState),
		sites:   make(map[logformat.StackID]string),
		quoted:  make(map[logformat.StackID]string),
		first:   true,
	}
	switch {
	case opt.MaxEvents == 0:
		cw.max = DefaultMaxEvents
	case opt.MaxEvents < 0:
		cw.max = -1
	default:
		cw.max = int64(opt.MaxEvents)
	}
	if len(opt.Threads) > 0 {
		cw.keep = make(map[uint32]bool, len(opt.Threads))
		for _, t := range opt.Threads {
			cw.keep[t] = true
		}
	}
	readErr := cw.run()
	cw.finish()
	if err := cw.w.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	cw.stats.SourceStats = src.Stats()
	for _, t := range cw.threads {
		if t.named {
			cw.stats.Threads++
		}
	}
	if cw.err != nil {
		return cw.stats, cw.err
	}
	return cw.stats, readErr
}

func (cw *writer) run() error {
	cw.raw(`{"displayTimeUnit":"ns","traceEvents":[`)
	name := cw.opt.Name
	if name == "" {
		name = "log"
	}
	cw.meta(0, "process_name", "stmlog "+name)
	started := false
	for cw.err == nil && !cw.stats.Capped {
		ev, err := cw.src.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !started {
			// The log's time 0, as in package analyze (and so stmlog
			// report): the start of recording for native logs, whose
			// first event read need not be the earliest; the first
			// record for PyPy's.
			started = true
			if !cw.src.Stats().Native() {
				cw.origin = ev.Time
			}
			cw.stats.Origin = cw.origin
			cw.lo, cw.hi = -1<<63, 1<<63-1
			if cw.opt.From > 0 {
				cw.lo = cw.origin + int64(cw.opt.From)
			}
			if cw.opt.To > 0 {
				cw.hi = cw.origin + int64(cw.opt.To)
			}
		}
		cw.event(ev)
	}
	return nil
}

func (cw *writer) thread(id uint32) *threadState {
	t := cw.threads[id]
	if t != nil {
		return t
	}
	t = &threadState{included: cw.keep == nil || cw.keep[id]}
	cw.threads[id] = t
	return t
}

// track names thread id's track before its first trace event, so that
// threads with nothing in the window or filter get no empty track.
func (cw *writer) track(id uint32) {
	t := cw.threads[id]
	if t == nil || t.named {
		return
	}
	t.named = true
	cw.meta(id, "thread_name", "thread "+strconv.FormatUint(uint64(id), 10))
	cw.metaSort(id)
}

// String renders the stats as the CLI's one-line summary.
func (s Stats) String() string {
	return fmt.Sprintf("%d threads, %d commits, %d aborts, %d inevitable, %d pauses, %d conflicts (%d trace events)",
		s.Threads, s.Commits, s.Aborts, s.Inevitable, s.Pauses, s.Conflicts, s.TraceEvents)
}
