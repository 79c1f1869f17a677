package stm

import (
	"sync/atomic"
	"unsafe"
)

// The fast commits for any write set of one to four Vars, boxed ones too,
// and for a call that a profile-level recording counts (tx.rec set), which
// names the writer in each box it locks: commitOneAll and commitFewAll,
// which callers take when tx.rec is set or tx.dirty (fastcommit.go's
// commitOne and commitFew take the rest).

// commitOneAll is commitOne for any Var, boxed too, and for a call that a
// profile-level recording counts (tx.rec set), which names the writer in
// the box it locks (nameInPlace, nameBox).
//
// nosplit: see "Stack checks" in fastcommit.go.
//
//go:nosplit
func (tx *Tx) commitOneAll() outcome {
	e := writeAt(tx.writes, 0) // attemptPlain and finish call it with one write
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
		if tx.rec != nil { // a counted call of the profile level (quiet)
			tx.nameInPlace(e, b)
		}
	} else {
		old = atomic.LoadPointer(&h.val)
		oldVer = (*boxHeader)(old).loadVersion()
		if tx.rec != nil {
			// Named before anyone can see it (the compare-and-swap
			// below shows it). A conflict noted while recording names
			// the other side by the box we replace (noteReadConflict
			// reads e.old); a failed lock leaves e.old to the general
			// commit, which sets it when it locks. An in-place Var's
			// entry needs neither: the other side is in e.oldNames
			// (nameInPlace), and unlockOne takes old, oldVer.
			if !e.ready {
				tx.nameBox(e)
				e.ready = true
			}
			e.old, e.oldVer = old, oldVer
		}
		if oldVer&1 != 0 || !atomic.CompareAndSwapPointer(&h.val, old, e.box) {
			return failed
		}
	}
	if inevFlag.Load() != 0 {
		tx.unlockOne(e, old, oldVer)
		return failed
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
			continue // as in commitFew
		}
		if r.h == h && cur == e.box && r.box == old && r.ver == oldVer {
			continue // locked by us, and what we replace is what we read
		}
		return tx.abortOne(i, old, oldVer)
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
		storeWord((*uint64)(unsafe.Add(e.box, boxValueOff)), *(*uint64)(arenaAt(tx.arena, e.off)))
	default:
		// publish's loop.
		src, dst := arenaAt(tx.arena, e.off), unsafe.Add(e.box, boxValueOff)
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

// commitFewAll is commitFew for any write set of a few Vars, boxed ones
// too (tryLock), and for a call that a profile-level recording counts
// (tx.rec set), which names the writer in each box it locks
// (tryLockNamed), as commitOne does. Not nosplit, unlike the others: its
// frame unoptimized (-N -l, a debug build) and the runtime's bounds-check
// panic below it do not fit in the stack guard.
func (tx *Tx) commitFewAll() outcome {
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
				if e.h.nw != 0 {
					// tryLockNamed's step for an in-place Var, inline
					// as the off path's is (the call cost more than the
					// lock), and as there without e.old: locked with
					// the lock word, the Var is validated by heldFrom.
					b := (*boxHeader)(e.box)
					v := b.loadVersion()
					if v&1 != 0 || !atomic.CompareAndSwapUint64(&b.version, v, tx.lockWord) {
						break
					}
					*heldFrom(e.box) = v
					e.oldVer = v
					tx.nameInPlace(e, b)
				} else if !tx.tryLockNamed(e) {
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
			tx.nameInPlace(e, b)
		}
	} else {
		for ; held < n; held++ {
			e := writeAt(ws, int(o[held])) // the sort's indexes are below n
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
	if held < n {
		return tx.unlockFewFailed(o[:held])
	}
	if inevFlag.Load() != 0 { // (apart, as in commitFew)
		return tx.unlockFewFailed(o[:held])
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
			return tx.abortFew(i, o[:n])
		}
	}
	wv := tx.nextVersion() // after the validation, as in commitOne
	if n == 2 {
		// publish's case of two one-word in-place Vars that nobody
		// waits on (a transfer, a Put), written out: the call and its
		// prologue cost more than these steps. noWaiters as branches:
		// inlined, its || became a materialized bool.
		e0, e1 := writeAt(ws, 0), writeAt(ws, 1)
		if h0, h1 := e0.h, e1.h; h0.nw == 1 && h1.nw == 1 {
			if q := h0.waitq.Load(); q != nil {
				if q.n.Load() != 0 {
					goto general
				}
			}
			if q := h1.waitq.Load(); q != nil {
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
// box names us, its old names kept in e (nameInPlace), as lockWrites does.
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
		tx.nameInPlace(e, b)
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
