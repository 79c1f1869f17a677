package stm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
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
// When it is on, every transaction runs on a "thread" (threadRec) that owns
// an event buffer. The Tx appends to it without contention: it owns the
// thread (threadRec.own) for the length of an Atomically call, except
// while it pauses. A flusher goroutine wakes every flushInterval, takes the
// buffers of the threads that are not in a transaction at that moment (a
// compare-and-swap: it never waits for user code), and hands them to the
// single logformat.Writer,
// then flushes it, so the file grows by whole chunks. A committing
// transaction never waits for I/O: a full buffer drops events and counts
// them (Writer.Dropped).
//
// Threads. A thread is a goroutine (Queue workers: a worker), numbered from
// 1 in the order they first run a transaction while recording. Go exposes
// no goroutine id, and getting one by parsing runtime.Stack costs
// microseconds, more than a whole small transaction; so the goroutine is
// told by the address of its runtime descriptor (curg, two instructions
// of assembly), and a context remembers the last goroutine it served, so
// a goroutine that runs transactions in a loop finds its thread without a
// map lookup. The runtime reuses the descriptor of an exited goroutine for
// a new one, which then continues under the same number (as OS thread ids
// are reused). A goroutine's transactions never overlap, so its events
// never interleave; a transaction started inside another one's body on the
// same goroutine runs on its context's own thread instead, and so does
// every transaction on an architecture without curg.

// Sites. Loads and Stores capture the raw return addresses of the call
// stack into the Tx (a frame-pointer walk on amd64); a stack is hashed and
// interned only when an event or a committed box needs to name it, and
// symbolized (runtime.CallersFrames, trimming runtime/stm and Go runtime
// frames) by the flusher the first time the log refers to it.

// recording is true while events are recorded; the hot path tests it once
// per transaction.
var recording atomic.Bool

const (
	maxDepth      = 32
	flushInterval = 100 * time.Millisecond
	// Events per buffer handed to the flusher (16 KB). Recording cost
	// 14-17 ns less per transaction than with 4096 (A/B in one session,
	// BENCHMARKS.md, runtime section). Probably a cache effect: a full buffer
	// kicks a flush, and every flush makes the threads hand over their
	// buffers at the end of their transactions, so smaller buffers keep
	// fewer of them in flight and reuse them warm. Letting the Writer
	// gather whole 64 KB chunks between ticks, or not counting kicked
	// flushes as generations, lost the gain.
	handoffSize = 1024
	maxQueued   = 256 // buffers a thread may have waiting; then events are dropped
)

type threadRec struct {
	id uint32
	r  *recorder

	// own says who may use buf, last, dropped and gen: nobody (ownFree),
	// the transaction running on this thread, for the length of an
	// Atomically call except while it pauses (ownTx), or the flusher taking
	// the buffer of an idle thread (ownFlusher). It is a lock that only
	// ever has these two users, and the transaction's side is the hot path:
	// taking it is one compare-and-swap, giving it back one plain store on
	// amd64 (releaseOwn), against two atomic read-modify-writes for a
	// sync.Mutex.
	own     atomic.Uint32
	buf     []rawEvent
	last    int64  // last event time (ticks): a thread's times never go back
	dropped int64  // events dropped for lack of room
	gen     uint32 // recorder.gen when buf got its first event
	bufSeq  uint32 // incremented whenever buf is replaced
	held    bool   // own is ownTx (the transaction's side only)

	// qmu guards the buffers handed over to the flusher; it is only ever
	// held for a few instructions, so the flusher can wait for it.
	qmu      sync.Mutex
	full     [][]rawEvent
	qdropped int64

	lastNs int64 // flusher only: last time written, in ns
}

type recorder struct {
	w      *logformat.Writer
	file   *os.File // set when the recorder opened the file (STMLOG)
	epoch  time.Time
	tick0  int64         // cputicks() at epoch
	kick   chan struct{} // a buffer was handed over full: flush now
	gen    atomic.Uint32 // incremented by every flush
	freeMu sync.Mutex
	free2  [][]rawEvent // recycled buffers
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex // threads, free, next
	thrs   []*threadRec
	free   []*threadRec
	next   uint32
	byG    sync.Map // curg() -> *threadRec: goroutines' threads, never freed
	err    error    // first write error
	warned bool

	// Live sinks (tap.go). internal: started for them, writes no log.
	internal bool
	sinks    atomic.Pointer[[]liveSink]

	// Owned by the flusher goroutine (and by StopLog after it stopped).
	sinkBuf  []logformat.Event
	stackIDs map[uint32]logformat.StackID
	written  map[uint64]string // Var names given to the Writer
	namesGen uint64
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
	envPath string
	envOnce sync.Once
)

func init() {
	path := os.Getenv("STMLOG")
	if path == "" {
		return
	}
	envPath = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
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
			err = startLogLocked(f, f)
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
// package logformat). Recording stays on until StopLog. It fails if
// recording is already on (for example because STMLOG is set).
func StartLog(w io.Writer) error {
	return startLog(w, nil)
}

func startLog(w io.Writer, f *os.File) error {
	if !recorderBuilt {
		return errors.New("stm: StartLog: built with the stmlog_norecord tag, which leaves the recorder out")
	}
	recMu.Lock()
	defer recMu.Unlock()
	return startLogLocked(w, f)
}

func startLogLocked(w io.Writer, f *os.File) error {
	if r := cur.Load(); r != nil {
		if !r.internal {
			return errors.New("stm: StartLog: already recording")
		}
		stopLocked(r) // the live sinks' recorder: they move to this one
	}
	if _, err := newRecorder(w, f, false); err != nil {
		return fmt.Errorf("stm: StartLog: %w", err)
	}
	return nil
}

// newRecorder starts recording to w (with recMu held). An internal
// recorder (tap.go) serves live sinks only and writes no log.
func newRecorder(w io.Writer, f *os.File, internal bool) (*recorder, error) {
	lw, err := logformat.NewWriter(w)
	if err != nil {
		return nil, err
	}
	r := &recorder{
		w: lw, file: f, epoch: time.Now(), tick0: cputicks(),
		stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1),
		stackIDs: make(map[uint32]logformat.StackID),
		written:  make(map[uint64]string),
		namesGen: ^uint64(0),
		internal: internal,
	}
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
		newRecorder(io.Discard, nil, true) // cannot fail: io.Discard takes the header
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

// newThread returns a thread with a fresh (or recycled) number.
func (r *recorder) newThread() *threadRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.free); n > 0 {
		t := r.free[n-1]
		r.free = r.free[:n-1]
		return t
	}
	r.next++
	t := &threadRec{id: r.next, r: r}
	r.thrs = append(r.thrs, t)
	return t
}

func (r *recorder) release(t *threadRec) {
	r.mu.Lock()
	r.free = append(r.free, t)
	r.mu.Unlock()
}

// newWorkerThread gives a Queue worker its own thread (nil when not
// recording).
func newWorkerThread() *threadRec {
	if r := cur.Load(); r != nil {
		return r.newThread()
	}
	return nil
}

// txThread returns the thread of a pooled Tx's context for recorder r,
// making one the first time; it goes back to r's free list when the Tx is
// garbage collected.
func (tx *Tx) txThread(r *recorder) *threadRec {
	if t := tx.ownRec; t != nil && t.r == r {
		return t
	}
	t := r.newThread()
	tx.ownRec = t
	runtime.AddCleanup(tx, func(t *threadRec) { t.r.release(t) }, t)
	return t
}

// goThread returns the calling goroutine's thread for recorder r.
func (tx *Tx) goThread(r *recorder) *threadRec {
	g := curg()
	if g == 0 {
		return tx.txThread(r)
	}
	if th := tx.lastGThread; th != nil && tx.lastG == g && th.r == r {
		return th
	}
	var th *threadRec
	if v, ok := r.byG.Load(g); ok {
		th = v.(*threadRec)
	} else {
		th = r.newThread()
		if v, loaded := r.byG.LoadOrStore(g, th); loaded {
			r.release(th)
			th = v.(*threadRec)
		}
	}
	tx.lastG, tx.lastGThread = g, th
	return th
}

// recBegin attaches the Atomically call to a thread (th, or the
// goroutine's).
func (tx *Tx) recBegin(th *threadRec) {
	r := cur.Load()
	if r == nil {
		if envPath == "" {
			return
		}
		startEnv()
		if r = cur.Load(); r == nil {
			return
		}
	}
	if th == nil || th.r != r {
		th = tx.goThread(r)
		if th.own.Load() == ownTx {
			// Held by a transaction whose body called Atomically on this
			// goroutine: waiting for it would never end.
			th = tx.txThread(r)
		}
	}
	th.acquire()
	th.held = true
	tx.rec = th
	tx.thread = th.id
	tx.patch = sitePatch{idx: -1}
}

// recEnd detaches the thread at the end of an Atomically call.
func (tx *Tx) recEnd() {
	th := tx.rec
	if th == nil {
		return
	}
	tx.rec = nil
	tx.thread = 0
	tx.patch = sitePatch{idx: -1}
	if th.held {
		if len(th.buf) > 0 && th.gen != th.r.gen.Load() {
			// A flush went by since this buffer's first event: hand it over,
			// so that a busy thread's events reach the file within about
			// two flush intervals.
			th.handoff()
		}
		th.held = false
		releaseOwn(&th.own)
	}
}

const (
	ownFree = iota
	ownTx
	ownFlusher
)

// acquire takes the thread for a transaction. Only the flusher can be in
// the way, and it holds a thread for a few instructions.
func (th *threadRec) acquire() {
	for !th.own.CompareAndSwap(ownFree, ownTx) {
		runtime.Gosched()
	}
}

// rawEvent is an event as buffered by a thread: 16 bytes, a third of a
// logformat.Event, because writing events into the buffer (and the
// flusher reading them back) is most of what recording costs. a packs
// kind | conflict<<8 | cause<<16 | reason<<24, b is the interned site. A
// conflict takes two entries: the second holds the Var id in t, the other
// thread in a and the other site in b. Times are CPU ticks.
type rawEvent struct {
	t int64
	a uint32
	b uint32
}

func packKind(k logformat.Kind, c logformat.ConflictKind, ca logformat.AbortCause, r logformat.WaitReason) uint32 {
	return uint32(k) | uint32(c)<<8 | uint32(ca)<<16 | uint32(r)<<24
}

func (tx *Tx) emit(a, site uint32) {
	th := tx.rec
	t := cputicks()
	if t < th.last {
		t = th.last
	}
	th.last = t
	if len(th.buf) == 0 {
		th.gen = th.r.gen.Load()
	}
	n := len(th.buf)
	th.buf = grow1(th.buf) // field by field: see grow1
	e := &th.buf[n]
	e.t, e.a, e.b = t, a, site
	if len(th.buf) >= handoffSize && tx.patch.idx < 0 {
		th.handoff()
		select {
		case th.r.kick <- struct{}{}:
		default:
		}
	}
}

// handoff queues the thread's buffer for the flusher (owning the thread).
func (th *threadRec) handoff() {
	th.qmu.Lock()
	if len(th.full) >= maxQueued {
		// The flusher is not keeping up: drop rather than block the program.
		th.qdropped += int64(len(th.buf))
		th.buf = th.buf[:0]
	} else {
		th.full = append(th.full, th.buf)
		th.buf = th.r.getBuf()
	}
	th.bufSeq++
	th.qmu.Unlock()
}

func (r *recorder) getBuf() []rawEvent {
	r.freeMu.Lock()
	defer r.freeMu.Unlock()
	if n := len(r.free2); n > 0 {
		b := r.free2[n-1]
		r.free2 = r.free2[:n-1]
		return b
	}
	return make([]rawEvent, 0, handoffSize+1)
}

func (r *recorder) putBuf(b []rawEvent) {
	r.freeMu.Lock()
	if len(r.free2) < 256 {
		r.free2 = append(r.free2, b[:0])
	}
	r.freeMu.Unlock()
}

func (tx *Tx) recEvent(k logformat.Kind) {
	if tx.rec != nil {
		tx.emit(uint32(k), 0)
	}
}

func (tx *Tx) recAbort(c logformat.AbortCause) {
	if tx.rec != nil {
		tx.emit(packKind(logformat.KindTxAbort, 0, c, 0), 0)
	}
}

// waitStart records a pause and lets the flusher take the thread's buffer
// while we wait.
func (tx *Tx) waitStart(r logformat.WaitReason) {
	if th := tx.rec; th != nil {
		tx.emit(packKind(logformat.KindWaitStart, 0, 0, r), 0)
		th.held = false
		releaseOwn(&th.own)
	}
}

func (tx *Tx) waitDone(r logformat.WaitReason) {
	if th := tx.rec; th != nil {
		th.acquire()
		th.held = true
		tx.emit(packKind(logformat.KindWaitDone, 0, 0, r), 0)
	}
}

// captureSite appends the caller's stack to tx.pcs.
func (tx *Tx) captureSite(off, n *int32) {
	l := len(tx.pcs)
	if cap(tx.pcs)-l < maxDepth {
		tx.pcs = append(tx.pcs[:l:l], make([]uintptr, maxDepth+l)...)[:l]
	}
	k := captureStack((*[maxDepth]uintptr)(tx.pcs[l : l+maxDepth]))
	*off = int32(l)
	*n = int32(k)
	tx.pcs = tx.pcs[:l+k]
}

// Read sites. Capturing a stack at every Load would make recording cost
// more than the transactions it records, and a read site only matters when
// the Var conflicts. So a Load captures its stack only once its Var has been
// in a conflict (varHeader.contended). At a Var's first conflict the read
// site is not known yet; the conflict event is written without it and
// patched when the re-run of the same transaction reads that Var again
// (normally at the same place). If the re-run does not read it, the event
// keeps no site for this side.
type sitePatch struct {
	h   *varHeader
	idx int    // index of the conflict event in rec.buf; -1: none pending
	seq uint32 // rec.bufSeq when it was written
}

func (tx *Tx) awaitReadSite(h *varHeader) {
	th := tx.rec
	n := len(th.buf)
	if n < 2 || logformat.Kind(th.buf[n-2].a&0xff) != logformat.KindConflict {
		return // the event was handed over already
	}
	tx.patch = sitePatch{h: h, idx: n - 2, seq: th.bufSeq}
}

// readSite captures the site of a Load of a contended Var, and completes
// the pending conflict event of this Var if there is one.
func (tx *Tx) readSite(h *varHeader, e *readEntry) {
	tx.captureSite(&e.pcOff, &e.pcN)
	if p := &tx.patch; p.idx >= 0 && p.h == h {
		if th := tx.rec; p.seq == th.bufSeq && p.idx < len(th.buf) {
			th.buf[p.idx].b = tx.internSite(e.pcOff, e.pcN)
		}
		*p = sitePatch{idx: -1}
	}
}

// internSite returns the interned id of pcs[off:off+n] (0 if empty). A
// context that keeps storing from the same few places (a loop of
// transactions) interns the same stacks again and again: comparing with
// the last few interned costs a few nanoseconds, hashing and probing the
// table a few tens, so the context remembers them (ids never change).
func (tx *Tx) internSite(off, n int32) uint32 {
	if n == 0 {
		return 0
	}
	pcs := tx.pcs[off : off+n]
	for i := range tx.siteCache {
		c := &tx.siteCache[i]
		if len(c.pcs) == len(pcs) && c.pcs[0] == pcs[0] && slices.Equal(c.pcs, pcs) {
			return c.id
		}
	}
	id := sites.intern(pcs)
	c := &tx.siteCache[tx.siteNext%uint8(len(tx.siteCache))]
	tx.siteNext++
	c.pcs = append(c.pcs[:0], pcs...)
	c.id = id
	return id
}

// siteCacheEntry is a stack interned recently by a context, and its id.
type siteCacheEntry struct {
	pcs []uintptr
	id  uint32
}

func (tx *Tx) recBecomeInevitable(off, n int32) {
	tx.emit(uint32(logformat.KindBecomeInevitable), tx.internSite(off, n))
}

func (tx *Tx) recConflict(k logformat.ConflictKind, v uint64, off, n int32, other, otherSite uint32) {
	// Both entries go in together: no hand-over between them.
	tx.rec.buf = slices.Grow(tx.rec.buf, 2)
	p := tx.patch.idx
	tx.patch.idx = 0
	site := tx.internSite(off, n)
	tx.emit(packKind(logformat.KindConflict, k, 0, 0), site)
	tx.patch.idx = p
	tx.rec.buf = append(tx.rec.buf, rawEvent{int64(v), other, otherSite})
	if tracingOn() {
		traceConflict(k, v, site, other, otherSite) // trace.go
	}
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
	r.writeNames()
	tr := r.rate()
	r.mu.Lock()
	thrs := append([]*threadRec(nil), r.thrs...)
	r.mu.Unlock()
	var dropped int64
	var bufs [][]rawEvent
	// The final flush gives running transactions a moment to finish.
	deadline := time.Now().Add(200 * time.Millisecond)
	for _, th := range thrs {
		// Take the thread first (if it is idle), so that no hand-over
		// can slip in between the queued buffers and the current one.
		ok := th.own.CompareAndSwap(ownFree, ownFlusher)
		for !ok && final && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
			ok = th.own.CompareAndSwap(ownFree, ownFlusher)
		}
		bufs = bufs[:0]
		th.qmu.Lock()
		bufs = append(bufs, th.full...)
		clear(th.full)
		th.full = th.full[:0]
		dropped += th.qdropped
		th.qdropped = 0
		th.qmu.Unlock()
		if ok {
			if len(th.buf) > 0 {
				bufs = append(bufs, th.buf)
				th.buf = r.getBuf()
				th.bufSeq++
			}
			dropped += th.dropped
			th.dropped = 0
			th.own.Store(ownFree)
		}
		for _, evs := range bufs {
			r.writeEvents(th, evs, tr)
			r.putBuf(evs)
		}
	}
	r.gen.Add(1)
	if dropped > 0 {
		r.w.Dropped(dropped)
	}
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
		r.warn(err)
	}
}

// writeEvents decodes a thread's raw events into the Writer. This runs
// for every event recorded, so the common kinds (no site, no other side)
// skip the site lookups.
func (r *recorder) writeEvents(th *threadRec, evs []rawEvent, tr tickRate) {
	last := th.lastNs
	ev := logformat.Event{Thread: th.id}
	ss := r.sinks.Load() // tap.go: sinks get the events with interned sites
	tap := ss != nil && len(*ss) > 0
	for i := 0; i < len(evs); i++ {
		e := &evs[i]
		ev.Time = max(tr.toNs(e.t), last, 0)
		last = ev.Time
		ev.Kind = logformat.Kind(e.a)
		ev.Conflict = logformat.ConflictKind(e.a >> 8)
		ev.Cause = logformat.AbortCause(e.a >> 16)
		ev.Reason = logformat.WaitReason(e.a >> 24)
		ev.Site, ev.Var, ev.Other, ev.OtherSite = 0, 0, 0, 0
		site, otherSite := e.b, uint32(0)
		if ev.Kind == logformat.KindConflict && i+1 < len(evs) {
			i++
			p := &evs[i]
			ev.Var, ev.Other, otherSite = uint64(p.t), p.a, p.b
		}
		if tap {
			r.sinkBuf = append(r.sinkBuf, ev)
			se := &r.sinkBuf[len(r.sinkBuf)-1]
			se.Site, se.OtherSite = logformat.StackID(site), logformat.StackID(otherSite)
		}
		if r.internal {
			continue
		}
		if site != 0 {
			ev.Site = r.stackID(site)
		}
		if otherSite != 0 {
			ev.OtherSite = r.stackID(otherSite)
		}
		if err := r.w.WritePtr(&ev); err != nil && r.err == nil {
			r.err = err
			r.warn(err)
		}
	}
	th.lastNs = last
	if tap {
		for _, s := range *ss {
			s.add(r.epoch, th.id, r.sinkBuf)
		}
		clear(r.sinkBuf)
		r.sinkBuf = r.sinkBuf[:0]
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
// naming Vars in a constructor does not leak; a log started later still
// gets the names of the Vars alive then.
var (
	namesMu  sync.Mutex
	names    = map[uint64]string{}
	namesGen uint64 // bumped by every change, so flushes skip an unchanged map
)

// Name gives v a name that logs and reports show instead of its id, and
// returns v (so it chains with NewVar). Naming a Var again replaces the name.
func (v *Var[T]) Name(name string) *Var[T] {
	id := v.h.id
	namesMu.Lock()
	defer namesMu.Unlock()
	old, had := names[id]
	if had && old == name {
		return v
	}
	names[id] = name
	namesGen++
	if !had {
		runtime.AddCleanup(v, forgetName, id)
	}
	return v
}

func forgetName(id uint64) {
	namesMu.Lock()
	delete(names, id)
	namesMu.Unlock()
}

// NewNamedVar is NewVar(v).Name(name).
func NewNamedVar[T any](name string, v T) *Var[T] { return NewVar(v).Name(name) }

// symbolize turns raw return addresses into the user's frames, leaf first:
// frames of runtime/stm itself (not its tests) and of the Go runtime are
// left out.
func symbolize(pcs []uintptr) logformat.Stack {
	var s logformat.Stack
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && !internalFrame(f) {
			s.Frames = append(s.Frames, logformat.Frame{Func: f.Function, File: f.File, Line: f.Line})
		}
		if !more {
			break
		}
	}
	return s
}

const pkgPath = "github.com/stmlog/stmlog/runtime/stm."

func internalFrame(f runtime.Frame) bool {
	if strings.HasPrefix(f.Function, "runtime.") {
		return true
	}
	if strings.HasPrefix(f.Function, pkgPath) {
		return !strings.HasSuffix(f.File, "_test.go")
	}
	return false
}
