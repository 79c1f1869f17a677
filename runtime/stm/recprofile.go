package stm

// The profile level's counting and sampling of calls that meet no
// contention (see the comment below); the threads they are counted on
// are in recthread.go.

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// Profile level. A call that meets no contention is one attempt, start to
// commit, and is only counted (countCommit). Reading the clock costs more
// than a small transaction (tens of nanoseconds where the time-stamp
// counter is virtualized), so such a call is timed only when it is drawn
// for the sample: one call in sampleMean on average, at random intervals
// so that no periodic pattern of the program lines up with the draws. The
// time committed by untimed calls is estimated from the sample, per thread
// and flush interval; the log carries the sums needed for its error (see
// logformat.Aggregate). An untimed attempt that meets contention logs an
// estimated start (promote).
//
// Where calls are few, timing each costs little: a thread that committed
// at most timeAllRate counted calls a second over the last flush interval
// (flusher: writeAggregate; a new thread starts so) has every call timed,
// exactly (aggTimed),
// which at 2 clock reads a call costs at most a few tenths of a percent of
// a processor; a slow workload's committed time is then measured, not
// estimated from a handful of samples. Whether a call is timed so depends
// only on calls before it, so the sample stays a uniform draw from the
// calls not timed exactly. So is every call of a thread whose timed calls
// averaged at least timeEvery clock reads at the last flush (about 2 µs
// where a read costs 11 ns: two reads cost at most 1 % of such a call),
// where a sample would only add error.
const (
	sampleMean  = 64
	timeAllRate = 100_000
	timeEvery   = 200
)

// A quiet thread: recording at the profile level, the current
// recorder's (not stale) and held by no enclosing call (busy 0). An
// Atomically call on the goroutine of a quiet thread (its gate, compared
// with curg) is only counted, or timed for the sample: unless drawn for
// the sample (drawn: runSampled, called from Atomically), such a call
// takes the plain path (Atomically), and when it commits without meeting
// anything it ends as recQuietEnd does: no clock read, no event, no store
// to a word that another goroutine writes. A counted call that meets
// something carries on through the general loop (settleHooked); a
// full-level call takes the plain path too (fullIdle), and any other goes
// through runGeneral. Between calls tx.prof.mode is modeCounted and t0 0
// (recEnd), so a counted call sets nothing there. Atomically writes out
// the counted call's start and end (setRecQuiet's stores and
// recQuietEnd's), as the compiler marks each inlined call with an
// instruction of its own (a NOP where the call's first instruction is
// another inlined call's).

// noThread is every context's lastGThread until it records: its gate is
// never open (curg is never 0 where Atomically compares it), so a context
// needs no nil test there.
var noThread threadRec

// open opens t's gate if t is a goroutine's and quiet; t's goroutine calls
// it. A stop that marks t stale meanwhile is not missed: stopLocked sets
// stale and then closes the gate, so either its close comes after our
// store, or our load of stale after the store sees it (the stores are
// sequentially consistent, as the loads).
func (t *threadRec) open() {
	if t.g == 0 || loadPair(&t.busy) != 0 {
		return
	}
	t.gate.Store(t.g)
	if t.stale.Load() != 0 {
		t.gate.Store(0)
	}
}

// tickCost is what one cputicks call costs, in ticks: the least over a
// few rounds of the mean of 64 calls in a row, measured when a recorder
// starts.
var tickCost atomic.Int64

func measureTickCost() {
	best := int64(1) << 62
	for range 8 {
		a := cputicks()
		for range 63 {
			cputicks()
		}
		best = min(best, (cputicks()-a)/64)
	}
	tickCost.Store(max(best, 1))
}

// longCalls reports whether th's timed calls so far average at least
// timeEvery clock reads. The flusher asks, at every flush, and keeps the
// answer in th.long for drawTimed: a sampled call does not pay the loads
// and the division.
func (th *threadRec) longCalls() bool {
	n := th.aggSampled.Load() + th.aggTimed.Load()
	return n >= 8 && (th.aggSampledTicks.Load()+th.aggTimedTicks.Load())/n >= uint64(timeEvery*tickCost.Load())
}

// Modes of a call at the profile level (txProf.mode).
const (
	modeCounted   = iota // neither logged nor timed: only counted
	modeSampled          // drawn for the sample: timed, then counted
	modeTimed            // timed because its thread's calls are long: exact
	modeLogged           // met contention: every attempt logged
	modeFull             // the full level: logged as modeLogged from the start of the call
	modeFullSites        // modeFull, and every Store's site captured (WithEverySite, storeSite)
)

// txProf is a context's profile-level state for the current call.
type txProf struct {
	mode uint8  // modeCounted, modeSampled, modeTimed, modeLogged, modeFull or modeFullSites
	rnd  uint64 // xorshift state for the sampling intervals
	t0   int64  // start of the current attempt (ticks) if timed, else 0
	// wait is the start (ticks) of a Retry wait counted, not logged
	// (quietRetry), while it lasts; keepT0: t0 is the re-run's start.
	wait   int64
	keepT0 bool
}

// drawn reports whether th's next counted call is to be timed: its run of
// counted calls is over (drawTimed set its length).
func (th *threadRec) drawn() bool { return loadOwnedI64(&th.left) <= 0 }

// countCommit counts a commit that is not logged.
func (th *threadRec) countCommit() { decOwned(&th.left) }

// commitsNotLogged is the flusher's read of th's count, from cbase and
// left as drawTimed wrote them last, in a pair; prev (the count as of the
// last read) if the goroutine stays between its stores past a few tries
// (it lacks a processor while the program exits).
func (th *threadRec) commitsNotLogged(prev uint64) uint64 {
	for range 64 {
		s := th.cseq.Load()
		b, l := th.cbase.Load(), th.left.Load()
		if s&1 == 0 && th.cseq.Load() == s {
			return b - uint64(l)
		}
		runtime.Gosched()
	}
	return prev
}

// drawTimed is the mode of a call that drawn made a timed one, and sets
// the point of the next: the next call while thread th is slow (timeAll),
// else a random number of calls on (sampleInterval). The call itself
// commits one more (addSample, addTimed) unless it ends logged.
func (tx *Tx) drawTimed(th *threadRec) uint8 {
	mode := uint8(modeSampled)
	if th.every {
		mode = modeTimed
	}
	every := th.long.Load()
	if !every && th.timeAll.Load() {
		// Few calls: at most those of timeAllRate for one flush interval,
		// so that a thread that speeds up (or a new one, which starts
		// timing all) goes back to sampling before the flusher says so.
		if g := th.r.gen.Load(); g != th.allGen {
			th.allGen, th.allN = g, 0
		}
		th.allN++
		every = th.allN <= int32(timeAllRate*flushInterval/time.Second)
	}
	k := int32(1)
	if th.every = every; !every {
		k = tx.sampleInterval()
	}
	// The next run: k calls, this one first.
	c := loadOwned(&th.cbase) - uint64(loadOwnedI64(&th.left))
	th.cseq.Add(1)
	storeOwned(&th.cbase, c+uint64(k))
	storeOwnedI64(&th.left, int64(k))
	th.cseq.Add(1)
	return mode
}

func (tx *Tx) logged() bool { return tx.prof.mode >= modeLogged }

// sampleInterval draws the number of calls to the next sampled one,
// uniform in [1, 2*sampleMean-1].
func (tx *Tx) sampleInterval() int32 {
	x := tx.prof.rnd
	if x == 0 {
		x = tx.id*0x9e3779b97f4a7c15 | 1
	}
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	tx.prof.rnd = x
	// x's high 32 bits scaled to [0, 2*sampleMean-1) by a multiply (no
	// division; the bias is below 2^-25).
	return int32((x>>32)*(2*sampleMean-1)>>32) + 1
}

// recStart is the start of an attempt (general loop).
func (tx *Tx) recStart() {
	switch tx.prof.mode {
	case modeCounted, modeSampled, modeTimed:
		if tx.prof.keepT0 {
			tx.prof.keepT0 = false // t0 is the end of a counted Retry wait
		} else if tx.prof.mode == modeCounted {
			tx.prof.t0 = 0
		} else {
			tx.prof.t0 = cputicks()
		}
	default:
		tx.emit(uint32(logformat.KindTxStart), 0)
	}
}

// recCommit is a commit (general loop): an event if the call is logged,
// else a count, and a sample if it was timed.
func (tx *Tx) recCommit() {
	switch th := tx.rec; tx.prof.mode {
	case modeCounted:
		th.countCommit()
	case modeSampled:
		th.addSample(cputicks() - tx.prof.t0)
	case modeTimed:
		th.addTimed(cputicks() - tx.prof.t0)
	default:
		tx.emit(uint32(logformat.KindTxCommit), 0)
		addOwned(&th.aggLogged, 1)
	}
}

// addTimed counts a commit timed exactly (modeTimed), of d ticks.
func (th *threadRec) addTimed(d int64) {
	th.countCommit()
	addOwned(&th.aggTimed, 1)
	addOwned(&th.aggTimedTicks, uint64(max(d, 0)))
}

// addSample counts a commit timed as the sample, of d ticks.
func (th *threadRec) addSample(d int64) {
	d = max(d, 0)
	th.countCommit()
	addOwned(&th.aggSampled, 1)
	addOwned(&th.aggSampledTicks, uint64(d))
	fd := float64(d)
	addOwnedFloat(&th.aggSampledSq, fd*fd)
}

// promote makes the call a logged one at its first event: it takes the
// thread's buffer and writes the start of the current attempt, exact if
// the attempt was timed, else estimated (the thread's mean sampled
// duration before now, counted in aggEstimated).
func (tx *Tx) promote() {
	th := tx.rec
	storeOwned32(&th.busy, th.busy.Load()|busyLogged)
	th.gate.Store(0)
	th.held = true
	tx.prof.mode = modeLogged
	tx.patch = sitePatch{idx: -1}
	// Not the plain path's end (attemptPlain): the commit is an event
	// now, so a plain call's first attempt that commits does not return
	// ended, and the counted call's end (Atomically, runSampled) needs
	// no test of the mode.
	tx.extra = true
	t := tx.prof.t0
	if t == 0 {
		now := cputicks()
		th.now = now // the event that made us promote happens now
		t = now
		if n := th.aggSampled.Load(); n > 0 {
			t -= int64(th.aggSampledTicks.Load() / n)
		}
		addOwned(&th.aggEstimated, 1)
	}
	tx.emitAt(uint32(logformat.KindTxStart), 0, t)
}

// Retry waits at the profile level. A call that has met no contention and
// whose attempt ends in a Retry is waiting for a condition (a hand-off, an
// empty queue), as a channel receive does: its wait is not logged as events
// (the abort, the pause and the re-run's start, and the promote of the
// call) but counted per thread, with exact times (logformat.Aggregate's
// RetryWaits): every Retry of a ping-pong or a consumer on an empty queue
// cost the call's promote, six events and their flushing otherwise
// (BENCHMARKS.md). A call that meets other contention afterwards is logged
// from that attempt on, as any.

// quietRetry counts the abort of the attempt that retried, timed from its
// start to now, which is also the start of the wait (waitStart leaves it
// be). An attempt that was not timed from its start is only counted
// (aggRetryEstimated): the flusher adds the thread's mean sampled duration
// for each (writeAggregate), as promote estimates a start, without a
// division here.
func (tx *Tx) quietRetry() {
	th := tx.rec
	now := cputicks()
	if t := tx.prof.t0; t != 0 {
		addOwned(&th.aggRetryAbortedTicks, uint64(max(now-t, 0)))
	} else {
		addOwned(&th.aggRetryEstimated, 1)
	}
	tx.prof.wait = max(now, 1)
}

// quietWaitDone ends a wait that quietRetry began: the pause is counted,
// and the re-run starts now (keepT0: recStart leaves t0 be), an exact start
// for a later Retry or promote. The call keeps its mode: a counted one's
// commit is counted, untimed, and a sampled one's commit times the re-run
// (the attempt that commits, as a full-level log times it), so the sample
// stays a draw made before the call.
func (tx *Tx) quietWaitDone() {
	th := tx.rec
	now := cputicks()
	addOwned(&th.aggRetryPausedTicks, uint64(max(now-tx.prof.wait, 0)))
	addOwned(&th.aggRetryWaits, 1)
	tx.prof.wait = 0
	tx.prof.t0, tx.prof.keepT0 = now, true
}

// workerIdle reports whether a Queue worker's own thread t is its current
// recorder's and no call holds it: busy and stale both 0 (the profile
// level: runCounted) or busy the full level's mark alone (runFull).
func (t *threadRec) workerIdle() bool {
	p := loadPair(&t.busy)
	return p == 0 || p == busyFull
}

// runCounted is a Queue worker's transaction at the profile level, on the
// worker's own thread t while it is quiet (runSpan holds t for the whole
// call, as setRecQuiet needs): Atomically's counted call, or runSampled's
// timed one when drawn, with the first attempt in attemptBare (runSpan
// recovers what the body raises). It returns ended when that attempt
// committed and the call is over (the worker keeps tx), else the outcome
// for settle, tx.rec set (loopHooked carries on, as after runFull).
func (tx *Tx) runCounted(fn func(*Tx) error, t *threadRec) (outcome, error) {
	mode := uint8(modeCounted)
	if t.drawn() {
		mode = tx.drawTimed(t)
	}
	tx.prof.mode = mode
	setRecQuiet(tx, t)
	var now int64
	if mode != modeCounted {
		now = cputicks()
		tx.prof.t0 = now
	}
	res, err := tx.attemptBare(fn)
	if res != ended {
		return res, err
	}
	switch mode {
	case modeCounted:
		t.countCommit()
	case modeSampled:
		t.addSample(cputicks() - now)
	default:
		t.addTimed(cputicks() - now)
	}
	setRecQuiet(tx, nil)
	if mode != modeCounted {
		tx.prof.mode, tx.prof.t0 = modeCounted, 0
		t.r.nudgeFlusher(now) // record.go
	}
	tx.pcs = tx.pcs[:0]
	return ended, nil
}
