package stm

import (
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// FlightRecorderConfig sizes a FlightRecorder's window, as
// runtime/trace.FlightRecorderConfig does for execution traces.
type FlightRecorderConfig struct {
	// MinAge is how far back the window should reach: events younger than
	// MinAge are kept unless MaxBytes says otherwise. 0 means 10 seconds.
	MinAge time.Duration
	// MaxBytes bounds the memory the window takes (the events held, at
	// their in-memory size, which is several times their size in a log);
	// it wins over MinAge. 0 means 16 MiB.
	MaxBytes uint64
}

// A FlightRecorder keeps the last MinAge (or MaxBytes) of conflicts,
// aborts and pauses in memory, so that an incident can be written to a log
// after it happened (WriteTo) and read with `stmlog report`. Like the
// profile level of recording it keeps every transaction that met
// contention in full (its attempts, conflicts, pauses and outcome) and
// counts the others in aggregate records, so a report of its log has the
// lost time, the conflicts and the commits of the window.
//
// It is modelled on runtime/trace.FlightRecorder: at most one runs at a
// time, Start and Stop switch it, and WriteTo takes a snapshot. While it
// runs, events are recorded: the program's recording if there is one
// (STMLOG, StartLog), an in-memory one otherwise (see Tap).
// runtime/stm/stmhttp serves the running one at /debug/pprof/stmflight.
type FlightRecorder struct {
	cfg FlightRecorderConfig

	ctl sync.Mutex // Start, Stop
	wmu sync.Mutex // held by WriteTo; Stop waits for it

	mu     sync.Mutex
	on     bool
	start  time.Time
	segs   []*flightSeg
	bytes  uint64
	last   map[uint32]int64 // per thread: last time kept
	filter contendedFilter
}

// flightSeg is a stretch of the window, dropped whole when it is too old.
type flightSeg struct {
	from, to int64 // times of its first and last events (ns since Start)
	evs      []logformat.Event
	aggs     []logformat.Aggregate // the transactions left out, counted
}

const (
	eventBytes = uint64(unsafe.Sizeof(logformat.Event{}))
	aggBytes   = uint64(unsafe.Sizeof(logformat.Aggregate{}))
)

// activeFlight is the running FlightRecorder (at most one).
var activeFlight atomic.Pointer[FlightRecorder]

// ErrFlightSnapshotActive is WriteTo's error when another WriteTo of the
// same FlightRecorder is in progress.
var ErrFlightSnapshotActive = errors.New("stm: FlightRecorder.WriteTo: another WriteTo is in progress")

// NewFlightRecorder returns a FlightRecorder with the given window; it
// records nothing until Start.
func NewFlightRecorder(cfg FlightRecorderConfig) *FlightRecorder {
	if cfg.MinAge <= 0 {
		cfg.MinAge = 10 * time.Second
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 16 << 20
	}
	return &FlightRecorder{cfg: cfg}
}

// ActiveFlightRecorder returns the running FlightRecorder, or nil.
func ActiveFlightRecorder() *FlightRecorder { return activeFlight.Load() }

// Start starts keeping events. It fails if fr runs already, if another
// FlightRecorder runs, or in builds without the recorder.
func (fr *FlightRecorder) Start() error {
	fr.ctl.Lock()
	defer fr.ctl.Unlock()
	fr.mu.Lock()
	if fr.on {
		fr.mu.Unlock()
		return errors.New("stm: FlightRecorder.Start: already started")
	}
	if !activeFlight.CompareAndSwap(nil, fr) {
		fr.mu.Unlock()
		return errors.New("stm: FlightRecorder.Start: another flight recorder is running")
	}
	fr.start = time.Now()
	fr.segs, fr.bytes = nil, 0
	fr.last = map[uint32]int64{}
	fr.filter = contendedFilter{}
	fr.on = true
	fr.mu.Unlock()
	if err := addSink(fr); err != nil {
		fr.mu.Lock()
		fr.on = false
		fr.mu.Unlock()
		activeFlight.CompareAndSwap(fr, nil)
		return errors.New("stm: FlightRecorder.Start: " + err.Error())
	}
	return nil
}

// Stop stops keeping events and drops the window; it waits for a WriteTo
// in progress. Stopping a FlightRecorder that does not run does nothing.
func (fr *FlightRecorder) Stop() {
	fr.wmu.Lock()
	defer fr.wmu.Unlock()
	fr.ctl.Lock()
	defer fr.ctl.Unlock()
	fr.mu.Lock()
	on := fr.on
	fr.on = false
	fr.mu.Unlock()
	if !on {
		return
	}
	removeSink(fr)
	activeFlight.CompareAndSwap(fr, nil)
	fr.mu.Lock()
	fr.segs, fr.bytes, fr.last, fr.filter = nil, 0, nil, contendedFilter{}
	fr.mu.Unlock()
}

// Enabled reports whether fr runs.
func (fr *FlightRecorder) Enabled() bool {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return fr.on
}

func (fr *FlightRecorder) add(epoch time.Time, thread uint32, evs []logformat.Event) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if !fr.on {
		return
	}
	fr.filter.slot(thread).feed(evs, int64(epoch.Sub(fr.start)), thread, fr.last, fr.keep, fr.keepAggregate)
	fr.trim()
}

func (fr *FlightRecorder) aggregate(epoch time.Time, a logformat.Aggregate) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if !fr.on {
		return
	}
	if a, ok := shiftAggregate(a, int64(epoch.Sub(fr.start))); ok {
		fr.keepAggregate(a)
		fr.trim()
	}
}

// segment returns the segment for something at time t.
func (fr *FlightRecorder) segment(t int64) *flightSeg {
	segLen := max(int64(fr.cfg.MinAge/8), int64(flushInterval))
	n := len(fr.segs)
	if n == 0 || t-fr.segs[n-1].from >= segLen {
		fr.segs = append(fr.segs, &flightSeg{from: t, to: t})
		n++
	}
	s := fr.segs[n-1]
	s.to = max(s.to, t)
	return s
}

func (fr *FlightRecorder) keepAggregate(a logformat.Aggregate) {
	s := fr.segment(a.End)
	s.aggs = append(s.aggs, a)
	fr.bytes += aggBytes
}

// keep appends ev to the window, in a new segment every eighth of MinAge.
func (fr *FlightRecorder) keep(ev *logformat.Event) {
	s := fr.segment(ev.Time)
	s.evs = append(s.evs, *ev)
	fr.bytes += eventBytes
}

// trim drops the oldest segment while all its events are older than
// MinAge, or while the window is over MaxBytes. The newest segment stays.
func (fr *FlightRecorder) trim() {
	for len(fr.segs) > 1 {
		newest := fr.segs[len(fr.segs)-1].to
		if fr.bytes <= fr.cfg.MaxBytes && fr.segs[0].to >= newest-int64(fr.cfg.MinAge) {
			return
		}
		fr.bytes -= uint64(len(fr.segs[0].evs))*eventBytes + uint64(len(fr.segs[0].aggs))*aggBytes
		fr.segs[0] = nil
		fr.segs = fr.segs[1:]
	}
}

// WriteTo writes the window as a native stmlog log (package logformat),
// with times counted from the window's oldest event, and returns the
// bytes written. It first waits for the events recorded until the call to
// reach the window (about a flush interval). It fails if fr does not run
// or another WriteTo is in progress.
func (fr *FlightRecorder) WriteTo(w io.Writer) (int64, error) {
	if !fr.wmu.TryLock() {
		return 0, ErrFlightSnapshotActive
	}
	defer fr.wmu.Unlock()
	if !fr.Enabled() {
		return 0, errors.New("stm: FlightRecorder.WriteTo: the flight recorder is not running")
	}
	flushSync()
	fr.mu.Lock()
	type part struct {
		evs  []logformat.Event
		aggs []logformat.Aggregate
	}
	var parts []part
	base := int64(-1)
	for _, s := range fr.segs {
		parts = append(parts, part{s.evs[:len(s.evs):len(s.evs)], s.aggs[:len(s.aggs):len(s.aggs)]})
		if base < 0 {
			base = s.from
		}
	}
	fr.mu.Unlock()
	base = max(base, 0)
	for _, p := range parts {
		for _, a := range p.aggs {
			base = min(base, a.Start)
		}
	}

	cw := &countWriter{w: w}
	lw, err := logformat.NewWriterMeta(cw, logformat.Meta{Level: logformat.LevelProfile,
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()})
	if err != nil {
		return cw.n, err
	}
	stacks := map[logformat.StackID]logformat.StackID{0: 0}
	named := map[uint64]bool{}
	stack := func(site logformat.StackID) logformat.StackID {
		id, ok := stacks[site]
		if !ok {
			id = 0
			if st := siteStack(uint32(site)); st != nil {
				id = lw.Stack(*st)
			}
			stacks[site] = id
		}
		return id
	}
	for _, p := range parts {
		for i := range p.evs {
			ev := p.evs[i]
			ev.Time -= base
			ev.Site, ev.OtherSite = stack(ev.Site), stack(ev.OtherSite)
			if ev.Var != 0 && !named[ev.Var] {
				named[ev.Var] = true
				if name := varName(ev.Var); name != "" {
					lw.NameVar(ev.Var, name)
				}
			}
			if err := lw.Write(&ev); err != nil {
				return cw.n, err
			}
		}
		for _, a := range p.aggs {
			a.Start -= base
			a.End -= base
			if err := lw.Aggregate(a); err != nil {
				return cw.n, err
			}
		}
	}
	err = lw.Close()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// contendedFilter keeps what a profile-level recording keeps: the events
// of attempts that met contention (a conflict, a pause, an abort) and of
// the re-runs that follow an abort, and not the start and commit of the
// transactions that met none. It holds each
// thread's last start back until the next event says which it is. The
// flusher hands over one thread's events at a time, so a batch looks its
// thread up once (slot).
type contendedFilter struct {
	pending map[uint32]*heldStart
}

type heldStart struct {
	ev    logformat.Event
	has   bool                // ev is a start held back
	rerun bool                // the thread's last attempt aborted: keep its next ones
	agg   logformat.Aggregate // the transactions left out, timed exactly
}

// takeAggregate returns (and forgets) the record of the transactions the
// filter left out since the last call, if any: a log of the window then
// still counts every commit, as a profile-level log does.
func (h *heldStart) takeAggregate(thread uint32) (logformat.Aggregate, bool) {
	a := h.agg
	h.agg = logformat.Aggregate{}
	a.Thread = thread
	return a, a.Commits > 0
}

func (f *contendedFilter) slot(thread uint32) *heldStart {
	h := f.pending[thread]
	if h == nil {
		if f.pending == nil {
			f.pending = map[uint32]*heldStart{}
		}
		h = new(heldStart)
		f.pending[thread] = h
	}
	return h
}

// next passes ev through the filter: it puts what is kept, in order, in
// out and returns how many (0, 1 or 2).
func (h *heldStart) next(ev *logformat.Event, out *[2]logformat.Event) int {
	n := 0
	switch ev.Kind {
	case logformat.KindTxStart:
		if h.has {
			out[n] = h.ev // a start without an end: kept, as a log would
			n++
		}
		if h.rerun {
			// The re-run of an aborted transaction: kept, so that the
			// contended transactions' commits and run time are counted.
			h.has = false
			out[n] = *ev
			return n + 1
		}
		h.ev, h.has = *ev, true
		return n
	case logformat.KindTxCommit:
		if h.has {
			h.has = false // met no contention: counted, not kept
			if h.agg.Commits == 0 {
				h.agg.Start = h.ev.Time
			}
			h.agg.End = ev.Time
			h.agg.Commits++
			h.agg.Timed++
			h.agg.TimedNs += ev.Time - h.ev.Time
			return 0
		}
		h.rerun = false
		out[0] = *ev
		return 1
	}
	if h.has {
		h.has = false
		out[n] = h.ev
		n++
	}
	if ev.Kind == logformat.KindTxAbort {
		h.rerun = true
	}
	out[n] = *ev
	return n + 1
}

// feed passes a flushed batch of one thread's events through h to a sink:
// times moved to the sink's clock (off added), events from before the sink
// opened dropped, and times kept non-decreasing per thread across batches
// (last holds each thread's latest), since a sink's log must read as one
// ordered stream. keep gets the events h lets through, keepAggregate the
// record of the transactions it held back.
func (h *heldStart) feed(evs []logformat.Event, off int64, thread uint32, last map[uint32]int64,
	keep func(*logformat.Event), keepAggregate func(logformat.Aggregate)) {
	prev, seen := last[thread]
	for i := range evs {
		ev := evs[i]
		ev.Time += off
		if ev.Time < 0 {
			continue // recorded before the sink opened
		}
		if seen && ev.Time < prev {
			ev.Time = prev
		}
		prev, seen = ev.Time, true
		var out [2]logformat.Event
		for _, k := range out[:h.next(&ev, &out)] {
			keep(&k)
		}
	}
	if seen {
		last[thread] = prev
	}
	if a, ok := h.takeAggregate(thread); ok {
		keepAggregate(a)
	}
}
