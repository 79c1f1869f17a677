package stm

import (
	"sync/atomic"
	"unsafe"
)

// The plain path's commits (fast.go): commitOne for one written Var,
// commitFew for two to four, with their locking and unlocking steps.

// Stack checks. The plain path's calls that every transaction makes
// (load, store, commitOne, commitFew, getTxOther) are nosplit: they skip
// the prologue's compare with the stack bound, two instructions a call.
// The linker checks that every chain of nosplit frames fits in the guard
// below the bound, on every port and in -N -l and -race builds, so none of
// them may call another (publish, Atomically and attemptBare stay split:
// commitFew then publish did not fit unoptimized), nor inline anything
// whose runtime helpers are nosplit and deep (keepForRollback, fast.go).
// A goroutine in a loop of Loads is still preempted at the body's own
// prologue, or asynchronously.

// commitOne is commit for a write set of one in-place Var, in a call that
// does not record (tx.rec nil, tx.dirty false: see commitFew; callers
// test both and call commitOneAll otherwise): lock it, check for an
// inevitable transaction, take a version, validate, publish, as commit
// does. It returns committed, aborted (a read went stale: the conflict
// is noted, the lock given back), or failed when it did not take the fast
// way (the Var is locked, an inevitable transaction runs), leaving
// everything as it was for commit. Every call it makes is its last step
// (the waiters' wake-up after the publish too), so that nothing is saved
// on the way in.
//
// nosplit: see "Stack checks" in fastcommit.go.
//
//go:nosplit
func (tx *Tx) commitOne() outcome {
	e := writeAt(tx.writes, 0) // attemptPlain and finish call it with one write
	h, old := e.h, e.box
	b := (*boxHeader)(old)
	oldVer := e.oldVer
	if !e.fused {
		// From the version current; fused, from the version our Load
		// read: a failure is a Var locked or changed since, which the
		// general commit sorts out.
		if oldVer = b.loadVersion(); oldVer&1 != 0 {
			return failed
		}
	}
	if !atomic.CompareAndSwapUint64(&b.version, oldVer, tx.lockWord) {
		return failed
	}
	*heldFrom(old) = oldVer
	if inevFlag.Load() != 0 {
		return tx.unlockOneFailed(old, oldVer)
	}
	rs := tx.reads // in registers (as commitFew's)
	i := 0
	if e.fused {
		// reads[0] is the fused read (store fuses write i only with
		// read i, of the same Var), validated by the lock.
		i = 1
	}
	lw := tx.lockWord
	for ; i < len(rs); i++ {
		r := &rs[i]
		cur := atomic.LoadPointer(&r.h.val)
		if v := (*boxHeader)(cur).loadVersion(); cur == r.box && (v == r.ver || v == lw && *heldFrom(cur) == r.ver) {
			continue // as in commitFew (an in-place Var's box never changes)
		}
		return tx.abortOne(i, old, oldVer)
	}
	wv := tx.nextVersion() // after the validation, as in commitOneAll
	// The waiters, read before the version store (see publish), as
	// branches: the && became a materialized bool.
	q := h.waitq.Load()
	if q != nil {
		if q.n.Load() == 0 {
			q = nil
		}
	}
	if nw := h.nw; nw == 1 {
		storeWord((*uint64)(unsafe.Add(old, boxValueOff)), *(*uint64)(arenaAt(tx.arena, e.off)))
	} else {
		// publish's loop.
		src, dst := arenaAt(tx.arena, e.off), unsafe.Add(old, boxValueOff)
		for k := uintptr(0); k < uintptr(nw)*8; k += 8 {
			storeWord((*uint64)(unsafe.Add(dst, k)), *(*uint64)(unsafe.Add(src, k)))
		}
	}
	storeReleaseInline64(&b.version, wv)
	if q != nil {
		q.wake()
	}
	return committed
}

// unlockOneFailed is commitOne's step back from an inevitable transaction:
// the lock given back, failed for the general commit. One call, the last
// step.
func (tx *Tx) unlockOneFailed(old unsafe.Pointer, oldVer uint64) outcome {
	tx.unlockOne(&tx.writes[0], old, oldVer)
	return failed
}

// commitFew is commit for a write set of a few Vars (attemptPlain: 2 to
// 4) of in-place Vars only, in a call that does not record: tx.rec nil,
// tx.dirty false (no boxed Var's entry since the sets were last cleared:
// a boxed write sets it, addWrite). Callers test both and call
// commitFewAll otherwise. Written out as commitOne is: the locks taken in
// Var id order from a sort of at most four indexes on the stack, without
// waiting, then the inevitability flag, the read set validated (held Vars
// by heldFrom), a version and the values published. It returns as
// commitOne does: failed, with nothing held, when a Var is locked by
// another commit or an inevitable transaction runs, for the general
// commit, which waits. Every call it makes is its last step, so that
// nothing is saved on the way in (commitFewAll's locking of a boxed Var
// and its recording's naming are calls with the loop's state live
// across them).
//
// nosplit: see "Stack checks" in fastcommit.go.
//
//go:nosplit
func (tx *Tx) commitFew() outcome {
	ws := tx.writes
	n := len(ws)
	if n > 4 {
		return failed
	}
	fused := 0
	lw := tx.lockWord
	var e0, e1 *writeEntry // n == 2: the entries in Var id order
	if n == 2 {
		// The commonest, unrolled: the two locks in Var id order, each
		// from the version read (fused) or the version current, as in
		// the loop below (no sort, no indexes, no loop).
		e0, e1 = writeAt(ws, 0), writeAt(ws, 1)
		if e1.h.id < e0.h.id {
			e0, e1 = e1, e0
		}
		// (Few named values: unoptimized, each takes a slot in the
		// frame, which must fit in the stack guard, nosplit.)
		v0 := e0.oldVer
		if !e0.fused {
			if v0 = (*boxHeader)(e0.box).loadVersion(); v0&1 != 0 {
				return failed
			}
		}
		if !atomic.CompareAndSwapUint64(&(*boxHeader)(e0.box).version, v0, lw) {
			return failed
		}
		*heldFrom(e0.box) = v0
		e0.oldVer = v0
		v1 := e1.oldVer
		if !e1.fused {
			if v1 = (*boxHeader)(e1.box).loadVersion(); v1&1 != 0 {
				return unlockInPlaceFailed(e0)
			}
		}
		if !atomic.CompareAndSwapUint64(&(*boxHeader)(e1.box).version, v1, lw) {
			return unlockInPlaceFailed(e0)
		}
		*heldFrom(e1.box) = v1
		e1.oldVer = v1
		if e0.fused {
			fused++
		}
		if e1.fused {
			fused++
		}
	} else {
		var o [4]uint8
		for i := 1; i < n; i++ {
			o[i] = uint8(i)
			for j := i; j > 0 && ws[o[j]].h.id < ws[o[j-1]].h.id; j-- {
				o[j], o[j-1] = o[j-1], o[j]
			}
		}
		held := 0
		for ; held < n; held++ {
			e := writeAt(ws, int(o[held])) // the sort's indexes are below n
			b := (*boxHeader)(e.box)
			if e.fused {
				// The lock from the (even) version read.
				if !atomic.CompareAndSwapUint64(&b.version, e.oldVer, lw) {
					break
				}
				// No e.old: for an in-place Var locked with the lock
				// word, the validations go by heldFrom, not by e.old
				// (needed only for lockedVersion, recording's lock), and
				// the general commit sets it when it locks.
				*heldFrom(e.box) = e.oldVer
				fused++
				continue
			}
			// The lock from the version current.
			v := b.loadVersion()
			if v&1 != 0 || !atomic.CompareAndSwapUint64(&b.version, v, lw) {
				break
			}
			*heldFrom(e.box) = v
			e.oldVer = v // (no e.old: as above)
		}
		if held < n {
			return tx.unlockFewFailed(o[:held])
		}
	}
	// Every entry is held: heldAll[:n] names them all (the order of the
	// unlocks does not matter).
	if inevFlag.Load() != 0 {
		return tx.unlockFewFailed(heldAll[:n])
	}
	// Each fused write has its own Var and its own read of it, validated
	// by its lock: when they are all the reads, nothing is left to check.
	if fused != len(tx.reads) {
		// validate(true) for a few writes, written out (as a function
		// its call cost more than its loop): a read of an in-place Var
		// we hold is checked against heldFrom (every Var written here is
		// in place).
		rs := tx.reads
		for i := range rs {
			r := &rs[i]
			cur := atomic.LoadPointer(&r.h.val)
			if v := (*boxHeader)(cur).loadVersion(); cur == r.box && (v == r.ver || v == lw && *heldFrom(cur) == r.ver) {
				continue // unchanged, or an in-place Var we hold, locked from the version read
			}
			return tx.abortFew(i, heldAll[:n])
		}
	}
	wv := tx.nextVersion() // after the validation, as in commitOne
	if n == 2 {
		// publish's case of two one-word in-place Vars that nobody
		// waits on (a transfer, a Put), written out: the call and its
		// prologue cost more than these steps. noWaiters as branches:
		// inlined, its || became a materialized bool.
		if e0.h.nw == 1 && e1.h.nw == 1 {
			if q := e0.h.waitq.Load(); q != nil {
				if q.n.Load() != 0 {
					goto general
				}
			}
			if q := e1.h.waitq.Load(); q != nil {
				if q.n.Load() != 0 {
					goto general
				}
			}
			arena := tx.arena
			storeWord((*uint64)(unsafe.Add(e0.box, boxValueOff)), *(*uint64)(arenaAt(arena, e0.off)))
			storeReleaseInline64(&(*boxHeader)(e0.box).version, wv)
			storeWord((*uint64)(unsafe.Add(e1.box, boxValueOff)), *(*uint64)(arenaAt(arena, e1.off)))
			storeReleaseInline64(&(*boxHeader)(e1.box).version, wv)
			return committed
		}
	}
general:
	tx.publish(wv)
	return committed
}

// heldAll lists every entry of a write set of up to four, for unlockFew
// when all are held.
var heldAll = [4]uint8{0, 1, 2, 3}

// unlockInPlaceFailed gives back the lock of commitFew's entry e (an
// in-place Var, locked from e.oldVer, not named: commitFew does not
// record), failed for the general commit.
//
//go:noinline
func unlockInPlaceFailed(e *writeEntry) outcome {
	storeRelease64(&(*boxHeader)(e.box).version, e.oldVer)
	return failed
}

// unlockFewFailed is commitFew's and commitFewAll's step back from a lock
// they did not get (or from an inevitable transaction): the locks o given
// back, failed for the general commit. One call, the last step.
func (tx *Tx) unlockFewFailed(o []uint8) outcome {
	tx.unlockFew(tx.writes, o)
	return failed
}

// abortFew is commitFew's abort on stale read i: the conflict noted, the
// locks o given back. One call, so that commitFew keeps nothing live
// across one.
func (tx *Tx) abortFew(i int, o []uint8) outcome {
	tx.noteReadConflict(i)
	tx.unlockFew(tx.writes, o)
	return aborted
}

// writeAt is &ws[i] without the bounds check, for an i known to be below
// len(ws).
func writeAt(ws []writeEntry, i int) *writeEntry {
	return (*writeEntry)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(ws)), uintptr(i)*unsafe.Sizeof(writeEntry{})))
}

// unlockFew is unlockWrites for the entries o of ws that tryLock (or
// tryLockNamed) locked.
func (tx *Tx) unlockFew(ws []writeEntry, o []uint8) {
	for _, i := range o {
		e := &ws[i]
		if e.h.nw != 0 {
			b := (*boxHeader)(e.box)
			if e.ready { // (nameInPlace renamed it: recording)
				storeLockedPair(&b.writer, e.oldNames)
			}
			storeRelease64(&b.version, e.oldVer)
		} else {
			atomic.StorePointer(&e.h.val, e.old)
		}
	}
}

// abortOne is commitOne's abort on stale read i: the conflict noted, the
// lock (of old, oldVer) given back. One call, so that commitOne keeps
// nothing live across one.
func (tx *Tx) abortOne(i int, old unsafe.Pointer, oldVer uint64) outcome {
	tx.noteReadConflict(i)
	tx.unlockOne(&tx.writes[0], old, oldVer)
	return aborted
}

// unlockOne is unlockWrites for commitOne's entry, which replaced old at
// oldVer.
func (tx *Tx) unlockOne(e *writeEntry, old unsafe.Pointer, oldVer uint64) {
	if e.h.nw != 0 {
		b := (*boxHeader)(e.box)
		if e.ready { // (nameInPlace renamed it: recording)
			storeLockedPair(&b.writer, e.oldNames)
		}
		storeRelease64(&b.version, oldVer)
		return
	}
	atomic.StorePointer(&e.h.val, old)
}
