package stm

import (
	"sync/atomic"
	"unsafe"
)

// The plain path: the first attempt of an Atomically call with no hook on
// (no tracer, no recorder), written out straight for the common cases. A
// call that a profile-level recording only counts takes it too (quiet,
// recthread.go): then tx.rec is set, and the steps that name the writer
// or capture sites for conflicts do so.
//
// A read-only attempt, or one that wrote a single Var, commits and ends
// inside attemptPlain: no sort, no loops over one entry, no calls between
// the steps; a Load of a one-word in-place Var is one call (readWord). The
// steps are those of the general path (tx.go, commit.go) in the same
// order, and anything they do not cover (a locked Var, an inevitable
// transaction, a stale read, AfterCommit, Select, Inevitable, a set that
// grew...) goes to the general code from where the fast path stopped.

// attemptPlain is begin and attempt for an attempt of a plain call: the
// first (tx fresh from getTx: the sets are empty and end has reset the
// flags), or a later one after begin (loopPlain), giveBack false (the
// caller gives tx back).
// It returns ended when the attempt committed and the call is over (tx
// reset, to be given back), else the outcome for settle.
func (tx *Tx) attemptPlain(fn func(*Tx) error, giveBack bool) (res outcome, err error) {
	tx.state = stActive
	defer func() {
		// Still active: the body panicked or called runtime.Goexit (or
		// unwound with an abort or Retry signal). Every return below
		// leaves tx inactive.
		if tx.state&stActive != 0 {
			res = tx.unwound(recover(), giveBack)
		}
	}()
	err = fn(tx)
	// (attemptBare and Atomically repeat these steps.)
	// Inevitable sets extra as well, and a plain first attempt becomes
	// inevitable in no other way, so extra covers it.
	if n := len(tx.writes); err == nil && tx.plainActive() && n <= 4 {
		// Only the read and write sets to commit and reset. A read-only
		// attempt commits as it is: every read was consistent when made.
		tx.state = 0
		if n != 0 {
			if tx.rec != nil || tx.dirty {
				if n == 1 {
					res = tx.commitOneAll()
				} else {
					res = tx.commitFewAll()
				}
			} else if n == 1 {
				res = tx.commitOne()
			} else {
				res = tx.commitFew()
			}
			switch res {
			case aborted:
				return aborted, nil
			case failed:
				// Not taken: the general commit decides.
				if !tx.commit() {
					return aborted, nil
				}
				return committed, nil
			}
		}
		// end for a plain call that committed with nothing to reset but
		// the sets, written out here: as a function it would not inline.
		// The entries are cleared only when a boxed Var's may be among
		// them (tx.dirty): an in-place Var's entry keeps nothing alive but
		// that Var and its box, which holds no pointers, until later
		// attempts overwrite it, and clearing it was a store and a write
		// barrier check per pointer. The abort count is reset behind the
		// same flag (settle sets it with each abort).
		tx.clk.stats.commits.inc()
		if tx.dirty {
			tx.clearSets()
		}
		tx.reads = tx.reads[:0]
		tx.writes = tx.writes[:0]
		tx.wfilter = 0
		tx.arena = tx.arena[:0]
		return ended, nil
	}
	res, err = tx.finish(err)
	tx.state &^= stActive
	return res, err
}

// attemptBare is attemptPlain for a Queue worker, with no defer: the
// worker's frame (queue.go) recovers what the body raises, for many
// transactions at once, so the attempt needs none of its own (a defer
// costs every transaction a closure, its call and results kept in memory).
// The steps after the body are attemptPlain's, repeated here: as a call
// they cost more than the defer saves on Atomically's path (keep the two
// alike).
func (tx *Tx) attemptBare(fn func(*Tx) error) (res outcome, err error) {
	tx.state = stActive
	err = fn(tx)
	// Inevitable sets extra as well, and a plain first attempt becomes
	// inevitable in no other way, so extra covers it.
	if n := len(tx.writes); err == nil && tx.plainActive() && n <= 4 {
		// Only the read and write sets to commit and reset. A read-only
		// attempt commits as it is: every read was consistent when made.
		tx.state = 0
		if n != 0 {
			if tx.rec != nil || tx.dirty {
				if n == 1 {
					res = tx.commitOneAll()
				} else {
					res = tx.commitFewAll()
				}
			} else if n == 1 {
				res = tx.commitOne()
			} else {
				res = tx.commitFew()
			}
			switch res {
			case aborted:
				return aborted, nil
			case failed:
				// Not taken: the general commit decides.
				if !tx.commit() {
					return aborted, nil
				}
				return committed, nil
			}
		}
		// end for a plain call that committed with nothing to reset but
		// the sets, written out here: as a function it would not inline.
		// The entries are cleared only when a boxed Var's may be among
		// them (tx.dirty): an in-place Var's entry keeps nothing alive but
		// that Var and its box, which holds no pointers, until later
		// attempts overwrite it, and clearing it was a store and a write
		// barrier check per pointer. The abort count is reset behind the
		// same flag (settle sets it with each abort).
		tx.clk.stats.commits.inc()
		if tx.dirty {
			tx.clearSets()
		}
		tx.reads = tx.reads[:0]
		tx.writes = tx.writes[:0]
		tx.wfilter = 0
		tx.arena = tx.arena[:0]
		return ended, nil
	}
	res, err = tx.finish(err)
	tx.state &^= stActive
	return res, err
}

// settlePlain settles a plain call's first attempt (run in Atomically's
// frame) that did not end it, and runs the call's later attempts; it
// gives tx back however the call ends.
func (tx *Tx) settlePlain(fn func(*Tx) error, res outcome, err error) error {
	defer putTx(tx)
	if r, done := tx.settle(res, err); done {
		return r
	}
	if tx.rec != nil {
		return tx.loopHooked(fn) // a counted call (Atomically)
	}
	return tx.loopPlain(fn)
}

// settleFast is settlePlain for a first attempt whose fast commit
// (commitOne, commitFew) aborted, or failed: not taken, so the general
// commit decides, as in attemptPlain.
func (tx *Tx) settleFast(fn func(*Tx) error, res outcome) error {
	defer putTx(tx)
	if res == failed {
		res = aborted
		if tx.commit() {
			res = committed
		}
	}
	if r, done := tx.settle(res, nil); done {
		return r
	}
	if tx.rec != nil {
		return tx.loopHooked(fn) // a counted call (Atomically)
	}
	return tx.loopPlain(fn)
}

// unwoundFirst is what Atomically's deferred function makes of a first
// attempt whose body unwound by r (recovered there): an abort or a Retry
// signal is settled and the call goes on from the deferred function; a
// panic goes on (tx given back), and runtime.Goexit (r == nil) ends the
// call, as unwound does.
func (tx *Tx) unwoundFirst(r any, fn func(*Tx) error) error {
	res := tx.unwound(r, true)
	if res == abandoned {
		return nil
	}
	return tx.settlePlain(fn, res, nil)
}

// loopPlain is loop for the attempts of a plain call after its first:
// through attemptPlain, unless the attempt is inevitable from its start
// (contention management gave it the token).
func (tx *Tx) loopPlain(fn func(*Tx) error) error {
	for {
		tx.begin()
		var res outcome
		var err error
		if tx.holdsToken {
			res, err = tx.attempt(fn)
		} else if res, err = tx.attemptPlain(fn, false); res == ended {
			return nil
		}
		if r, done := tx.settle(res, err); done {
			return r
		}
	}
}

// plainActive is state == stActive && !extra as one compare of the two
// adjacent bytes (the compiler loads and compares them as one word).
func (tx *Tx) plainActive() bool {
	return *(*[2]uint8)(unsafe.Pointer(&tx.state)) == [2]uint8{stActive, 0}
}

// extra follows state, for plainActive.
var _ [unsafe.Offsetof(Tx{}.extra) - unsafe.Offsetof(Tx{}.state) - 1]struct{}
var _ [1 - (unsafe.Offsetof(Tx{}.extra) - unsafe.Offsetof(Tx{}.state))]struct{}

// clearSets is attemptPlain's clearing of both sets (at their lengths) and
// of the abort count, out of line: it is rare.
//
//go:noinline
func (tx *Tx) clearSets() {
	tx.dirty = false
	tx.aborts = 0
	clearReads(tx.reads)
	clearWrites(tx.writes)
}

// load is Var.Load without the type, so that Load inlines into the body
// and the body calls it directly: it returns where the value is, to be
// copied out at once (a committed box's value, or for an in-place Var a
// copy in tx.scratch, which the next load overwrites). Here only the
// common cases, a Var not written in the attempt whose committed box is
// visible, unlocked and not torn, its read set entry appended inline;
// anything else (a pending write, a commit to take into the snapshot, a
// locked box, a read site to capture, a Tx not active) is loadSlow,
// called only as the last step, so that nothing of load's is live across
// a call (a call that returned into load would make the compiler save tx
// and h on the way in, for every Load).
//
// nosplit: see "Stack checks" in fastcommit.go.
//
//go:nosplit
func (tx *Tx) load(h *varHeader) unsafe.Pointer {
	if tx.wfilter&(1<<(h.id&63)) != 0 || tx.state != stActive {
		return tx.loadSlow(h)
	}
	p := atomic.LoadPointer(&h.val)
	b := (*boxHeader)(p)
	v := atomic.LoadUint64(&b.version)
	if v&1 != 0 || !tx.visible(v) {
		return tx.loadSlow(h)
	}
	// readSiteWanted as two branches, here and below: the inlined
	// call's && (with its atomic load) became a materialized bool.
	if tx.logged() {
		if h.contended.Load() && tx.readSiteOn() {
			return tx.loadSlow(h) // readWords or readBox records the site
		}
	}
	nw := h.nw
	if nw == 1 {
		tx.scratch[0] = atomic.LoadUint64((*uint64)(unsafe.Add(p, boxValueOff)))
		if atomic.LoadUint64(&b.version) == v {
			// The set loaded once, after the atomic loads (which would
			// make the compiler load it again): the append's bounds
			// checks follow from n < cap.
			rs := tx.reads
			if n := len(rs); n < cap(rs) {
				rs = rs[:n+1]
				tx.reads = rs
				e := &rs[n]
				e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
				return unsafe.Pointer(&tx.scratch)
			}
		}
		return tx.loadSlow(h)
	}
	if nw == 0 {
		// A boxed Var: its committed box.
		rs := tx.reads
		if n := len(rs); n < cap(rs) {
			rs = rs[:n+1]
			tx.reads = rs
			tx.dirty = true
			e := &rs[n]
			e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
			return unsafe.Add(p, boxValueOff)
		}
		return tx.loadSlow(h)
	}
	// The copy written out here, not a call (as publish's): one atomic
	// load a word, the last first.
	dst := &tx.scratch
	if nw == 8 {
		// Tested first, on its own: the switch on the count was a
		// search of four compares to reach 8.
		dst[7] = atomic.LoadUint64(boxWord(p, 7))
		dst[6] = atomic.LoadUint64(boxWord(p, 6))
		dst[5] = atomic.LoadUint64(boxWord(p, 5))
		dst[4] = atomic.LoadUint64(boxWord(p, 4))
		dst[3] = atomic.LoadUint64(boxWord(p, 3))
		dst[2] = atomic.LoadUint64(boxWord(p, 2))
		dst[1] = atomic.LoadUint64(boxWord(p, 1))
		dst[0] = atomic.LoadUint64(boxWord(p, 0))
	} else {
		switch nw {
		case 7:
			dst[6] = atomic.LoadUint64(boxWord(p, 6))
			fallthrough
		case 6:
			dst[5] = atomic.LoadUint64(boxWord(p, 5))
			fallthrough
		case 5:
			dst[4] = atomic.LoadUint64(boxWord(p, 4))
			fallthrough
		case 4:
			dst[3] = atomic.LoadUint64(boxWord(p, 3))
			fallthrough
		case 3:
			dst[2] = atomic.LoadUint64(boxWord(p, 2))
			fallthrough
		default:
			dst[1] = atomic.LoadUint64(boxWord(p, 1))
			dst[0] = atomic.LoadUint64(boxWord(p, 0))
		}
	}
	if atomic.LoadUint64(&b.version) == v {
		rs := tx.reads // as above
		if n := len(rs); n < cap(rs) {
			rs = rs[:n+1]
			tx.reads = rs
			e := &rs[n]
			e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
			return unsafe.Pointer(&tx.scratch)
		}
	}
	return tx.loadSlow(h)
}

// loadSlow is load past its common cases, and all of them: a Var written
// in the attempt (its pending value), one whose box is locked, torn or
// not yet in the snapshot (readWords, readBox; a one-word in-place Var's
// extension inline), or a read site to capture, or a Tx not active
// (checkActive panics).
func (tx *Tx) loadSlow(h *varHeader) unsafe.Pointer {
	if tx.wfilter&(1<<(h.id&63)) != 0 {
		if i := tx.findWrite(h); i >= 0 {
			if h.nw != 0 {
				return tx.pending(&tx.writes[i])
			}
			return unsafe.Add(tx.writes[i].box, boxValueOff)
		}
	}
	if h.nw == 1 {
		tx.checkActive()
		p := atomic.LoadPointer(&h.val)
		b := (*boxHeader)(p)
		v := b.loadVersion()
		if v&1 == 0 {
			if !tx.visible(v) {
				// As readWords: take the commit into the snapshot.
				if i := tx.extend(v); i >= 0 {
					tx.conflictOnRead(i)
				}
			}
			tx.scratch[0] = atomic.LoadUint64((*uint64)(unsafe.Add(p, boxValueOff)))
			if b.loadVersion() == v {
				// readSiteWanted as two branches, here and below: the
				// inlined call's && (with its atomic load) became a
				// materialized bool, five instructions a load.
				if tx.logged() {
					if h.contended.Load() && tx.readSiteOn() {
						goto general // readWords records the site
					}
				}
				// The set loaded once, after the atomic loads (which
				// would make the compiler load it again): the append's
				// bounds checks follow from n < cap.
				rs := tx.reads
				if n := len(rs); n < cap(rs) {
					rs = rs[:n+1]
					tx.reads = rs
					e := &rs[n]
					e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
					return unsafe.Pointer(&tx.scratch)
				}
			}
		}
	}
general:
	if h.nw != 0 {
		if h.nw > 1 {
			// readWords' steps, inline, for a Var that is visible and
			// unlocked (its call cost ~20 instructions a load).
			tx.checkActive()
			p := atomic.LoadPointer(&h.val)
			b := (*boxHeader)(p)
			v := b.loadVersion()
			if v&1 == 0 && tx.visible(v) {
				if tx.logged() {
					if h.contended.Load() && tx.readSiteOn() {
						goto words
					}
				}
				// The slow path: the loop, not load's copy written out
				// per word count.
				copyWordsIn(&tx.scratch, p, h.nw)
				if b.loadVersion() == v {
					rs := tx.reads // as above
					if n := len(rs); n < cap(rs) {
						rs = rs[:n+1]
						tx.reads = rs
						e := &rs[n]
						e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
						return unsafe.Pointer(&tx.scratch)
					}
				}
			}
		}
	words:
		tx.readWords(h, &tx.scratch)
		return unsafe.Pointer(&tx.scratch)
	}
	// A boxed Var: its committed box, if visible and unlocked, with the
	// read set entry appended inline; else readBox.
	tx.checkActive()
	p := atomic.LoadPointer(&h.val)
	if v := (*boxHeader)(p).loadVersion(); v&1 == 0 && tx.visible(v) {
		if tx.logged() {
			if h.contended.Load() && tx.readSiteOn() {
				goto boxed
			}
		}
		rs := tx.reads // as above
		if n := len(rs); n < cap(rs) {
			rs = rs[:n+1]
			tx.reads = rs
			tx.dirty = true
			e := &rs[n]
			e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
			return unsafe.Add(p, boxValueOff)
		}
	}
boxed:
	return unsafe.Add(tx.readBox(h), boxValueOff)
}

// store is Var.Store without the type, as load is Load's: it returns
// where to write the value (tx's pending words of an in-place Var, or the
// pending box's value). Here only the common case, the first write of an
// in-place Var in an attempt with room in the arena and the write set:
// the entry appended inline. Everything else is storeSlow, called only as
// the last step, so that no value of store's is live across a call but
// the recording's (a call that returned into store would make the
// compiler save tx, h and the filter on the way in, for every Store).
//
// nosplit: see "Stack checks" in fastcommit.go. Not inlined: writeSite
// and storeSlow find the Store's place from store's frame (callerFrame).
//
//go:nosplit
//go:noinline
func (tx *Tx) store(h *varHeader) unsafe.Pointer {
	wf, bit := tx.wfilter, uint64(1)<<(h.id&63)
	ws := tx.writes
	i := len(ws)
	if wf&bit != 0 || tx.state != stActive || i >= cap(ws) || i >= linearMax {
		return tx.storeSlow(h)
	}
	nw, a := int(h.nw), tx.arena
	off := len(a)
	if nw == 0 || off+nw > cap(a) {
		return tx.storeSlow(h)
	}
	tx.arena = a[:off+nw]
	ws = ws[:i+1]
	tx.writes = ws
	e := &ws[i]
	e.h, e.box, e.off, e.sp, e.ready, e.fused, e.pcOff, e.pcN = h, atomic.LoadPointer(&h.val), int32(off), tx.spSerial, false, false, 0, 0
	tx.wfilter = wf | bit
	if n := len(tx.reads); n > i && tx.reads[i].h == h {
		// The i-th Var read is the i-th written (a body that reads each
		// Var and then writes it, or reads a Var, then others, and
		// writes the first): the commit locks from the version read,
		// which validates that read. (Recording too: a lock that fails
		// so goes to the general commit, which notes the conflict.)
		e.oldVer, e.fused = tx.reads[i].ver, true
	}
	p := unsafe.Add(unsafe.Pointer(unsafe.SliceData(a)), off*8) // arenaAt, for an int
	// storeSite's test, written out as branches: the inlined call's
	// result (or the same test as one condition) became a materialized
	// bool, tested again.
	if tx.rec != nil {
		if h.contended.Load() {
			if m := tx.prof.mode; m < modeLogged || m == modeFull {
				if tx.rec.siteWant.Load() == 0 {
					return p
				}
			}
		} else if tx.prof.mode != modeFullSites {
			return p
		}
		// writeSite, by keyHere from this frame, and writeSiteLast
		// when it misses or a conflict waits for the site.
		if tx.patch.h == h || !keyHere(&tx.wkeys, e.siteWords()) {
			tx.writeSiteLast(h)
		}
	}
	return p
}

// storeSlow is store past its common case: a Var written before in the
// attempt, a boxed Var, an arena or write set to grow, or a Tx not active
// (checkActive panics). Its sites are looked up by writeSiteUp from its
// own frame, whose caller's is store's (callerFrame), never from a call
// below it (addWrite's): so not inlined either.
//
//go:noinline
func (tx *Tx) storeSlow(h *varHeader) unsafe.Pointer {
	tx.checkActive()
	// The filter and its bit in locals: the entry's stores below would
	// make the compiler load both again.
	wf, bit := tx.wfilter, uint64(1)<<(h.id&63)
	if wf&bit != 0 {
		if i := tx.findWrite(h); i >= 0 {
			e := &tx.writes[i]
			if i < tx.spWrites && e.sp != tx.spSerial {
				// Written before the innermost Select alternative began:
				// keep the old box (or arena words) for a rollback, write
				// into new ones.
				tx.keepForRollback(i)
				if h.nw == 0 {
					e.box = h.newBox()
					if tx.rec != nil && tx.storeSite(h) {
						tx.writeSiteUp(h, &e.pcOff, &e.pcN)
					}
					return unsafe.Add(e.box, boxValueOff)
				}
				e.off = tx.arenaAlloc(h.nw)
			}
			if tx.rec != nil && tx.storeSite(h) {
				tx.writeSiteUp(h, &e.pcOff, &e.pcN)
			}
			if h.nw != 0 {
				return tx.pending(e)
			}
			return unsafe.Add(e.box, boxValueOff)
		}
	}
	var p unsafe.Pointer
	if h.nw != 0 {
		off := tx.arenaAlloc(h.nw)
		if ws := tx.writes; len(ws) < cap(ws) && len(ws) < linearMax {
			// addWrite, inline, as in store.
			i := len(ws)
			ws = ws[:i+1]
			tx.writes = ws
			e := &ws[i]
			e.h, e.box, e.off, e.sp, e.ready, e.fused, e.pcOff, e.pcN = h, atomic.LoadPointer(&h.val), off, tx.spSerial, false, false, 0, 0
			tx.wfilter = wf | bit
			if n := len(tx.reads); n > i && tx.reads[i].h == h {
				e.oldVer, e.fused = tx.reads[i].ver, true
			}
		} else {
			tx.addWrite(h, atomic.LoadPointer(&h.val), off)
		}
		p = arenaAt(tx.arena, off) // arenaAlloc made the length off+nw, nw >= 1
	} else {
		b := h.newBox()
		tx.addWrite(h, b, 0)
		p = unsafe.Add(b, boxValueOff)
	}
	// The new entry's site, from here (see above).
	if tx.rec != nil && tx.storeSite(h) {
		e := &tx.writes[len(tx.writes)-1]
		tx.writeSiteUp(h, &e.pcOff, &e.pcN)
	}
	return p
}

// keepForRollback saves write set entry i as it is, for a rollback of the
// Select alternative that is about to write it anew. Out of line: it is
// rare, and inlined its append's copy calls the write barrier's bulk copy
// on some ports (ppc64le), whose nosplit chain does not fit under store's.
//
//go:noinline
func (tx *Tx) keepForRollback(i int) {
	e := &tx.writes[i]
	tx.extra = true
	tx.undo = append(tx.undo, undoEntry{idx: int32(i), box: e.box, off: e.off, sp: e.sp, pcOff: e.pcOff, pcN: e.pcN})
	e.sp = tx.spSerial
}

// boxValueOff is where a box's value starts: box[T].v follows the header
// at its size for every T (no T is aligned on more than the header's 8
// bytes; TestBoxValueOffset checks).
const boxValueOff = unsafe.Sizeof(boxHeader{})
