package stm

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

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

type threadRec struct {
	id uint32
	r  *recorder

	// buf, last, pend, now, reuse, held and bufSeq are the thread's
	// goroutine's alone. The flusher never takes buf from it: it copies
	// out the entries the goroutine has published (pub), which the
	// goroutine no longer changes, from cur, so a logged call takes no
	// lock and no atomic read-modify-write to append to its buffer. An
	// entry a site patch may still complete (sitePatch) is published
	// once the patch is done.
	buf    []rawEvent
	pub    atomic.Int64 // entries of buf the flusher may take (stored with storeOwnedI64)
	last   int64        // last event time (ticks): a thread's times never go back
	bufSeq uint32       // incremented whenever buf is replaced
	held   bool         // a logged call runs on the thread
	reuse  bool         // the next event takes last's time (sameTime)
	now    int64        // if not 0, the next event's time: promote read the clock for it
	pend   int64        // if not 0, the time of a start event not yet in buf (runFull)

	// qmu guards the buffers handed over to the flusher, cur (buf's
	// array, replaced only under qmu: setBuf) and taken (the entries of
	// cur the flusher has written); it is only ever held for a few
	// instructions, so the flusher can wait for it.
	qmu      sync.Mutex
	full     []queuedBuf
	cur      []rawEvent
	taken    int
	qdropped int64

	// busy has busyLogged set while a logged Atomically call runs on the
	// thread (and busyPaused while it pauses), and busyFull for the
	// thread's life if it records at the full level: a call is only
	// counted (the gate, Atomically) when busy is 0. Only the thread's goroutine writes it. A call that is only
	// counted leaves it alone: a call nested in its body may log on the
	// same thread, as it holds nothing.
	busy atomic.Uint32
	// stale is 1 once the thread's recorder stops (stopLocked): a
	// context that still remembers the thread must find the current
	// recorder's. It is the word after busy, so that open tests both
	// with one load (loadPair), rather than comparing r with the current
	// recorder.
	stale atomic.Uint32
	// gate is g while busy and stale are both 0, else 0: Atomically
	// compares it with curg, and the one compare says both that the
	// context's thread is the running goroutine's and that the call is
	// only counted (quiet). Only the goroutine opens it (open: when it
	// finds or makes the thread, and when busy falls back to 0); promote
	// and stopLocked close it.
	gate atomic.Uintptr
	g    uintptr // the goroutine (curg) the thread is for; 0 for a context's or a worker's own
	// siteWant is how many more flushes the thread's calls that are not
	// logged capture the sites of their Stores to contended Vars
	// (storeSite): a conflict whose other side is this thread sets it
	// (wantSites), the flusher counts it down. A write site only matters
	// to whoever conflicts with the write, and capturing one costs a
	// counted call more than the rest of its recording, so a thread that
	// nobody conflicts with lately captures none.
	siteWant atomic.Uint32

	// Profile level: the calls not logged as events, counted by the
	// thread's goroutine (addOwned) and read by the flusher. Cumulative;
	// the flusher writes the differences (agg* below).
	// The commits not logged are counted down, not up: they are cbase
	// minus left (commitsNotLogged), and a counted call's draw is the test
	// of left alone, its count a decrement of it (countCommit). drawTimed
	// sets both for the next run of calls, under cseq (odd while it
	// writes), so that the flusher reads a pair the goroutine wrote
	// together; between draws the goroutine only decrements left, and
	// any value the flusher reads of it then is a count that was.
	left  atomic.Int64
	cbase atomic.Uint64
	cseq  atomic.Uint32
	// every: the current run's drawn call was timed as one of all
	// (modeTimed). The goroutine's, as left.
	every           bool
	aggTimed        atomic.Uint64 // of which timed exactly: every call of a thread of long calls
	aggTimedTicks   atomic.Uint64 // their total duration
	aggSampled      atomic.Uint64 // of the others, timed as the sample
	aggSampledTicks atomic.Uint64
	aggSampledSq    atomic.Uint64 // float64 bits: sum of squared durations (ticks²)
	aggEstimated    atomic.Uint64 // logged attempts whose start is estimated (held own)
	aggLogged       atomic.Uint64 // commits logged as events (for the rate of timeAll; not at the full level)
	// Retry waits counted, not logged (quietRetry): the waits, their
	// pauses' ticks, the retried attempts' ticks, and the retried
	// attempts whose start was not timed (their ticks are estimated).
	aggRetryWaits        atomic.Uint64
	aggRetryPausedTicks  atomic.Uint64
	aggRetryAbortedTicks atomic.Uint64
	aggRetryEstimated    atomic.Uint64
	timeAll              atomic.Bool // set by the flusher: time every counted call (timeAllRate)
	long                 atomic.Bool // set by the flusher: longCalls, as of the last flush
	allGen               uint32      // recorder.gen when allN was last reset (the goroutine's)
	allN                 int32       // calls timed because of timeAll since then

	lastNs int64 // flusher only: last time written, in ns (>= 0)
	agg    aggWritten
}

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
	t.timeAll.Store(true)
	if r.full {
		t.busy.Store(busyFull)
	}
	r.thrs = append(r.thrs, t)
	// thrs only grows, by appends under mu, so a published header's
	// elements never change: wantSites reads them without the lock.
	thrs := r.thrs
	r.byID.Store(&thrs)
	return t
}

// siteWantFlushes is what a conflict sets its other side's siteWant to:
// about a second of flushes. Anything that conflicts with a thread more
// often keeps that thread's write sites in every conflict after the first.
const siteWantFlushes = 100

// wantSites makes thread id's calls capture their write sites for the
// next siteWantFlushes flushes. The thread's word is written only when it
// has fallen to half, so that a stream of conflicts against one thread
// does not keep writing a line that thread reads at every Store. An id
// beyond this recorder's threads is ignored; a box named under an
// earlier recording may name a thread of this one that did not write it,
// which then captures for a while for nothing.
func (r *recorder) wantSites(id uint32) {
	p := r.byID.Load()
	if p == nil || id == 0 || int(id) > len(*p) {
		return
	}
	(*p)[id-1].wantSites()
}

func (t *threadRec) wantSites() {
	if t.siteWant.Load() < siteWantFlushes/2 {
		t.siteWant.Store(siteWantFlushes)
	}
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
		} else {
			th.g = g
			th.open()
		}
	}
	tx.lastG, tx.lastGThread = g, th
	return th
}

const (
	busyLogged = 1 << iota
	busyFull
	busyPaused // a logged call pauses (waitStart): the final flush need not wait for it
)

// busy and stale are one aligned 8-byte word (loadPair: open).
var _ [unsafe.Offsetof(threadRec{}.stale) - unsafe.Offsetof(threadRec{}.busy) - 4]struct{}
var _ [unsafe.Offsetof(threadRec{}.busy) + 4 - unsafe.Offsetof(threadRec{}.stale)]struct{}
var _ [unsafe.Offsetof(threadRec{}.busy) % 8]struct{}

// setRecQuiet sets tx.rec to t, the context's tx.lastGThread, or back to
// nil, without a write barrier: t stays reachable from tx.lastGThread for
// the whole call (only goThread changes that field, and a counted call
// does not call it), so the collector loses nothing by not being told of
// this second reference to it, nor of its removal. A counted call sets
// and clears it at every call, and the barrier's test was 4 of the
// few instructions such a call may add (BENCHMARKS.md, fifth round).
func setRecQuiet(tx *Tx, t *threadRec) {
	*(*uintptr)(unsafe.Pointer(&tx.rec)) = uintptr(unsafe.Pointer(t))
}

// threadID is the number of the call's thread, 0 when not recording.
func (tx *Tx) threadID() uint32 {
	if t := tx.rec; t != nil {
		return t.id
	}
	return 0
}

// recQuietEnd counts the commit of a counted call that ended on the plain
// path, and detaches the thread (Atomically has it written out). (A call that met contention on the way, a
// lock it waited for, is logged by then: settleHooked ends it.) tx.pcs
// is as the call found it, empty: the only capture a counted call makes
// is writeSite's, which gives tx.pcs back its length.
func (tx *Tx) recQuietEnd() {
	tx.rec.countCommit()
	setRecQuiet(tx, nil)
}

// recPlainEnded is what settle does for a recorded commit, for a call that
// committed and ended on the plain path (the rest of end is done).
func (tx *Tx) recPlainEnded() {
	if tx.prof.mode == modeCounted {
		// A counted call that took the general loop (after a counted
		// Retry wait): recCommit's count and recEnd's resets; it holds
		// no buffer.
		tx.recQuietEnd()
		tx.prof.t0, tx.prof.wait, tx.prof.keepT0 = 0, 0, false
		tx.pcs = tx.pcs[:0]
		return
	}
	tx.recCommit()
	tx.recEnd()
	tx.pcs = tx.pcs[:0]
}

// fullIdle reports whether an Atomically call on the goroutine this
// context served last (Atomically compared curg), whose thread is t,
// records at the full level on a thread that no enclosing call holds and
// whose recorder is the current one: such a call runs its first attempt
// on the plain path (runFull). busy and stale are tested with one load,
// as quiet tests them.
func (t *threadRec) fullIdle() bool { return loadPair(&t.busy) == busyFull }

// runFull is the first attempt of a call that fullIdle took (t is
// tx.lastGThread, which only recBegin changes, or a Queue worker's own
// thread, which its runSpan holds: reachable for the whole call either
// way, as setRecQuiet needs, and every thread is in r.thrs too):
// recBegin's full-level part, the start event, attemptPlain's steps and,
// when it commits there, the commit event and settleHooked's steps for a
// commit, written out (the full level's every call passes here); it then
// returns ended, with tx given back if giveBack is set, else the outcome
// for settle. It has no defer: it runs under Atomically's, which settles
// a body that unwinds (unwoundFirst), as for a plain call's first
// attempt, or under a Queue worker's runSpan's (the worker's own thread
// and context, which it keeps).
//
// The start event waits in t.pend until the attempt logs something
// (emitAt writes it first) or commits: an attempt that logs nothing
// between its start and its commit (most of a full-level log) has both
// written here, as one quiet entry (quietEvent), with the tests emitAt
// makes for any event (the room, the hand-over) once for the two.
func (tx *Tx) runFull(fn func(*Tx) error, t *threadRec, giveBack bool) (outcome, error) {
	setRecQuiet(tx, t)
	storeOwned32(&t.busy, busyLogged|busyFull)
	t.held = true
	tx.prof.mode = t.r.fullMode
	tx.patch.idx = -1 // none pending (h is only read with idx >= 0)
	// recEndHeld left now 0 and reuse false: the start's time is the
	// clock's, and at least 1, as 0 is no start pending.
	start := max(cputicks(), t.last, 1)
	t.pend, t.last = start, start
	tx.state = stActive
	err := fn(tx)
	// attemptPlain's steps (keep the two alike).
	if k := len(tx.writes); err == nil && tx.plainActive() && k <= 4 {
		tx.state = 0
		if k != 0 {
			var res outcome
			if k == 1 { // (tx.rec is set)
				res = tx.commitOneAll()
			} else {
				res = tx.commitFewAll()
			}
			switch res {
			case aborted:
				return aborted, nil
			case failed:
				if !tx.commit() {
					return aborted, nil
				}
				return committed, nil
			}
		}
		tx.clk.stats.commits.inc()
		if tx.dirty {
			tx.clearSets()
		}
		tx.reads = tx.reads[:0]
		tx.writes = tx.writes[:0]
		tx.wfilter = 0
		tx.arena = tx.arena[:0]
	} else {
		res, err := tx.finish(err)
		tx.state &^= stActive
		return res, err
	}
	now := cputicks()
	if b, start := t.buf, t.pend; start != 0 && len(b) < cap(b) && now-start < quietMax {
		// The attempt logged nothing: no event set now or reuse, none
		// left a site patch pending.
		t.pend = 0
		now = max(now, start)
		n := len(b)
		b = b[:n+1] // in b, so that the tests above bound the index
		b[n] = rawEvent{t: start, a: quietEvent, b: uint32(now - start)}
		setLen(&t.buf, n+1)
		t.last = now
		storeOwnedI64(&t.pub, int64(n+1))
		behind := false
		if n+1 >= handoffSize {
			behind = t.handoff() >= yieldQueued
			t.r.kickFlusher()
		}
		setRecQuiet(tx, nil)
		tx.prof.mode = modeCounted
		t.held = false
		storeOwned32(&t.busy, busyFull)
		if behind {
			// The flusher has not taken the last buffers: it lacks a
			// processor (one P, a goroutine that never blocks), and the
			// queue would fill and drop events long before preemption
			// gave it one. The call has ended, so it holds nothing.
			tx.pcs = tx.pcs[:0]
			if giveBack {
				putTx(tx)
			}
			runtime.Gosched()
			return ended, nil
		}
	} else {
		// recCommit's logged arm and recEnd, written out: emit's clock
		// read unless the attempt's own events set the time (a start
		// still pending, for want of room for the pair, goes first).
		if t.now == 0 && !t.reuse {
			tx.emitAt(uint32(logformat.KindTxCommit), 0, now)
		} else {
			tx.emit(uint32(logformat.KindTxCommit), 0)
		}
		setRecQuiet(tx, nil)
		tx.prof.mode, tx.prof.t0, tx.prof.wait, tx.prof.keepT0 = modeCounted, 0, 0, false
		tx.recEndHeld(t)
	}
	tx.pcs = tx.pcs[:0]
	if giveBack {
		putTx(tx)
	}
	t.r.nudgeFlusher(now) // record.go
	return ended, nil
}

// runSampled is a counted call drawn to be timed (for the sample, or as
// one of all calls of a thread of long transactions): timed from the start
// of its attempt to its commit. t is tx.lastGThread, quiet, and the
// current goroutine's.
//
// The interval timed is the attempt's steps alone, as a counted call's
// first attempt in Atomically's frame and a full-level one in runFull
// run them: so its attempt has no defer of its own (attemptBare, not
// attemptPlain, whose deferred call would run inside the interval), and
// a body that unwinds is settled by this frame's, set up before the
// clock is read, as Atomically's does for a counted call
// (unwoundFirst).
func (tx *Tx) runSampled(fn func(*Tx) error, t *threadRec) (err error) {
	mode := tx.drawTimed(t)
	tx.prof.mode = mode
	setRecQuiet(tx, t) // t is tx.lastGThread (Atomically)
	returned := false
	defer func() {
		if !returned {
			err = tx.unwoundFirst(recover(), fn)
		}
	}()
	now := cputicks()
	tx.prof.t0 = now
	res, err := tx.attemptBare(fn)
	returned = true
	if res == ended {
		// Met nothing (a promoted call does not end on the plain path):
		// recPlainEnded's steps for it, written out, as every sampled
		// call passes here. One attempt, no wait: t0 is now, and the
		// call holds no buffer.
		if d := cputicks() - now; mode == modeSampled {
			t.addSample(d)
		} else {
			t.addTimed(d)
		}
		setRecQuiet(tx, nil)
		tx.prof.mode, tx.prof.t0 = modeCounted, 0
		tx.pcs = tx.pcs[:0]
		putTx(tx)
		t.r.nudgeFlusher(now) // record.go
		return nil
	}
	return tx.settleHooked(fn, res, err)
}

// settleHooked carries on a recorded call after its plain first attempt.
func (tx *Tx) settleHooked(fn func(*Tx) error, res outcome, err error) error {
	if res == ended {
		// Committed, and all but the recording ended: the sample, or
		// the commit event of a call that met contention on the way.
		tx.recPlainEnded()
		putTx(tx)
		return nil
	}
	defer putTx(tx)
	if r, done := tx.settle(res, err); done {
		return r
	}
	return tx.loopHooked(fn)
}

// loopHooked is loopPlain for a recorded call: its later attempts (after
// a conflict, a Retry) take the plain path too, and one that commits there
// ends with its commit event.
func (tx *Tx) loopHooked(fn func(*Tx) error) error {
	for {
		tx.begin()
		var res outcome
		var err error
		if tx.holdsToken || tx.rec == nil {
			res, err = tx.attempt(fn)
		} else if res, err = tx.attemptPlain(fn, false); res == ended {
			tx.recPlainEnded()
			return nil
		}
		if r, done := tx.settle(res, err); done {
			return r
		}
	}
}

// recBegin attaches the Atomically call to a thread (th, or the
// goroutine's). At the full level the call takes the thread's buffer at
// once and logs every attempt; at the profile level it takes nothing, and
// only a call that meets contention (promote) starts logging.
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
		if th.busy.Load()&busyLogged != 0 {
			// Held by a logged call whose body called Atomically on this
			// goroutine: waiting for its buffer would never end.
			th = tx.txThread(r)
		}
	}
	tx.rec = th
	if tx.traced {
		// A traced conflict's message is written when it happens, with
		// both sides' sites as they are then: no re-run patches it.
		th.wantSites()
	}
	if r.full {
		storeOwned32(&th.busy, busyLogged|busyFull)
		th.held = true
		tx.prof.mode = r.fullMode
		tx.patch = sitePatch{idx: -1}
		return
	}
	if loadGate(&th.gate) == 0 {
		th.open() // a thread of a context's own, or not quiet, stays shut
	}
	if th.drawn() {
		tx.prof.mode = tx.drawTimed(th)
	} else {
		tx.prof.mode = modeCounted
	}
}

// recEnd detaches the thread at the end of an Atomically call.
func (tx *Tx) recEnd() {
	th := tx.rec
	if th == nil {
		return
	}
	tx.rec = nil
	tx.prof.mode, tx.prof.t0, tx.prof.wait, tx.prof.keepT0 = modeCounted, 0, 0, false
	if th.held {
		tx.recEndHeld(th)
	}
}

func (tx *Tx) recEndHeld(th *threadRec) {
	th.reuse, th.now, th.pend = false, 0, 0
	tx.patch = sitePatch{idx: -1}
	th.publish(tx) // a patch still pending is dropped: its event goes as it is
	th.held = false
	storeOwned32(&th.busy, th.busy.Load()&^(busyLogged|busyPaused))
	th.open()
}

func (tx *Tx) recAbort(c logformat.AbortCause) {
	if tx.rec != nil {
		if c == logformat.AbortRetry && !tx.logged() {
			tx.quietRetry() // recprofile.go: counted, not logged
			return
		}
		tx.emit(packKind(logformat.KindTxAbort, 0, c, 0), 0)
		if c == logformat.AbortConflict || c == logformat.AbortRetry {
			tx.rec.sameTime() // the re-run, or the Retry's pause, follows
		}
	}
}

// waitStart records a pause.
func (tx *Tx) waitStart(r logformat.WaitReason) {
	if th := tx.rec; th != nil {
		if tx.prof.wait != 0 {
			return // a Retry wait counted, not logged (quietRetry)
		}
		tx.emit(packKind(logformat.KindWaitStart, 0, 0, r), 0)
		storeOwned32(&th.busy, th.busy.Load()|busyPaused)
	}
}

func (tx *Tx) waitDone(r logformat.WaitReason) {
	if th := tx.rec; th != nil {
		if tx.prof.wait != 0 {
			tx.quietWaitDone()
			return
		}
		storeOwned32(&th.busy, th.busy.Load()&^busyPaused)
		tx.emit(packKind(logformat.KindWaitDone, 0, 0, r), 0)
		if r == logformat.WaitRetry || r == logformat.WaitBackoff {
			th.sameTime() // between attempts: the re-run follows
		}
	}
}

func (tx *Tx) recBecomeInevitable(off, n int32) {
	tx.emit(uint32(logformat.KindBecomeInevitable), tx.internSite(off, n))
}

func (tx *Tx) recConflict(k logformat.ConflictKind, v uint64, off, n int32, other, otherSite uint32) {
	if !tx.logged() {
		tx.promote()
	}
	// Both entries go in together: no hand-over between them, and neither
	// is published (the patch index set meanwhile holds emitAt back): the
	// next event publishes them, or a patch of this one's site (awaitSite)
	// holds them back until it is done.
	th := tx.rec
	if cap(th.buf)-len(th.buf) < 3 { // the two, and a start still pending
		th.setBuf(slices.Grow(th.buf, 3))
	}
	p := tx.patch.idx
	tx.patch.idx = 0
	site := tx.internSite(off, n)
	tx.emit(packKind(logformat.KindConflict, k, 0, 0), site)
	th.sameTime() // its abort or pause follows
	tx.patch.idx = p
	m := len(th.buf)
	th.buf = th.buf[:m+1] // room made above
	th.buf[m] = rawEvent{int64(v), other, otherSite}
	// Both sides write sites again for a while: the other's names it in
	// the next conflicts with it, ours names this side when it is the
	// writer of a write-write conflict (a counted call that captured no
	// site at its Store has it patched by its re-run: awaitSite).
	th.wantSites()
	th.r.wantSites(other)
	if tracingOn() {
		traceConflict(k, v, site, other, otherSite) // trace.go
	}
}
