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
	// Inevitable sets extra as well, and a plain first attempt becomes
	// inevitable in no other way, so extra covers it.
	if n := len(tx.writes); err == nil && tx.state == stActive && !tx.extra && n <= 4 {
		// Only the read and write sets to commit and reset. A read-only
		// attempt commits as it is: every read was consistent when made.
		tx.state = 0
		if n != 0 {
			if n == 1 {
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

// commitOne is commit for a write set of one Var: lock it,
// check for an inevitable transaction, take a version, validate, publish,
// as commit does. It returns committed, aborted (a read went stale: the
// conflict is noted, the lock given back), or failed when it did not
// take the fast way (the Var is locked, an inevitable transaction runs),
// leaving everything as it was for commit.
func (tx *Tx) commitOne() outcome {
	e := &tx.writes[0]
	h := e.h
	var old unsafe.Pointer
	var oldVer uint64
	if h.nw != 0 {
		b := (*boxHeader)(e.box)
		if e.fused {
			// From the version our Load read: a failure is a Var locked
			// or changed since, which the general commit sorts out.
			oldVer = e.oldVer
		} else {
			oldVer = b.loadVersion()
		}
		if oldVer&1 != 0 || !atomic.CompareAndSwapUint64(&b.version, oldVer, tx.lockWord) {
			return failed
		}
		*heldFrom(e.box) = oldVer
		old = e.box
		if tx.rec != nil && tx.keepNames(e, b) { // a counted call of the profile level (quiet)
			tx.renameInPlace(e, b)
		}
	} else {
		if tx.rec != nil && !e.ready {
			tx.nameBox(e)
			e.ready = true
		}
		old = atomic.LoadPointer(&h.val)
		oldVer = (*boxHeader)(old).loadVersion()
		if oldVer&1 != 0 || !atomic.CompareAndSwapPointer(&h.val, old, e.box) {
			return failed
		}
	}
	// (e.old, e.oldVer and e.ready are for the general commit and for
	// recording: a conflict noted while recording reads e.old.)
	if tx.rec != nil {
		e.old, e.oldVer = old, oldVer
	}
	if inevFlag.Load() {
		tx.unlockOne(e, old, oldVer)
		return failed
	}
	rs := tx.reads // in registers (as commitFew's)
	if e.fused && len(rs) == 1 {
		rs = nil // the one read is the fused one, validated by the lock
	}
	lw := tx.lockWord
	for i := range rs {
		r := &rs[i]
		cur := atomic.LoadPointer(&r.h.val)
		if v := (*boxHeader)(cur).loadVersion(); cur == r.box && (v == r.ver || v == lw && *heldFrom(cur) == r.ver) {
			continue // as in commitFew
		}
		if r.h == h && cur == e.box && r.box == old && r.ver == oldVer {
			continue // locked by us, and what we replace is what we read
		}
		tx.noteReadConflict(i)
		tx.unlockOne(e, old, oldVer)
		return aborted
	}
	// The version after the validation, not before as a shared clock
	// would need: only this context reads its counter, and the loop
	// above is then free of it (a register spilled and reloaded per read).
	wv := tx.nextVersion()
	// publish's steps for one entry, written out: a shared helper would
	// not inline, and a one-write commit would pay the call.
	q := h.waitq.Load() // before the version store: see publish
	if q != nil && q.n.Load() == 0 {
		q = nil
	}
	switch nw := h.nw; nw {
	case 0:
	case 1:
		storeWord((*uint64)(unsafe.Add(e.box, boxValueOff)), tx.arena[e.off])
	default:
		// publish's loop.
		src, dst := unsafe.Pointer(&tx.arena[e.off]), unsafe.Add(e.box, boxValueOff)
		for k := uintptr(0); k < uintptr(nw)*8; k += 8 {
			storeWord((*uint64)(unsafe.Add(dst, k)), *(*uint64)(unsafe.Add(src, k)))
		}
	}
	storeReleaseInline64(&(*boxHeader)(e.box).version, wv)
	if q != nil {
		q.wake()
	}
	return committed
}

// commitFew is commit for a write set of a few Vars (attemptPlain: 2 to
// 4), written out as commitOne is: the locks taken in Var id order from a
// sort of at most four indexes on the stack, without waiting, then the
// inevitability flag, the read set validated (held Vars by heldFrom), a
// version and the values published. It returns as commitOne does:
// failed, with nothing held, when a Var is locked by another commit or an
// inevitable transaction runs, for the general commit, which waits. A call that a profile-level
// recording counts (tx.rec set) names the writer in each box it locks
// (tryLockNamed), as commitOne does.
func (tx *Tx) commitFew() outcome {
	ws := tx.writes
	n := len(ws)
	if n > 4 {
		return failed
	}
	var o [4]uint8
	if n == 2 {
		// The commonest, a compare (the loop's bounds checks cost more).
		o[1] = 1
		if ws[1].h.id < ws[0].h.id {
			o[0], o[1] = 1, 0
		}
	} else {
		for i := 1; i < n; i++ {
			o[i] = uint8(i)
			for j := i; j > 0 && ws[o[j]].h.id < ws[o[j-1]].h.id; j-- {
				o[j], o[j-1] = o[j-1], o[j]
			}
		}
	}
	held, fused := 0, 0
	if tx.rec != nil {
		for ; held < n; held++ {
			e := &ws[o[held]]
			if !e.fused {
				if !tx.tryLockNamed(e) {
					break
				}
				continue
			}
			// tryLockNamed's step for a fused write (an in-place Var),
			// inline as below: the call cost more than the lock.
			b := (*boxHeader)(e.box)
			if !atomic.CompareAndSwapUint64(&b.version, e.oldVer, lockedVersion) {
				break
			}
			e.old = e.box
			fused++
			if tx.keepNames(e, b) {
				tx.renameInPlace(e, b)
			}
		}
	} else {
		for ; held < n; held++ {
			e := &ws[o[held]]
			if e.fused {
				// tryLock's step for a fused write, inline: the lock from
				// the (even) version read.
				if !atomic.CompareAndSwapUint64(&(*boxHeader)(e.box).version, e.oldVer, tx.lockWord) {
					break
				}
				// No e.old: for an in-place Var locked with the lock
				// word, the validations go by heldFrom, not by e.old
				// (needed only for lockedVersion, recording's lock), and
				// the general commit sets it when it locks.
				*heldFrom(e.box) = e.oldVer
				fused++
			} else if e.h.nw != 0 {
				// tryLock's step for an in-place Var, inline: the lock
				// from the version current.
				b := (*boxHeader)(e.box)
				v := b.loadVersion()
				if v&1 != 0 || !atomic.CompareAndSwapUint64(&b.version, v, tx.lockWord) {
					break
				}
				*heldFrom(e.box) = v
				e.oldVer = v // (no e.old: as above)
			} else if !tryLock(e, tx.lockWord) {
				break
			}
		}
	}
	if held < n || inevFlag.Load() {
		tx.unlockFew(ws, o[:held])
		return failed
	}
	// Each fused write has its own Var and its own read of it, validated
	// by its lock: when they are all the reads, nothing is left to check.
	if fused != len(tx.reads) {
		// validate(true) for a few writes, written out (as a function
		// its call cost more than its loop): a read of an in-place Var
		// we hold is checked against heldFrom; of a boxed one we hold, by
		// a scan of our writes (wfilter first) rather than findWrite.
		// The reads in registers: the atomic loads make the compiler
		// reload tx's fields.
		rs, lw := tx.reads, tx.lockWord
	next:
		for i := range rs {
			r := &rs[i]
			cur := atomic.LoadPointer(&r.h.val)
			if v := (*boxHeader)(cur).loadVersion(); cur == r.box && (v == r.ver || v == lw && *heldFrom(cur) == r.ver) {
				continue // unchanged, or an in-place Var we hold, locked from the version read
			}
			if tx.wfilter&(1<<(r.h.id&63)) != 0 {
				for j := range ws {
					if w := &ws[j]; w.h == r.h {
						if cur == w.box && w.old == r.box && w.oldVer == r.ver {
							continue next // locked by us, and what we replace is what we read
						}
						break
					}
				}
			}
			tx.noteReadConflict(i)
			tx.unlockFew(ws, o[:n])
			return aborted
		}
	}
	tx.publish(tx.nextVersion()) // after the validation, as in commitOne
	return committed
}

// tryLock is lockWrites' step for one entry of a commit that does not
// record, without waiting: false if the Var is locked or changed under us.
func tryLock(e *writeEntry, lockWord uint64) bool {
	if e.h.nw != 0 {
		b := (*boxHeader)(e.box)
		var v uint64
		if e.fused {
			v = e.oldVer // from the version read (commitOne)
		} else {
			v = b.loadVersion()
		}
		if v&1 != 0 || !atomic.CompareAndSwapUint64(&b.version, v, lockWord) {
			return false
		}
		*heldFrom(e.box) = v
		e.old, e.oldVer = e.box, v
		return true
	}
	cur := atomic.LoadPointer(&e.h.val)
	v := (*boxHeader)(cur).loadVersion()
	if v&1 != 0 || !atomic.CompareAndSwapPointer(&e.h.val, cur, e.box) {
		return false
	}
	e.old, e.oldVer, e.ready = cur, v, true
	return true
}

// tryLockNamed is tryLock for a counted call of a profile-level recording:
// the new box is named before anyone can see it, and a locked in-place
// box names us, its old names kept in e (keepNames), as lockWrites does.
// It repeats tryLock's steps because calling tryLock, or an inlined step
// both share, costs more instructions a lock (BENCHMARKS.md, Round 6).
func (tx *Tx) tryLockNamed(e *writeEntry) bool {
	if e.h.nw != 0 {
		b := (*boxHeader)(e.box)
		var v uint64
		if e.fused {
			v = e.oldVer // from the version read (commitOne)
		} else {
			v = b.loadVersion()
		}
		if v&1 != 0 || !atomic.CompareAndSwapUint64(&b.version, v, tx.lockWord) {
			return false
		}
		*heldFrom(e.box) = v
		e.old, e.oldVer = e.box, v
		if tx.keepNames(e, b) {
			tx.renameInPlace(e, b)
		}
		return true
	}
	if !e.ready {
		tx.nameBox(e)
		e.ready = true
	}
	cur := atomic.LoadPointer(&e.h.val)
	v := (*boxHeader)(cur).loadVersion()
	if v&1 != 0 || !atomic.CompareAndSwapPointer(&e.h.val, cur, e.box) {
		return false
	}
	e.old, e.oldVer = cur, v
	return true
}

// unlockFew is unlockWrites for the entries o of ws that tryLock (or
// tryLockNamed) locked.
func (tx *Tx) unlockFew(ws []writeEntry, o []uint8) {
	for _, i := range o {
		e := &ws[i]
		if e.h.nw != 0 {
			b := (*boxHeader)(e.box)
			if tx.rec != nil && e.ready {
				storeLocked32(&b.writer, e.oldWriter)
				storeLocked32(&b.site, e.oldSite)
			}
			storeRelease64(&b.version, e.oldVer)
		} else {
			atomic.StorePointer(&e.h.val, e.old)
		}
	}
}

// unlockOne is unlockWrites for commitOne's entry, which replaced old at
// oldVer.
func (tx *Tx) unlockOne(e *writeEntry, old unsafe.Pointer, oldVer uint64) {
	if e.h.nw != 0 {
		b := (*boxHeader)(e.box)
		if tx.rec != nil {
			storeLocked32(&b.writer, e.oldWriter)
			storeLocked32(&b.site, e.oldSite)
		}
		storeRelease64(&b.version, oldVer)
		return
	}
	atomic.StorePointer(&e.h.val, old)
}

// load is Var.Load without the type, so that Load inlines into the body
// and the body calls it directly: it returns where the value is, to be
// copied out at once (a pending write, a committed box's value, or for an
// in-place Var a copy in tx.scratch, which the next load overwrites). A
// one-word in-place Var that is visible, unlocked and not torn is read
// here, its read set entry appended inline; anything else goes through
// readWords or readBox.
func (tx *Tx) load(h *varHeader) unsafe.Pointer {
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
					if h.contended.Load() {
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
					if h.contended.Load() {
						goto words
					}
				}
				// The copy written out here, not a call (as publish's):
				// one atomic load a word, the last first.
				dst := &tx.scratch
				if nw := h.nw; nw == 8 {
					// Tested first, on its own: the switch on the count
					// was a search of four compares to reach 8.
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
			if h.contended.Load() {
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
// pending box's value), appending the write set entry inline for a new
// write of an in-place Var; a boxed Var's new box comes from h.newBox.
func (tx *Tx) store(h *varHeader) unsafe.Pointer {
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
						tx.writeSite(&e.pcOff, &e.pcN)
					}
					return unsafe.Add(e.box, boxValueOff)
				}
				e.off = tx.arenaAlloc(h.nw)
			}
			if tx.rec != nil && tx.storeSite(h) {
				tx.writeSite(&e.pcOff, &e.pcN)
			}
			if h.nw != 0 {
				return tx.pending(e)
			}
			return unsafe.Add(e.box, boxValueOff)
		}
	}
	if h.nw == 0 {
		b := h.newBox()
		tx.addWrite(h, b, 0)
		return unsafe.Add(b, boxValueOff)
	}
	off := tx.arenaAlloc(h.nw)
	ws := tx.writes // once, as load's read set
	if i := len(ws); i < cap(ws) && i < linearMax {
		// addWrite, inline.
		ws = ws[:i+1]
		tx.writes = ws
		e := &ws[i]
		e.h, e.box, e.off, e.sp, e.ready, e.fused, e.pcOff, e.pcN = h, atomic.LoadPointer(&h.val), off, tx.spSerial, false, false, 0, 0
		tx.wfilter = wf | bit
		if tx.rec != nil && tx.storeSite(h) {
			tx.writeSite(&e.pcOff, &e.pcN)
		}
		if n := len(tx.reads); n == i+1 && tx.reads[i].h == h {
			// Read, then written, as every Var before it (the commit
			// skips validation only when every read is fused): the
			// commit locks from the version read. (Recording too: a
			// lock that fails so goes to the general commit, which
			// notes the conflict.)
			e.oldVer, e.fused = tx.reads[i].ver, true
		}
	} else {
		tx.addWrite(h, atomic.LoadPointer(&h.val), off)
	}
	return unsafe.Pointer(&tx.arena[off])
}

// keepForRollback saves write set entry i as it is, for a rollback of the
// Select alternative that is about to write it anew.
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
