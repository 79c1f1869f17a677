package stm

// The commit protocol: how an attempt's write set becomes visible to other
// transactions (sortWrites, lockWrites, validate, publish, and the abort
// path unlockWrites), and how a stale read is turned into a conflict.
//
// It is kept apart from tx.go, which is the life of an attempt (begin, run
// the body, end), because this is the part other transactions observe and
// that opacity rests on: every writer locks its Vars in one global order
// (by Var id, so two commits can never wait on each other in a cycle),
// each lock is the compare-and-swap that installs the new box, the read
// set is validated while the locks are held, and the version is stored
// into the boxes last. Changing any step changes what every concurrent
// reader may see, so the steps are read, and reviewed, together here.

import (
	"sync/atomic"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// validate checks that every read is still the Var's current box, at the
// version read. While holding commit locks (locked=true) a Var locked by
// someone else counts as stale (waiting could deadlock); otherwise we wait
// for its commit to end.
func (tx *Tx) validate(locked bool) int {
	rs := tx.reads // in registers: the atomic loads make the compiler reload tx's fields
	for i := range rs {
		e := &rs[i]
		spins := 0
		for {
			cur := atomic.LoadPointer(&e.h.val)
			cv := (*boxHeader)(cur).loadVersion()
			if cur == e.box && cv == e.ver {
				break
			}
			if locked {
				if cv == tx.lockWord && *heldFrom(cur) == e.ver {
					break // an in-place Var we hold, locked from the version read
				}
				if j := tx.findWrite(e.h); j >= 0 && tx.writes[j].box == cur {
					// Locked by us: valid if what we replace is what we read.
					if w := &tx.writes[j]; w.old != e.box || w.oldVer != e.ver {
						return i
					}
					break
				}
				return i
			}
			if cv&1 == 0 {
				return i // a newer committed value
			}
			tx.waitUnlocked(e.h, &spins, logformat.ConflictWriteRead, e.pcOff, e.pcN) // it may still be put back
		}
	}
	return -1
}

// conflictOnRead aborts because read i is stale: another transaction
// committed that Var after we read it.
func (tx *Tx) conflictOnRead(i int) {
	if tx.inevitable {
		// Nothing commits while the token is held, so this cannot happen;
		// if it did, re-running an inevitable body would be worse.
		panic("stm: internal error: a read of an inevitable transaction went stale")
	}
	tx.noteReadConflict(i)
	tx.state |= stDoomed
	panic(abortSignal)
}

func (tx *Tx) noteReadConflict(i int) {
	e := &tx.reads[i]
	kind := logformat.ConflictWriteRead
	if tx.wfilter&(1<<(e.h.id&63)) != 0 && tx.findWrite(e.h) >= 0 {
		kind = logformat.ConflictWriteWrite
	}
	tx.clk.stats.conflict(kind)
	if !e.h.contended.Load() {
		e.h.contended.Store(true)
	}
	if tx.rec != nil {
		b := e.h.loadBox()
		other, otherSite := b.writerSite()
		if j := tx.findWrite(e.h); j >= 0 && tx.writes[j].box == unsafe.Pointer(b) {
			// Locked by our own commit: the other side is the commit we
			// replace (an in-place box names us while we hold it).
			if w := &tx.writes[j]; e.h.nw != 0 {
				if w.ready { // else the box still has the names it had (ours)
					other, otherSite = uint32(w.oldNames), uint32(w.oldNames>>32)
				}
			} else {
				other, otherSite = (*boxHeader)(w.old).writerSite()
			}
		}
		off, n := e.pcOff, e.pcN
		if kind == logformat.ConflictWriteWrite {
			// This side's site is where we wrote it.
			w := &tx.writes[tx.findWrite(e.h)]
			off, n = w.pcOff, w.pcN
		}
		tx.recConflict(kind, e.h.id, off, n, other, otherSite)
		if n == 0 {
			tx.awaitSite(e.h, kind == logformat.ConflictWriteWrite)
		}
	}
}

// commit publishes the write set; false means a conflict aborted it.
func (tx *Tx) commit() bool {
	if len(tx.writes) == 0 {
		// Read-only: every read was consistent at rv when made, so the
		// transaction serializes at rv. Nothing to publish.
		return true
	}
	tx.sortWrites()
	for {
		tx.lockWrites()
		if inevFlag.Load() != 0 && !tx.holdsToken {
			// An inevitable transaction runs: it must not see its reads
			// overwritten, so we step back and wait for it.
			tx.unlockWrites()
			tx.endAdmission()
			tx.waitForInevitable()
			continue
		}
		wv := tx.nextVersion()
		if !tx.inevitable {
			if i := tx.validate(true); i >= 0 {
				tx.noteReadConflict(i)
				tx.unlockWrites()
				tx.endAdmission()
				return false
			}
		}
		tx.publish(wv)
		tx.endAdmission()
		return true
	}
}

// endAdmission ends the commit attempt a release of the token let through
// (see inevitable.go); a no-op for every other attempt.
func (tx *Tx) endAdmission() {
	if tx.admitted {
		tx.admitted = false
		admissionDone()
	}
}

// sortWrites orders the write set by Var id into tx.order, so that all
// committers lock in the same order and never deadlock.
func (tx *Tx) sortWrites() {
	n := len(tx.writes)
	if cap(tx.order) < n {
		tx.order = make([]int32, n, 2*n)
	}
	o := tx.order[:n]
	tx.order = o
	for i := range o {
		o[i] = int32(i)
	}
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && tx.writes[o[j]].h.id < tx.writes[o[j-1]].h.id; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

// lockWrites installs each new box, locked, in place of the current one;
// an in-place Var is locked by its version word instead (inplace.go).
func (tx *Tx) lockWrites() {
	for _, i := range tx.order {
		e := &tx.writes[i]
		if e.h.nw != 0 {
			tx.lockInPlace(e)
			continue
		}
		if !e.ready {
			// Before anyone can see the box: who and where, for conflicts.
			if tx.rec != nil {
				tx.nameBox(e)
			}
			e.ready = true
		}
		spins := 0
		for {
			cur := atomic.LoadPointer(&e.h.val)
			if v := (*boxHeader)(cur).loadVersion(); v&1 == 0 {
				if atomic.CompareAndSwapPointer(&e.h.val, cur, e.box) {
					e.old, e.oldVer = cur, v
					break
				}
				continue
			}
			tx.waitUnlocked(e.h, &spins, logformat.ConflictWriteWrite, e.pcOff, e.pcN)
		}
	}
}

// lockInPlace locks an in-place Var: its version goes from an even value
// to tx.lockWord. While recording, the box then names us as its writer
// (for whoever waits on it), and e keeps who wrote the version we hold.
func (tx *Tx) lockInPlace(e *writeEntry) {
	b := (*boxHeader)(e.box)
	spins := 0
	for {
		v := b.loadVersion()
		if v&1 == 0 {
			if atomic.CompareAndSwapUint64(&b.version, v, tx.lockWord) {
				*heldFrom(e.box) = v
				e.old, e.oldVer = e.box, v
				break
			}
			continue
		}
		tx.waitUnlocked(e.h, &spins, logformat.ConflictWriteWrite, e.pcOff, e.pcN)
	}
	e.ready = false
	if tx.rec != nil {
		tx.nameInPlace(e, b)
	}
}

// nameBox names the recording thread and the Store's site in e's new box,
// before anyone can see it: whoever meets the box locked, or reads it, and
// conflicts, names this side with them.
func (tx *Tx) nameBox(e *writeEntry) {
	bh := (*boxHeader)(e.box)
	bh.writer = tx.rec.id
	bh.site = tx.internSite(e.pcOff, e.pcN)
}

// nameInPlace does it for an in-place Var's box b, locked by tx, unless
// the box names us already (a loop of one goroutine's commits to its own
// Var, from one site): then nothing is stored, and e.ready stays false.
// Else e keeps the names the box had (unlocking puts them back) and
// e.ready says so. Writer and site are loaded, compared and stored as one
// word (boxHeader.names), with a plain store while we hold the lock
// (storeLockedPair).
func (tx *Tx) nameInPlace(e *writeEntry, b *boxHeader) {
	old, ours := b.names(), uint64(tx.rec.id)|uint64(e.site())<<32
	if old != ours {
		e.oldNames, e.ready = old, true
		storeLockedPair(&b.writer, ours)
	}
}

// unlockWrites puts the old boxes (old versions) back: the commit did not
// happen.
func (tx *Tx) unlockWrites() {
	for _, i := range tx.order {
		e := &tx.writes[i]
		if e.h.nw != 0 {
			b := (*boxHeader)(e.box)
			if e.ready {
				atomic.StoreUint32(&b.writer, uint32(e.oldNames))
				atomic.StoreUint32(&b.site, uint32(e.oldNames>>32))
			}
			storeRelease64(&b.version, e.oldVer)
			continue
		}
		atomic.StorePointer(&e.h.val, e.old)
	}
}

// publish stores the new values and version of each locked entry, and
// wakes the Retry waiters of each. Whether a Var has waiters is read
// before its version is stored, while it is locked: on amd64 the version
// store is a plain store, which a later load may overtake (the store
// buffer), so a waiter could register and find the old version while the
// committer found no waiter, and sleep through the change. Read after the
// locking compare-and-swap instead, it pairs with the waiter's register,
// then re-check (retry.go): either we see the waiter, or its re-check
// sees the Var locked, which counts as a change.
//
// The order does not matter (every entry is locked until its version
// store), so it goes down the write set rather than tx.order: commitFew
// sorts its few entries on the stack and leaves tx.order alone.
func (tx *Tx) publish(wv uint64) {
	// The sets in registers, as in commitFew: after each atomic load
	// the compiler would load tx.writes and tx.arena again.
	//
	// The waiters are woken in a second pass, over the entries marked in
	// wake (bit i&63 for entry i: a bit shared by entries 64 apart costs
	// at most a wake-up call that finds nobody), so that this loop makes no call
	// and keeps everything in registers. The marks are decided here,
	// before each version store, as above.
	ws, arena := tx.writes, tx.arena
	if len(ws) == 2 {
		// Two one-word in-place Vars that nobody waits on (a transfer,
		// a Put): the loop's steps written out.
		e0, e1 := writeAt(ws, 0), writeAt(ws, 1)
		if h0, h1 := e0.h, e1.h; h0.nw == 1 && h1.nw == 1 && noWaiters(h0) && noWaiters(h1) {
			storeWord((*uint64)(unsafe.Add(e0.box, boxValueOff)), *(*uint64)(arenaAt(arena, e0.off)))
			storeReleaseInline64(&(*boxHeader)(e0.box).version, wv)
			storeWord((*uint64)(unsafe.Add(e1.box, boxValueOff)), *(*uint64)(arenaAt(arena, e1.off)))
			storeReleaseInline64(&(*boxHeader)(e1.box).version, wv)
			return
		}
	}
	var wake uint64
	for i := range ws {
		e := &ws[i]
		if q := e.h.waitq.Load(); q != nil && q.n.Load() != 0 {
			wake |= 1 << (i & 63)
		}
		switch nw := e.h.nw; nw {
		case 0:
		case 1:
			storeWord((*uint64)(unsafe.Add(e.box, boxValueOff)), *(*uint64)(arenaAt(arena, e.off)))
		default:
			// Written out here, not a call: the call's spills and reloads
			// cost more than the copy.
			src := (*words)(arenaAt(arena, e.off))
			p := e.box
			if nw == 8 {
				// On its own, as in load.
				storeWord(boxWord(p, 7), src[7])
				storeWord(boxWord(p, 6), src[6])
				storeWord(boxWord(p, 5), src[5])
				storeWord(boxWord(p, 4), src[4])
				storeWord(boxWord(p, 3), src[3])
				storeWord(boxWord(p, 2), src[2])
				storeWord(boxWord(p, 1), src[1])
				storeWord(boxWord(p, 0), src[0])
				break
			}
			switch nw {
			case 7:
				storeWord(boxWord(p, 6), src[6])
				fallthrough
			case 6:
				storeWord(boxWord(p, 5), src[5])
				fallthrough
			case 5:
				storeWord(boxWord(p, 4), src[4])
				fallthrough
			case 4:
				storeWord(boxWord(p, 3), src[3])
				fallthrough
			case 3:
				storeWord(boxWord(p, 2), src[2])
				fallthrough
			default:
				storeWord(boxWord(p, 1), src[1])
				storeWord(boxWord(p, 0), src[0])
			}
		}
		storeReleaseInline64(&(*boxHeader)(e.box).version, wv)
	}
	if wake != 0 {
		for i := range ws {
			if q := ws[i].h.waitq.Load(); q != nil && wake&(1<<(i&63)) != 0 {
				q.wake()
			}
		}
	}
}

// noWaiters reports that no Retry waits on h now: publish's test, made
// before the version store that would wake them.
func noWaiters(h *varHeader) bool {
	q := h.waitq.Load()
	return q == nil || q.n.Load() == 0
}
