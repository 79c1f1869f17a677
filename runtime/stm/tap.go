package stm

import (
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// Taps: the recorder's events, live, in memory.
//
// A sink gets a copy of the events the recorder's flusher writes, decoded,
// as they are written (so within about a flush interval of happening): a
// Tap (a logformat.Source over them, for live profiles) or a
// FlightRecorder. Sinks see sites as the process-wide interned site ids,
// which stay valid across recorders, and resolve them to stacks when they
// need to (siteStack).
//
// While a sink exists, a recorder runs. If the program records (STMLOG,
// StartLog), the sinks share its recorder; if it does not, they start an
// internal one that writes no log, and stop it when the last sink goes.
// StartLog replaces an internal recorder with the program's, and StopLog
// with sinks left starts an internal one again, carrying the sinks over:
// each sink keeps its own time base (its start), so a change of recorder
// only shows as the events that were in flight at that moment missing.
// Nothing costs more than recording while no sink exists: the flusher
// loads one pointer per batch.

// A liveSink receives events from the flusher goroutine: add never blocks
// (a sink that cannot keep up drops and counts). evs are one thread's, in
// order; their times count from epoch (the recorder's start), their Site
// and OtherSite are interned site ids. add must not keep evs.
type liveSink interface {
	add(epoch time.Time, thread uint32, evs []logformat.Event)
	// aggregate gets a profile-level recording's aggregate record (times
	// from epoch, as for add).
	aggregate(epoch time.Time, a logformat.Aggregate)
}

var (
	sinksMu sync.Mutex // taken after recMu: the live sinks
	sinks   []liveSink
)

// setSinks gives r the current sink list (r.sinks is copied on write:
// the flusher loads it once per batch).
func (r *recorder) setSinks() {
	sinksMu.Lock()
	ss := append([]liveSink(nil), sinks...)
	sinksMu.Unlock()
	r.sinks.Store(&ss)
}

func liveSinks() bool {
	sinksMu.Lock()
	defer sinksMu.Unlock()
	return len(sinks) > 0
}

// addSink registers s, starting an internal recorder if none runs ($STMLOG's
// first, if it is set and not started yet).
func addSink(s liveSink) error {
	if !recorderBuilt {
		return errors.New("built with the stmlog_norecord tag, which leaves the recorder out")
	}
	recMu.Lock()
	defer recMu.Unlock()
	startEnvLocked()
	sinksMu.Lock()
	sinks = append(sinks, s)
	sinksMu.Unlock()
	if r := cur.Load(); r != nil {
		r.setSinks()
		return nil
	}
	_, err := newRecorder(io.Discard, nil, true, LevelProfile, false)
	return err
}

// removeSink unregisters s; the internal recorder stops with the last sink.
func removeSink(s liveSink) {
	recMu.Lock()
	defer recMu.Unlock()
	sinksMu.Lock()
	if i := slices.Index(sinks, s); i >= 0 {
		sinks = slices.Delete(sinks, i, i+1)
	}
	left := len(sinks)
	sinksMu.Unlock()
	r := cur.Load()
	if r == nil {
		return
	}
	if r.internal && left == 0 {
		stopLocked(r)
		return
	}
	r.setSinks()
}

// flushSync makes the flusher run once more and waits for it, so that the
// events recorded before the call reach the sinks (at most a few flush
// intervals, for threads inside long transactions).
func flushSync() {
	r := cur.Load()
	if r == nil {
		return
	}
	for range 2 {
		g := r.gen.Load()
		select {
		case r.kick <- struct{}{}:
		default:
		}
		deadline := time.Now().Add(3 * flushInterval)
		for r.gen.Load() == g && time.Now().Before(deadline) && cur.Load() == r {
			time.Sleep(time.Millisecond)
		}
	}
}

// siteStacks caches symbolized interned sites for sinks.
var siteStacks sync.Map // uint32 -> *logformat.Stack

func siteStack(site uint32) *logformat.Stack {
	if site == 0 {
		return nil
	}
	if v, ok := siteStacks.Load(site); ok {
		return v.(*logformat.Stack)
	}
	st := symbolize(sites.pcs(site))
	v, _ := siteStacks.LoadOrStore(site, &st)
	return v.(*logformat.Stack)
}

// varName is the current name of a Var ("" if none).
func varName(id uint64) string {
	namesMu.Lock()
	defer namesMu.Unlock()
	return names[id]
}

// A Tap is a live stream of the recorded conflicts, aborts and pauses,
// from NewTap until Close, as a logformat.Source: an analyzer reading it
// sees what it would see in a profile-level log recorded over that window
// (times count from NewTap): every attempt that met contention, with its
// start, conflicts, pauses and outcome, and the re-runs of aborted ones,
// while the transactions that committed without contention come as
// aggregate records (events of kind logformat.KindAggregate, whose record
// Aggregate returns). It is how runtime/stm/stmhttp builds live
// profiles.
//
// A Tap works whether or not the program records: while any Tap (or
// FlightRecorder) is open and the program does not record, an in-memory
// recording runs for them, and it stops when the last one closes. Taps
// are independent; several may be open at once. Next blocks until events
// arrive or the Tap is closed, so a Tap is read on its own goroutine.
// Events arrive within about 100 ms of happening (the recorder's flush
// interval); a reader that falls more than about a million events behind
// loses events, counted in Stats().Dropped.
type Tap struct {
	start time.Time

	mu      sync.Mutex
	cond    sync.Cond
	q       []tapItem // events not read yet
	qi      int
	agg     logformat.Aggregate // the record of the last event Next returned
	closing bool                // Close was called
	closed  bool                // and has delivered the last events
	dropped int64
	last    map[uint32]int64 // per thread: last time queued (times never go back)
	filter  contendedFilter

	// Reader side.
	events int64
}

// tapItem is a queued event; agg is set for KindAggregate.
type tapItem struct {
	ev  logformat.Event
	agg *logformat.Aggregate
}

// tapCap bounds a Tap's queue of unread events.
const tapCap = 1 << 20

// NewTap opens a Tap. It fails only in builds without the recorder (the
// stmlog_norecord tag).
func NewTap() (*Tap, error) {
	t := &Tap{start: time.Now(), last: map[uint32]int64{}}
	t.cond.L = &t.mu
	if err := addSink(t); err != nil {
		return nil, errors.New("stm: NewTap: " + err.Error())
	}
	return t, nil
}

// queue appends ev to the unread events (t.mu held).
func (t *Tap) queue(ev *logformat.Event) {
	if len(t.q)-t.qi >= tapCap {
		t.dropped++
		return
	}
	t.q = append(t.q, tapItem{ev: *ev})
}

// queueAggregate appends an aggregate record, as a KindAggregate event
// at its end (t.mu held).
func (t *Tap) queueAggregate(a logformat.Aggregate) {
	if len(t.q)-t.qi >= tapCap {
		t.dropped++
		return
	}
	t.q = append(t.q, tapItem{ev: logformat.Event{Kind: logformat.KindAggregate, Thread: a.Thread, Time: a.End}, agg: &a})
}

func (t *Tap) aggregate(epoch time.Time, a logformat.Aggregate) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if a, ok := shiftAggregate(a, int64(epoch.Sub(t.start))); ok {
		t.queueAggregate(a)
		t.cond.Broadcast()
	}
}

// shiftAggregate moves a record to a sink's clock (off added), clipped at
// the sink's start; false if it ends before.
func shiftAggregate(a logformat.Aggregate, off int64) (logformat.Aggregate, bool) {
	a.Start += off
	a.End += off
	if a.End < 0 {
		return a, false
	}
	a.Start = max(a.Start, 0)
	return a, true
}

func (t *Tap) add(epoch time.Time, thread uint32, evs []logformat.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.filter.slot(thread).feed(evs, int64(epoch.Sub(t.start)), thread, t.last, t.queue, t.queueAggregate)
	t.cond.Broadcast()
}

// Close ends the Tap: the events recorded until now are still delivered
// (Close waits up to a few flush intervals for them), then Next returns
// io.EOF. Closing twice is an error.
func (t *Tap) Close() error {
	t.mu.Lock()
	closing := t.closing
	t.closing = true
	t.mu.Unlock()
	if closing {
		return errors.New("stm: Tap.Close: already closed")
	}
	flushSync()
	removeSink(t)
	t.mu.Lock()
	t.closed = true
	t.cond.Broadcast()
	t.mu.Unlock()
	return nil
}

// Next returns the next event, blocking until there is one; io.EOF once
// the Tap is closed and drained. Sites are resolved by Stack.
func (t *Tap) Next() (logformat.Event, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.qi == len(t.q) {
		if t.closed {
			return logformat.Event{}, io.EOF
		}
		t.cond.Wait()
	}
	it := t.q[t.qi]
	t.q[t.qi] = tapItem{}
	t.qi++
	if it.agg != nil {
		t.agg = *it.agg
	}
	if t.qi == len(t.q) {
		t.q, t.qi = t.q[:0], 0
	} else if t.qi > 4096 && t.qi*2 > len(t.q) {
		n := copy(t.q, t.q[t.qi:])
		t.q, t.qi = t.q[:n], 0
	}
	t.events++
	return it.ev, nil
}

// Aggregate returns the aggregate record of the last event Next returned,
// when it is of kind logformat.KindAggregate (logformat.AggregateSource).
func (t *Tap) Aggregate() logformat.Aggregate {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.agg
}

// Stack resolves an event's site.
func (t *Tap) Stack(id logformat.StackID) *logformat.Stack { return siteStack(uint32(id)) }

// VarName returns a Var's current name.
func (t *Tap) VarName(id uint64) string { return varName(id) }

// Offset is the number of events returned so far (a Tap has no bytes).
func (t *Tap) Offset() int64 { return t.events }

// Stats reports what the Tap delivered. A closed Tap counts as a log with
// its end marker.
func (t *Tap) Stats() logformat.Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return logformat.Stats{Format: "stmlog/live", Events: t.events, Dropped: t.dropped,
		CleanEnd: t.closed}
}

// Start is when the Tap opened: the time its events count from.
func (t *Tap) Start() time.Time { return t.start }
