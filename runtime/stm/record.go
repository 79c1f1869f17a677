package stm

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// Recording (STMLOG).
//
// When recording is off, transactions test one atomic.Bool at their start
// and one nil pointer (tx.rec) wherever recording would do something.
//
// When it is on, every transaction runs on a "thread" (threadRec) that has
// an event buffer. A logged call appends to it without contention: only
// the thread's goroutine writes it, and publishes how many of its entries
// are complete (threadRec.pub, a plain store); a call that is only counted
// (profile level) takes nothing and adds to the thread's counters, which
// only its goroutine writes. A flusher goroutine wakes every
// flushInterval, takes the buffers threads handed over and copies out the
// published part of each current one (under the thread's qmu, held for a
// few instructions: it never waits for user code), hands them to the
// single logformat.Writer, then flushes it, so the file grows by whole
// chunks. A committing
// transaction never waits for I/O: a full buffer drops events and counts
// them (Writer.Dropped).
//
// Levels. At the full level every attempt is logged as events. At the
// profile level (the default) only the Atomically calls that meet
// contention are; the others are counted per thread and written as
// aggregate records at every flush (recprofile.go). The
// flush interval is short so that a program that exits without StopLog
// (Go has no exit hook) loses little: events reach the file within two
// intervals, counts within one.

const (
	maxDepth      = 32
	flushInterval = 10 * time.Millisecond
	// Events per buffer handed to the flusher (16 KB). Smaller buffers are
	// handed over more often but stay warm in cache (BENCHMARKS.md,
	// runtime section, has the A/B that chose this size).
	handoffSize = 1024
	maxQueued   = 256 // buffers a thread may have waiting; then events are dropped
	// Buffers a thread may have waiting before a full-level call that
	// hands one over yields to the flusher (runFull, runGeneral).
	yieldQueued = 2
)

type recorder struct {
	w     *logformat.Writer
	file  *os.File // set when the recorder opened the file (STMLOG)
	epoch time.Time
	tick0 int64         // cputicks() at epoch
	kick  chan struct{} // a buffer was handed over full: flush now
	// flushedAt is the time (ticks) the last flush began, and due the
	// ticks after which the next one is late (1.5 flush intervals;
	// MaxInt64, never, until the first flush has measured the rate): see
	// nudgeFlusher.
	flushedAt, due atomic.Int64
	gen            atomic.Uint32 // incremented by every flush
	// behind: a call on the general path handed a buffer over with
	// yieldQueued or more waiting (emitAt); runGeneral yields once.
	behind atomic.Bool
	freeMu sync.Mutex
	free2  [][]rawEvent // recycled buffers
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex // threads, free, next
	thrs   []*threadRec
	byID   atomic.Pointer[[]*threadRec] // thrs as of its last append: thrs[id-1] is thread id
	free   []*threadRec
	next   uint32
	byG    sync.Map // curg() -> *threadRec: goroutines' threads, never freed
	err    error    // first write error
	warned bool

	level Level
	full  bool // level == LevelFull
	// fullMode is a full-level call's txProf.mode: modeFullSites when
	// every Store's site is captured (WithEverySite), else modeFull.
	fullMode uint8

	// Live sinks (tap.go). internal: started for them, writes no log.
	internal bool
	sinks    atomic.Pointer[[]liveSink]

	// Owned by the flusher goroutine (and by StopLog after it stopped).
	sinkBuf  []logformat.Event
	curBuf   []rawEvent // flush's copy of a thread's current buffer's published events
	stackIDs map[uint32]logformat.StackID
	written  map[uint64]string // Var names given to the Writer
	namesGen uint64
	usage    usageMeter
}

var (
	cur    atomic.Pointer[recorder]
	recMu  sync.Mutex // StartLog / StopLog
	envErr error
)

// envPath is $STMLOG with %p expanded, read once at start-up. The file is
// only created by the first transaction (startEnv), so that a program which
// merely links runtime/stm — the stmlog tool itself, say — never truncates
// the log named in its environment.
var (
	envPath  string
	envLevel = LevelProfile
	envSites bool // STMLOG_SITES=all
	envOnce  sync.Once
)

func init() {
	path := os.Getenv("STMLOG")
	if path == "" {
		return
	}
	envPath = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
	lv, ok := parseLevel(os.Getenv("STMLOG_EVENTS"))
	if !ok {
		fmt.Fprintf(os.Stderr, "stm: STMLOG_EVENTS=%s: want all or profile (recording at the profile level)\n", os.Getenv("STMLOG_EVENTS"))
	}
	envLevel = lv
	all, ok := parseSites(os.Getenv("STMLOG_SITES"))
	if !ok {
		fmt.Fprintf(os.Stderr, "stm: STMLOG_SITES=%s: want all or contended (capturing the sites of contended Vars)\n", os.Getenv("STMLOG_SITES"))
	}
	envSites = all
	// The hot path tests only recording; recBegin finds no recorder yet
	// and calls startEnv.
	recording.Store(true)
}

// startEnv opens $STMLOG and starts recording to it, once. A path that
// cannot be created costs one line on stderr; the program runs unrecorded.
func startEnv() {
	recMu.Lock()
	defer recMu.Unlock()
	startEnvLocked()
}

// startEnvLocked is startEnv with recMu held (tap.go starts STMLOG's
// recorder before an internal one).
func startEnvLocked() {
	envOnce.Do(func() {
		if envPath == "" || (cur.Load() != nil && !cur.Load().internal) {
			return
		}
		f, err := os.Create(envPath)
		if err == nil {
			err = startLogLocked(f, f, logConfig{level: envLevel, everySite: envSites})
		}
		if err == nil {
			catchSignals() // signals.go
		}
		if err != nil {
			envErr = err
			if f != nil {
				f.Close()
			}
			recording.Store(cur.Load() != nil)
			fmt.Fprintf(os.Stderr, "stm: STMLOG=%s: cannot record: %v (running unrecorded)\n", envPath, err)
		}
	})
}

// StartLog starts recording events to w, in the native log format (see
// package logformat), at the profile level unless an option says
// otherwise. Recording stays on until StopLog. It fails if recording is
// already on (for example because STMLOG is set).
func StartLog(w io.Writer, opts ...LogOption) error {
	c := logConfig{level: LevelProfile}
	for _, o := range opts {
		o(&c)
	}
	if c.level != LevelProfile && c.level != LevelFull {
		return fmt.Errorf("stm: StartLog: unknown level %v", c.level)
	}
	if !recorderBuilt {
		return errors.New("stm: StartLog: built with the stmlog_norecord tag, which leaves the recorder out")
	}
	recMu.Lock()
	defer recMu.Unlock()
	return startLogLocked(w, nil, c)
}

func startLogLocked(w io.Writer, f *os.File, c logConfig) error {
	if r := cur.Load(); r != nil {
		if !r.internal {
			return errors.New("stm: StartLog: already recording")
		}
		stopLocked(r) // the live sinks' recorder: they move to this one
	}
	if _, err := newRecorder(w, f, false, c.level, c.everySite); err != nil {
		return fmt.Errorf("stm: StartLog: %w", err)
	}
	return nil
}

// newRecorder starts recording to w (with recMu held). An internal
// recorder (tap.go) serves live sinks only and writes no log.
func newRecorder(w io.Writer, f *os.File, internal bool, level Level, everySite bool) (*recorder, error) {
	lw, err := logformat.NewWriterMeta(w, logformat.Meta{
		Level: level, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
	})
	if err != nil {
		return nil, err
	}
	measureTickCost()
	r := &recorder{
		w: lw, file: f, epoch: time.Now(), tick0: cputicks(),
		stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1),
		stackIDs: make(map[uint32]logformat.StackID),
		written:  make(map[uint64]string),
		namesGen: ^uint64(0),
		internal: internal,
		level:    level,
		full:     level == LevelFull,
		fullMode: modeFull,
		usage:    newUsageMeter(),
	}
	if everySite {
		r.fullMode = modeFullSites
	}
	r.due.Store(math.MaxInt64) // no nudge before the first flush
	r.setSinks()
	cur.Store(r)
	recording.Store(true)
	go r.flusher()
	return r, nil
}

// StopLog stops recording, writes what is buffered and the log's end
// marker, and closes the file if the recorder opened it (STMLOG). Events of
// transactions running at that moment may be left out. A program recorded
// through STMLOG should call StopLog before it exits, or the log ends
// without its end marker (readers then report a truncated log; at most the
// last flush interval is lost).
func StopLog() error {
	recMu.Lock()
	defer recMu.Unlock()
	r := cur.Load()
	if r == nil || r.internal {
		return errors.New("stm: StopLog: not recording")
	}
	err := stopLocked(r)
	if liveSinks() {
		newRecorder(io.Discard, nil, true, LevelProfile, false) // cannot fail: io.Discard takes the header
	}
	if err != nil {
		return fmt.Errorf("stm: StopLog: %w", err)
	}
	return nil
}

// stopLocked stops r (with recMu held): final flush, end marker, file
// closed.
func stopLocked(r *recorder) error {
	recording.Store(false)
	cur.Store(nil)
	r.mu.Lock()
	for _, t := range r.thrs {
		t.stale.Store(1) // quiet: no longer the current recorder's
		t.gate.Store(0)  // after stale (open says why)
	}
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.flush(true)
	err := r.w.Close()
	if r.err != nil {
		err = r.err
	}
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Event times are taken as CPU ticks and converted to nanoseconds since
// the epoch by the flusher, with the tick rate measured over the whole
// recording so far (toNs).
type tickRate struct {
	tick0 int64
	nsPer float64
}

func (r *recorder) rate() tickRate {
	ns := time.Since(r.epoch)
	if ns < time.Millisecond {
		// Too short a window for a precise rate: widen it (only at the
		// first flush of a very short recording).
		time.Sleep(time.Millisecond - ns)
		ns = time.Since(r.epoch)
	}
	t := cputicks()
	if t <= r.tick0 {
		return tickRate{r.tick0, 1}
	}
	return tickRate{r.tick0, float64(ns) / float64(t-r.tick0)}
}

func (tr tickRate) toNs(t int64) int64 { return int64(float64(t-tr.tick0) * tr.nsPer) }

// nudgeFlusher is called by recorded calls that have a recent time at hand
// (now, ticks): if the last flush began, or the last nudge was, more than
// 1.5 intervals ago, the call kicks the flusher and yields its processor
// to it. The flusher's ticker fires only when a processor schedules, which
// goroutines that never block leave to preemption (every 10-20 ms), and
// the flusher then queues behind them; a program that exits without
// StopLog loses what came after the last flush (TestExitWithoutStopLog
// lost 4-5 % of a 500 ms run at 20 ms between flushes).
func (r *recorder) nudgeFlusher(now int64) {
	if now-r.flushedAt.Load() > r.due.Load() {
		r.nudge(now)
	}
}

// nudge is nudgeFlusher's rare part, kept out so that the test inlines.
// It moves flushedAt itself, so that the next nudge is due an interval on
// whether or not the flusher ran: a kick already pending (a full buffer's
// hand-over sends one too, and at the full level that is every few
// hundred calls) would otherwise leave the test true for every call until
// the flusher got a processor, each paying a failed send. It yields
// either way: a pending kick is a flusher that has not run yet.
//
//go:noinline
func (r *recorder) nudge(now int64) {
	r.flushedAt.Store(now)
	select {
	case r.kick <- struct{}{}:
	default:
	}
	runtime.Gosched()
}

// flusher writes the buffers every flushInterval until StopLog.
func (r *recorder) flusher() {
	defer close(r.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.flush(false)
		case <-r.kick:
			r.flush(false)
		}
	}
}

// flush hands every thread's events to the Writer and flushes it: the
// buffers threads handed over, and the current buffer of threads that are
// not inside a transaction (those hand theirs over when the transaction
// ends). The final flush waits up to 200ms for running transactions.
func (r *recorder) flush(final bool) {
	r.flushedAt.Store(cputicks())
	r.writeNames()
	tr := r.rate()
	if r.due.Load() == math.MaxInt64 && tr.nsPer > 0 {
		r.due.Store(int64(1.5 * float64(flushInterval) / tr.nsPer))
	}
	r.mu.Lock()
	thrs := append([]*threadRec(nil), r.thrs...)
	r.mu.Unlock()
	var dropped int64
	var bufs []queuedBuf
	now := int64(time.Since(r.epoch))
	// The final flush gives running transactions a moment to finish.
	deadline := time.Now().Add(200 * time.Millisecond)
	for _, th := range thrs {
		for final && th.busy.Load()&(busyLogged|busyPaused) == busyLogged && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		// The queued buffers and the published part of the current one
		// in one hold of qmu, so that no hand-over slips in between.
		bufs = bufs[:0]
		th.qmu.Lock()
		bufs = append(bufs, th.full...)
		clear(th.full)
		th.full = th.full[:0]
		dropped += th.qdropped
		th.qdropped = 0
		cur, from, to := th.cur, th.taken, int(th.pub.Load())
		th.taken = max(to, from)
		th.qmu.Unlock()
		for _, q := range bufs {
			r.writeEvents(th, q.evs[q.from:], tr)
			r.putBuf(q.evs)
		}
		if to > from {
			// Copied out: the goroutine may copy the array meanwhile
			// (setBuf), and writeEvents converts in place.
			r.curBuf = append(r.curBuf[:0], cur[from:to]...)
			r.writeEvents(th, r.curBuf, tr)
		}
		r.writeAggregate(th, tr, now)
		if w := th.siteWant.Load(); w != 0 {
			// A conflict's wantSites may set it meanwhile: it wins.
			th.siteWant.CompareAndSwap(w, w-1)
		}
	}
	r.gen.Add(1)
	if dropped > 0 {
		r.w.Dropped(dropped)
	}
	if u, ok := r.usage.sample(time.Since(r.epoch), final); ok {
		r.w.Usage(u)
	}
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
		r.warn(err)
	}
}

// aggWritten is what the flusher has written of a thread's aggregate
// counters so far.
type aggWritten struct {
	commits, timed, timedTicks, sampled, sampledTicks, estimated, logged uint64
	sampledSq                                                            float64
	endNs                                                                int64 // end of the last record
	waits, pausedTicks, abortedTicks, retryEstimated                     uint64
}

// writeAggregate writes a record of what the thread's counters grew by
// since the last one, if they did. The counters are read one by one while
// the thread goes on, so a record may count a commit whose duration goes
// into the next one; sums over records are exact.
func (r *recorder) writeAggregate(th *threadRec, tr tickRate, now int64) {
	w := &th.agg
	c := th.commitsNotLogged(w.commits)
	e := th.aggEstimated.Load()
	// A thread of few calls, counted or logged, has every counted call
	// timed (recprofile.go, timeAllRate).
	l := th.aggLogged.Load()
	th.timeAll.Store(float64(c-w.commits+l-w.logged)*1e9 <= timeAllRate*float64(max(now-w.endNs, int64(flushInterval))))
	th.long.Store(th.longCalls())
	w.logged = l
	ws := th.aggRetryWaits.Load()
	if c == w.commits && e == w.estimated && ws == w.waits {
		return
	}
	cur := aggWritten{
		commits: c, timed: th.aggTimed.Load(), timedTicks: th.aggTimedTicks.Load(),
		sampled: th.aggSampled.Load(), sampledTicks: th.aggSampledTicks.Load(),
		sampledSq: math.Float64frombits(th.aggSampledSq.Load()), estimated: e, logged: l,
		endNs: max(now, w.endNs),
		// The wait count is bumped after the pause's ticks, and the
		// aborted ticks before the wait: the ticks read after the
		// count hold at least the waits counted.
		waits: ws, pausedTicks: th.aggRetryPausedTicks.Load(), abortedTicks: th.aggRetryAbortedTicks.Load(),
		retryEstimated: th.aggRetryEstimated.Load(),
	}
	// Timed and sampled counts are bumped after the commit count: keep the
	// record consistent, leaving the rest to the next one.
	timed := min(cur.timed-w.timed, c-w.commits)
	sampled := min(cur.sampled-w.sampled, c-w.commits-timed)
	cur.timed, cur.sampled = w.timed+timed, w.sampled+sampled
	a := logformat.Aggregate{
		Thread: th.id, Start: w.endNs, End: cur.endNs,
		Commits: c - w.commits, Timed: timed, Sampled: sampled,
		TimedNs:   int64(float64(cur.timedTicks-w.timedTicks) * tr.nsPer),
		SampledNs: int64(float64(cur.sampledTicks-w.sampledTicks) * tr.nsPer),
		SampledSq: max(cur.sampledSq-w.sampledSq, 0) * tr.nsPer * tr.nsPer,
		Estimated: e - w.estimated,

		RetryWaits:     ws - w.waits,
		RetryPausedNs:  int64(float64(cur.pausedTicks-w.pausedTicks) * tr.nsPer),
		RetryAbortedNs: int64(float64(cur.abortedTicks-w.abortedTicks) * tr.nsPer),
	}
	if n := cur.retryEstimated - w.retryEstimated; n > 0 {
		// Retried attempts not timed from their start: the thread's mean
		// sampled duration each, as promote estimates a start.
		a.Estimated += n
		if cur.sampled > 0 {
			a.RetryAbortedNs += int64(float64(n) * float64(cur.sampledTicks) / float64(cur.sampled) * tr.nsPer)
		}
	}
	*w = cur
	if ss := r.sinks.Load(); ss != nil {
		for _, s := range *ss {
			s.aggregate(r.epoch, a) // tap.go
		}
	}
	if r.internal {
		return
	}
	if err := r.w.Aggregate(a); err != nil && r.err == nil {
		r.err = err
		r.warn(err)
	}
}

func (r *recorder) warn(err error) {
	if !r.warned {
		r.warned = true
		fmt.Fprintf(os.Stderr, "stm: recording: %v (further events are lost)\n", err)
	}
}

// stackID maps an interned site to the Writer's StackID, symbolizing it
// the first time.
func (r *recorder) stackID(site uint32) logformat.StackID {
	if site == 0 {
		return 0
	}
	if id, ok := r.stackIDs[site]; ok {
		return id
	}
	id := r.w.Stack(symbolize(sites.pcs(site)))
	r.stackIDs[site] = id
	return id
}

func (r *recorder) writeNames() {
	namesMu.Lock()
	defer namesMu.Unlock()
	if r.namesGen == namesGen {
		return
	}
	r.namesGen = namesGen
	for id, name := range names {
		if r.written[id] != name {
			r.written[id] = name
			r.w.NameVar(id, name)
		}
	}
}

// Var names live as long as their Var (a cleanup removes them), so that

// runGeneral is an Atomically call that neither the gate nor fullIdle
// took: through run, tx given back however it ends. Where a goroutine has
// no thread of its own (no curg: curg_other.go), every full-level call
// comes here, so it yields to a flusher that is behind as runFull does:
// on one processor a goroutine that never blocks would otherwise fill the
// queue and drop events long before preemption let the flusher run.
func (tx *Tx) runGeneral(fn func(*Tx) error) error {
	err := tx.runGiveBack(fn)
	if r := cur.Load(); r != nil && r.behind.Load() {
		r.behind.Store(false)
		runtime.Gosched()
	}
	return err
}

func (tx *Tx) runGiveBack(fn func(*Tx) error) error {
	defer putTx(tx) // also after a panic or Goexit: attempt has ended tx
	return tx.run(fn, nil)
}
