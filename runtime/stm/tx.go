package stm

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// linearMax is the write-set size up to which lookups scan the slice; beyond
// it a map index is kept. Most transactions write a handful of Vars.
const linearMax = 8

type readEntry struct {
	h     *varHeader
	box   unsafe.Pointer // the committed box read
	ver   uint64         // its version; box and version still current = still valid
	pcOff int32          // where this Load happened, in tx.pcs (recording only)
	pcN   int32
}

type writeEntry struct {
	h *varHeader
	// box is the new *box[T], locked (lockedVersion) until published; for
	// an in-place Var (inplace.go) it is the Var's own box, and the
	// pending value is in tx.arena at off.
	box    unsafe.Pointer
	old    unsafe.Pointer // the box it replaced, while locked at commit
	oldVer uint64         // and that box's version
	off    int32          // in-place Vars: the pending value's words in tx.arena
	sp     uint32         // savepoint serial the box belongs to (Select)
	ready  bool           // writer and site set (before the box is first shown)
	// fused: an in-place Var whose write is the i-th and whose read the
	// i-th (a body that reads each Var and then writes it, or reads a
	// Var, then others, and writes the first; store): oldVer holds
	// the version that Load read, and the fast commits lock the Var by a
	// compare-and-swap from exactly that version, which validates that
	// read (the entry stays in the read set for extend, Retry and the
	// general commit, which ignore the flag).
	fused bool
	pcOff int32 // where the last Store happened (recording only)
	pcN   int32
	// In-place Vars, while recording: who wrote the version we lock, as
	// boxHeader.names has them (the box's writer and site fields are ours
	// while we hold it), if ready says so.
	oldNames uint64
}

type undoEntry struct {
	idx   int32
	box   unsafe.Pointer
	off   int32
	sp    uint32
	pcOff int32
	pcN   int32
}

type pendingAdd struct {
	q  *Queue
	it qitem
}

// Tx is one transaction attempt's state. It is valid only inside the
// function passed to Atomically (or Queue.Add); it is pooled and reused.
type Tx struct {
	// The pads keep the fields every transaction writes off the cache lines
	// of neighbouring objects: pooled contexts made on one P end up in use
	// on different cores, and a shared line costs each commit a miss.
	_        [128]byte
	id       uint64
	home     *ownedWord // the ownership word of the P this context belongs to, nil if pooled (ctx.go)
	lockWord uint64     // odd, its own: the version word of an in-place Var it holds (takeSlot)

	slot    uint32           // this context's commit clock (clock.go)
	view    [viewSize]uint64 // per slot: the highest version this context's snapshots may see (clock.go)
	reads   []readEntry
	writes  []writeEntry
	windex  map[*varHeader]int32
	wfilter uint64 // bit id&63 set for each written Var: cheap negative lookups
	// rec is the call's recording thread, nil when not recording (see
	// record.go). Beside wfilter: a counted call's end clears both with
	// one 16-byte store.
	rec   *threadRec
	order []int32
	undo  []undoEntry
	after []func()
	adds  []pendingAdd

	// Select savepoints: writes[:spWrites] belong to enclosing levels.
	spWrites    int
	spSerial    uint32
	spNext      uint32
	selectDepth int

	state      uint8 // stActive: inside the body; stDoomed: an abort was signalled, the body must not go on
	extra      bool  // undo, after, adds, the Select fields or windex may be set, or a set grew (discard, end)
	dirty      bool  // the sets may hold a boxed Var's entries, or aborts is set: attemptPlain's end clears them (fast.go)
	inevitable bool  // irrevocable: will commit
	userInev   bool  // the body called Inevitable (so it may have done I/O)
	holdsToken bool  // owns the inevitability token (may precede inevitable)
	admitted   bool  // this commit attempt was let through by a token release
	aborts     int   // conflict aborts of the current Atomically call

	clk  *clockSlot // this context's commit counter and statistics (clock.go)
	wait *waiter

	// Waiting for the inevitability token (inevitable.go).
	inevCh     chan struct{} // the token is handed over on it; made on first wait
	inevSiteID uint32        // where we asked (recording), for inevSite
	inevAsked  uint64        // inevTurns when we queued
	inevWaited uint64        // grants to others while we waited (tests check FIFO)

	// Recording (see record.go; rec is above).
	pcs         []uintptr
	callN       int32             // pcs[:callN]: where Atomically was called, once contention made it inevitable
	ownRec      *threadRec        // this pooled context's own thread
	lastG       uintptr           // the goroutine (curg) this context last recorded for
	lastGThread *threadRec        // and its thread
	siteCache   [4]siteCacheEntry // stacks interned lately (internSite)
	siteNext    uint8
	wkeys       writeKeys // writeSite's keys (sites.go)
	patch       sitePatch // a conflict event waiting for its read site
	prof        txProf    // profile level: is this call logged, is it timed
	traced      bool      // run is inside runTraced (trace.go)

	// First backing arrays of the sets, inside the padded object for the
	// same reason (small separate allocations from one P sit side by side).
	readsInit  [8]readEntry
	writesInit [4]writeEntry
	orderInit  [4]int32

	// Pending values of in-place Vars (inplace.go), reset with the writes.
	arena     []uint64
	arenaInit [16]uint64
	scratch   words // an in-place value being loaded (fast.go)
	_         [128]byte
}

// abortSignal and retrySignal unwind a body; Atomically and Select recover them.
type signal struct{ what string }

var (
	abortSignal = &signal{"stm: transaction attempt aborted (internal; do not recover)"}
	retrySignal = &signal{"stm: Retry (internal; do not recover)"}
)

func (s *signal) Error() string { return s.what }

// The bits of Tx.state. One byte for both, so that checkActive, in every
// Load and Store, is one compare.
const (
	stActive = 1 << iota // inside the body
	stDoomed             // an abort was signalled; the body must not go on
)

func (tx *Tx) checkActive() {
	if tx.state != stActive {
		tx.notActive()
	}
}

// notActive is checkActive's panic, out of line.
//
//go:noinline
func (tx *Tx) notActive() {
	if tx.state&stDoomed != 0 {
		// The body recovered our abort signal and went on: keep unwinding.
		panic(abortSignal)
	}
	panic("stm: Tx used outside its transaction (a *Tx must not escape the function given to Atomically)")
}

// findWrite returns the write-set index of h, or -1.
func (tx *Tx) findWrite(h *varHeader) int {
	if tx.windex != nil {
		if i, ok := tx.windex[h]; ok {
			return int(i)
		}
		return -1
	}
	for i := range tx.writes {
		if tx.writes[i].h == h {
			return i
		}
	}
	return -1
}

// addWrite appends h's write set entry (b, off: its pending box or arena
// words). Its site is storeSlow's to look up (writeSiteUp), from
// storeSlow's frame.
func (tx *Tx) addWrite(h *varHeader, b unsafe.Pointer, off int32) {
	i := len(tx.writes)
	if i < cap(tx.writes) {
		tx.writes = tx.writes[:i+1]
	} else {
		tx.writes = grow1(tx.writes)
		tx.extra = true // the general end: it may have grown past maxKeptWrites
	}
	tx.dirty = true // (an in-place Var too: rare)
	e := &tx.writes[i]
	// e.old is set when the commit locks h.
	e.h, e.box, e.off, e.sp, e.ready, e.pcOff, e.pcN = h, b, off, tx.spSerial, false, 0, 0
	e.fused = false
	tx.wfilter |= 1 << (h.id & 63)
	if tx.windex != nil {
		tx.windex[h] = int32(i)
	} else if len(tx.writes) > linearMax {
		tx.extra = true // discard drops the index
		tx.windex = make(map[*varHeader]int32, 2*linearMax)
		for j := range tx.writes {
			tx.windex[tx.writes[j].h] = int32(j)
		}
	}
}

// grow1 extends s by one element, left as it was (callers set every
// field). The set entries are filled in field by field rather than appended
// as a composite literal: the literal is built on the stack and copied in
// 16-byte moves, and the load of that copy can stall behind the stores
// that built it (BENCHMARKS.md, "Recording on").
func grow1[E any](s []E) []E {
	if len(s) < cap(s) {
		return s[:len(s)+1]
	}
	var zero E
	return append(s, zero)
}

// readBox returns a committed box of h consistent with tx's snapshot, and
// adds h to the read set. It aborts the attempt if no consistent box exists.
func (tx *Tx) readBox(h *varHeader) unsafe.Pointer {
	tx.checkActive()
	spins := 0
	for {
		p := atomic.LoadPointer(&h.val)
		v := (*boxHeader)(p).loadVersion()
		if v&1 != 0 {
			tx.waitUnlocked(h, &spins, logformat.ConflictWriteRead, 0, -1)
			continue
		}
		if !tx.visible(v) {
			// Written after our snapshot: try to move the snapshot forward
			// (LSA); if something we read has changed since, we must abort.
			if i := tx.extend(v); i >= 0 {
				tx.conflictOnRead(i)
			}
			if atomic.LoadPointer(&h.val) != p {
				continue // replaced meanwhile: look again
			}
			// Published before the validation and still current after
			// it: current at the snapshot, whether or not the view
			// remembers its slot.
		}
		tx.addRead(h, p, v)
		return p
	}
}

// addRead appends a read of box p at version v of h to the read set.
func (tx *Tx) addRead(h *varHeader, p unsafe.Pointer, v uint64) {
	n := len(tx.reads)
	if n < cap(tx.reads) {
		tx.reads = tx.reads[:n+1] // sets the length only: no write barrier
	} else {
		tx.reads = grow1(tx.reads)
		tx.extra = true // the general end: it may have grown past maxKeptReads
	}
	tx.dirty = true // (an in-place Var too: rare)
	e := &tx.reads[n]
	e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
	if tx.readSiteWanted(h) {
		tx.readSite(h, e)
	}
}

// waitUnlocked pauses while a committing transaction holds h (its box is
// locked). Commits are short and never wait on a reader, so this cannot
// deadlock. After a short spin the pause is counted and logged as a
// conflict of the given kind (this side's site is off, n in tx.pcs, or,
// when n < 0, the caller's stack), followed by a commit-lock wait: the
// locked box names the committer and where it wrote h.
func (tx *Tx) waitUnlocked(h *varHeader, spins *int, kind logformat.ConflictKind, off, n int32) {
	*spins++
	if *spins < 64 {
		return
	}
	*spins = 0
	b := h.loadBox()
	if b.loadVersion()&1 == 0 {
		return
	}
	tx.clk.stats.conflict(kind)
	if tx.rec != nil {
		if n < 0 {
			tx.captureSite(&off, &n)
		}
		w, site := b.writerSite()
		tx.recConflict(kind, h.id, off, n, w, site)
	}
	tx.waitStart(logformat.WaitCommitLock)
	awaitUnlock(h)
	tx.waitDone(logformat.WaitCommitLock)
}

// awaitUnlock returns once h's box is not locked. A commit holds its locks
// for well under a microsecond, so a lock still held after a few yields
// means its holder is not running (its thread descheduled by the OS, or
// the hypervisor's): yielding on would burn a processor until it runs
// again, so the wait turns into sleeps, doubling up to a millisecond.
func awaitUnlock(h *varHeader) {
	for i := 0; h.loadBox().loadVersion()&1 != 0; i++ {
		if i < 8 {
			runtime.Gosched()
		} else {
			time.Sleep(time.Microsecond << min(i-8, 10))
		}
	}
}

// begin starts an attempt.
func (tx *Tx) begin() {
	if len(tx.reads) > 0 {
		clearReads(tx.reads) // a previous attempt's (Retry waited on them)
		tx.reads = tx.reads[:0]
	}
	tx.state = stActive
	tx.userInev = false
	if tx.rec != nil {
		tx.recStart()
	}
	if tx.holdsToken {
		// Inevitable from the start: nobody commits while we hold the token.
		tx.inevitable = true
		tx.becameInevitable(0, tx.callN)
	}
}

// clearReads and clearWrites drop the references the entries hold, so a
// context that sits idle keeps no old value alive; field by field, since
// the sets are short and clear's bulk write barrier is a call.
func clearReads(rs []readEntry) {
	for i := range rs {
		rs[i].h, rs[i].box = nil, nil
	}
}

func clearWrites(ws []writeEntry) {
	for i := range ws {
		ws[i].h, ws[i].box, ws[i].old = nil, nil, nil
	}
}

// discard drops everything the attempt buffered, keeping the read set (Retry
// waits on it).
func (tx *Tx) discard() {
	if len(tx.writes) > 0 {
		clearWrites(tx.writes)
		tx.writes = tx.writes[:0]
		tx.wfilter = 0
		tx.arena = tx.arena[:0]
		if tx.windex != nil {
			tx.windex = nil
		}
	}
	if tx.extra {
		// Select, AfterCommit, Queue.Add: rarer, so behind one flag.
		tx.extra = false
		if len(tx.undo) > 0 {
			clear(tx.undo)
			tx.undo = tx.undo[:0]
		}
		if len(tx.after) > 0 {
			clear(tx.after)
			tx.after = tx.after[:0]
		}
		if len(tx.adds) > 0 {
			clear(tx.adds)
			tx.adds = tx.adds[:0]
		}
		tx.spWrites, tx.spSerial, tx.spNext, tx.selectDepth = 0, 0, 0, 0
	}
	tx.state &^= stActive
	if len(tx.pcs) != int(tx.callN) {
		tx.pcs = tx.pcs[:tx.callN]
	}
}

// A context keeps set arrays up to these capacities between calls; larger
// ones, grown by an unusually big transaction, are dropped at its end.
const (
	maxKeptReads  = 4096
	maxKeptWrites = 1024
	maxKeptArena  = 4096
)

// end releases everything at the end of an Atomically call.
func (tx *Tx) end() {
	tx.discard()
	if len(tx.reads) > 0 {
		clearReads(tx.reads)
		tx.reads = tx.reads[:0]
	}
	if tx.holdsToken {
		releaseToken(tx)
	}
	tx.inevitable = false
	tx.userInev = false
	tx.aborts = 0
	if tx.callN != 0 || len(tx.pcs) != 0 {
		tx.callN = 0
		tx.pcs = tx.pcs[:0]
	}
	if cap(tx.reads) > maxKeptReads {
		tx.reads = tx.readsInit[:0]
	}
	if cap(tx.writes) > maxKeptWrites {
		tx.writes = tx.writesInit[:0]
		tx.order = tx.orderInit[:0]
	}
	if cap(tx.arena) > maxKeptArena {
		tx.arena = tx.arenaInit[:0]
	}
}

// AfterCommit arranges for f to run once, after the transaction commits, on
// the goroutine that called Atomically. It does not run if the attempt
// aborts, returns an error or panics.
func (tx *Tx) AfterCommit(f func()) {
	tx.checkActive()
	tx.extra = true
	tx.after = append(tx.after, f)
}

type outcome uint8

const (
	committed outcome = iota
	failed            // body returned an error
	aborted           // conflict: run again
	retried           // Retry: wait, then run again
	abandoned         // unwound by runtime.Goexit; tx already ended
	ended             // committed, and the call ended (the plain path, fast.go)
)

// Atomically runs fn as a transaction: all its Loads see one consistent
// snapshot and all its Stores become visible together, or not at all. It
// runs fn again (from the start) when it conflicts with another
// transaction, so fn must have no effects besides Loads and Stores, unless
// it calls Inevitable first. If fn returns an error, its writes are
// discarded and the error is returned unchanged; fn is not run again. If fn
// returns ErrRetry (or an error wrapping it), it is a Retry: Atomically
// waits for a change and runs fn again. If fn panics, its writes are
// discarded and the panic propagates.
func Atomically(fn func(tx *Tx) error) (err error) {
	// getTx's common case, written out: the call cost more than its
	// steps (ctx.go).
	var tx *Tx
	p := procPin()
	if uint(p) < maxPCtx {
		pc := &pctxs[p]
		if c := &pc.c[0]; c.own.take() {
			if tx = c.tx; tx != nil {
				goto got
			}
			c.own.release() // not made yet: getTxOther makes it
		} else if c := &pc.c[1]; c.own.take() {
			// getTxOther's common case (the first context waits in
			// Retry: a hand-off), written out too.
			if tx = c.tx; tx != nil {
				goto got
			}
			c.own.release()
		}
	}
	tx = getTxOther(p) // (it unpins)
	goto have
got:
	procUnpin()
have:
	// The plain call, and the call a profile-level recording only counts,
	// run their first attempt here, under Atomically's own defer rather
	// than attemptPlain's (whose steps these are: keep the three alike),
	// and when it commits with nothing but the read and write sets to
	// reset, the call ends here; anything else (a conflict, a Retry, an
	// error, AfterCommit, Inevitable...) carries on in the general loop,
	// from the outcome of that first attempt. A body that unwinds (a
	// panic, an abort or Retry signal, runtime.Goexit) leaves returned
	// false: the deferred function settles the call from there, as
	// settlePlain does. It must not look at tx otherwise: once given
	// back, another call may be using it. The other calls of a recording
	// or a trace return with returned set.
	returned := false
	t := tx // (never reassigned: the closure holds the pointer, not tx's slot)
	defer func() {
		if !returned {
			err = t.unwoundFirst(recover(), fn)
		}
	}()
	if h := hookState(); recorderBuilt && h == uint32(recording) {
		// Recording a profile, and this call is only counted (quiet,
		// recthread.go): the plain call's steps, as below, with tx.rec
		// set, and the commit counted (recQuietEnd's steps; tx.rec is set
		// and cleared as setRecQuiet does, without a write barrier).
		g := curg()
		th := t.lastGThread
		if haveCurg && loadGate(&th.gate) == g { // (th is noThread, never nil, until the context records)
			if loadOwnedI64(&th.left) <= 0 { // th.drawn(), written out: one inlined call, one mark (quiet, recthread.go)
				returned = true
				return t.runSampled(fn, th)
			}
			recTx := (*uintptr)(unsafe.Pointer(&t.rec))
			*recTx = uintptr(unsafe.Pointer(th))
			t.state = stActive
			err = fn(t)
			// As below. A call that met contention (promote) has extra set,
			// so one that ends here was only counted.
			if n := len(t.writes); err == nil && t.plainActive() && n <= 4 {
				t.state = 0
				if n != 0 {
					var res outcome
					if n == 1 { // (t.rec is set)
						res = t.commitOneAll()
					} else {
						res = t.commitFewAll()
					}
					if res != committed {
						returned = true
						return t.settleFast(fn, res)
					}
				}
				t.clk.stats.commits.inc()
				if t.dirty {
					t.clearSets()
				}
				t.reads = t.reads[:0]
				t.writes = t.writes[:0]
				t.wfilter = 0
				*recTx = 0 // (one store with wfilter's)
				t.arena = t.arena[:0]
				decOwned(&t.lastGThread.left) // countCommit, written out; th is not kept across the call
				returned = true
				putTx(t)
				return nil
			}
			res, err := t.finish(err)
			t.state &^= stActive
			returned = true
			return t.settlePlain(fn, res, err)
		}
		if !haveCurg || t.lastG != g || !th.fullIdle() { // (curg.go: th is set)
			returned = true
			return t.runGeneral(fn)
		}
		// A call at the full level: its first attempt runs in runFull
		// under this frame's defer (runFull has none), which settles
		// an unwound body as a plain call's; a first attempt that does
		// not end there carries on as a counted call's does
		// (settlePlain takes tx.rec's general loop).
		res, err := t.runFull(fn, th, true)
		returned = true
		if res == ended {
			return nil
		}
		return t.settlePlain(fn, res, err)
	} else if h != 0 { // tracing
		returned = true
		return t.runGeneral(fn)
	}
	t.state = stActive
	e := fn(t) // in registers: err, which the deferred function sets, is in memory
	// Inevitable sets extra as well, and a plain first attempt becomes
	// inevitable in no other way, so extra covers it.
	if n := len(t.writes); e == nil && t.plainActive() && n <= 4 {
		t.state = 0
		if n != 0 {
			var res outcome
			if t.dirty {
				if n == 1 {
					res = t.commitOneAll()
				} else {
					res = t.commitFewAll()
				}
			} else if n == 1 {
				res = t.commitOne() // (t.rec is nil: no hook is on)
			} else {
				res = t.commitFew()
			}
			if res != committed {
				returned = true
				return t.settleFast(fn, res)
			}
		}
		// attemptPlain's end (fast.go says why it clears so little).
		t.clk.stats.commits.inc()
		if t.dirty {
			t.clearSets()
		}
		t.reads = t.reads[:0]
		t.writes = t.writes[:0]
		t.wfilter = 0
		t.arena = t.arena[:0]
		returned = true
		putTx(t)
		return nil
	}
	// finish may panic (ErrRetry with nothing read): returned is false
	// until it is done, so the deferred function cleans up, as for the
	// body's panics.
	res, err := t.finish(e)
	t.state &^= stActive
	returned = true
	return t.settlePlain(fn, res, err)
}

// run is Atomically on a given Tx; th is the recording thread to use (Queue
// workers have their own), nil to look it up.
func (tx *Tx) run(fn func(*Tx) error, th *threadRec) error {
	if tracingOn() && !tx.traced {
		return tx.runTraced(fn, th) // trace.go: the same, in a trace region
	}
	if recordingOn() {
		tx.recBegin(th)
		return tx.loop(fn)
	}
	if !tx.traced {
		return tx.runPlain(fn)
	}
	return tx.loop(fn)
}
