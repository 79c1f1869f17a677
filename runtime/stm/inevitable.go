package stm

import (
	"sync"
	"sync/atomic"

	"github.com/stmlog/stmlog/logformat"
)

// The inevitability token. At most one transaction holds it. While it is
// held the clock's low bit is set, and no other transaction may publish
// writes: a committer that sees the bit in the result of its clock add puts
// its locks back and waits. So nothing the inevitable transaction read can
// change under it, and it never has to abort. Transactions that only read
// are not held up.
var (
	inevOwner  atomic.Uint64 // Tx id of the holder, 0 if none
	inevThread atomic.Uint32 // holder's recording thread (for naming conflicts)
	inevSite   atomic.Uint32 // where the holder became inevitable (recording)
	inevMu     sync.Mutex
	inevCond   = sync.NewCond(&inevMu)
)

// Inevitable makes the transaction irrevocable: from the moment it returns,
// the transaction will not abort and its body will not run again, so the
// body may do I/O and other things that cannot be undone. Only one
// transaction at a time can be inevitable; Inevitable waits for the current
// one to finish. Other transactions keep running meanwhile, but those that
// write cannot commit until the inevitable one has. If something this
// attempt read has already changed, Inevitable aborts the attempt, and the
// re-run is inevitable from its start.
func (tx *Tx) Inevitable() {
	tx.checkActive()
	tx.userInev = true
	if tx.inevitable {
		return
	}
	var off, n int32
	if tx.rec != nil {
		tx.captureSite(&off, &n)
	}
	if !tx.holdsToken {
		tx.acquireToken(off, n)
	}
	// Nobody can publish from now on; commits already past their clock add
	// hold their locks, and validate waits for those locks.
	now := clockNow()
	if i := tx.validate(false); i >= 0 {
		// Keep the token: the next attempt runs inevitable from the start.
		tx.conflictOnRead(i)
	}
	tx.rv = now
	tx.inevitable = true
	tx.becameInevitable(off, n)
}

func (tx *Tx) becameInevitable(off, n int32) {
	tx.stats.inevitable.Add(1)
	if tx.rec != nil {
		tx.recBecomeInevitable(off, n)
	}
}

// acquireToken takes the token, waiting (a pause logged as an inevitable
// conflict) while another transaction holds it.
func (tx *Tx) acquireToken(off, n int32) {
	if !inevOwner.CompareAndSwap(0, tx.id) {
		tx.stats.conflict(logformat.ConflictInevitable)
		if tx.rec != nil {
			tx.recConflict(logformat.ConflictInevitable, 0, off, n, inevThread.Load(), inevSite.Load())
		}
		tx.waitStart(logformat.WaitInevitable)
		inevMu.Lock()
		for !inevOwner.CompareAndSwap(0, tx.id) {
			inevCond.Wait()
		}
		inevMu.Unlock()
		tx.waitDone(logformat.WaitInevitable)
	}
	tx.holdsToken = true
	inevThread.Store(tx.thread)
	if tx.rec != nil {
		inevSite.Store(tx.internSite(off, n))
	} else {
		inevSite.Store(0)
	}
	clock.Or(1)
}

func releaseToken(tx *Tx) {
	clock.And(^uint64(1))
	inevMu.Lock()
	inevOwner.Store(0)
	inevCond.Broadcast()
	inevMu.Unlock()
	tx.holdsToken = false
	tx.inevitable = false
}

// waitForInevitable pauses a committer until the inevitable transaction is
// done. The conflict names the first Var we were about to write.
func (tx *Tx) waitForInevitable() {
	tx.stats.conflict(logformat.ConflictInevitable)
	if tx.rec != nil {
		e := &tx.writes[tx.order[0]]
		tx.recConflict(logformat.ConflictInevitable, e.h.id, e.pcOff, e.pcN, inevThread.Load(), inevSite.Load())
	}
	tx.waitStart(logformat.WaitInevitable)
	inevMu.Lock()
	for inevOwner.Load() != 0 {
		inevCond.Wait()
	}
	inevMu.Unlock()
	tx.waitDone(logformat.WaitInevitable)
}
