package stm

import (
	"sync"
	"sync/atomic"

	"github.com/stmlog/stmlog/logformat"
)

// The inevitability token. At most one transaction holds it. While it is
// held inevFlag is set, and no other transaction may publish writes: a
// committer that finds the flag set once it holds its locks puts them back
// and waits. So nothing the inevitable transaction read can
// change under it, and it never has to abort. Transactions that only read
// are not held up.
//
// The token is handed over fairly. Taking it is one compare-and-swap while
// nobody waits; otherwise the asker queues (FIFO) and the holder, when it
// is done, gives the token straight to the longest waiter, the flag
// staying set. Without that, a goroutine that releases the token and asks
// again at once (a Queue worker whose handlers all become inevitable) wins
// the race against the waiter it just woke almost every time.
//
// Committers that wait for the holder are not starved by a queue that
// never empties: a release that finds committers waiting clears the flag
// and lets exactly those committers through (the "admission"), and only
// when each has made its commit attempt does the token go to the next
// waiter. Nobody holds the token during an admission (inevOwner is
// admitting), so new askers queue and the admitted committers cannot find
// the flag set.
var (
	inevOwner  atomic.Uint64 // Tx id of the holder, 0 if none, or admitting
	inevThread atomic.Uint32 // holder's recording thread (for naming conflicts)
	inevSite   atomic.Uint32 // where the holder became inevitable (recording)
	inevTurns  atomic.Uint64 // times the token was granted

	inev struct {
		mu            sync.Mutex
		queue         []*Tx // waiting for the token, longest first
		commitWaiters int   // committers waiting for the holder's release
		admitted      int   // committers let through, attempt not finished
		gen           uint64
		cond          sync.Cond // commit waiters wait for gen to move
	}
)

// admitting is inevOwner during an admission (Tx ids start at 1).
const admitting = ^uint64(0)

func init() { inev.cond.L = &inev.mu }

// Inevitable makes the transaction irrevocable: from the moment it returns,
// the transaction will not abort and its body will not run again, so the
// body may do I/O and other things that cannot be undone. Only one
// transaction at a time can be inevitable; Inevitable waits for the current
// one to finish (waiters get their turn in the order they asked). Other
// transactions keep running meanwhile, but those that write cannot commit
// until the inevitable one has. If something this attempt read has already
// changed, Inevitable aborts the attempt, and the re-run is inevitable from
// its start.
func (tx *Tx) Inevitable() {
	tx.checkActive()
	tx.userInev = true
	tx.extra = true // not the plain path's end (fast.go)
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
	// Nobody can publish from now on; commits already past their check of
	// the flag hold their locks, and validate waits for those locks.
	if i := tx.validate(false); i >= 0 {
		// Keep the token: the next attempt runs inevitable from the start.
		tx.conflictOnRead(i)
	}
	tx.inevitable = true
	tx.becameInevitable(off, n)
}

func (tx *Tx) becameInevitable(off, n int32) {
	tx.clk.stats.inevitable.inc()
	if tx.rec != nil {
		tx.recBecomeInevitable(off, n)
	}
}

// acquireToken takes the token, waiting (a pause logged as an inevitable
// conflict) while another transaction holds it or others wait for it.
func (tx *Tx) acquireToken(off, n int32) {
	var site uint32
	if tx.rec != nil {
		site = tx.internSite(off, n)
	}
	if inevOwner.CompareAndSwap(0, tx.id) {
		// Free, and so nobody waits (a release with waiters hands the token
		// on without freeing it).
		tx.inevWaited = 0
		inevTurns.Add(1)
		inevThread.Store(tx.threadID())
		inevSite.Store(site)
	} else {
		tx.clk.stats.conflict(logformat.ConflictInevitable)
		if tx.rec != nil {
			tx.recConflict(logformat.ConflictInevitable, 0, off, n, inevThread.Load(), inevSite.Load())
		}
		tx.waitStart(logformat.WaitInevitable)
		tx.queueForToken(site)
		tx.waitDone(logformat.WaitInevitable)
	}
	tx.holdsToken = true
	inevFlag.Store(1)
}

// queueForToken waits for the token to be handed to tx.
func (tx *Tx) queueForToken(site uint32) {
	inev.mu.Lock()
	if inevOwner.CompareAndSwap(0, tx.id) {
		// Released (with nobody waiting) since our first try.
		tx.inevWaited = 0
		inevTurns.Add(1)
		inevThread.Store(tx.threadID())
		inevSite.Store(site)
		inev.mu.Unlock()
		return
	}
	if tx.inevCh == nil {
		tx.inevCh = make(chan struct{}, 1)
	}
	tx.inevAsked = inevTurns.Load()
	tx.inevSiteID = site
	inev.queue = append(inev.queue, tx)
	inev.mu.Unlock()
	<-tx.inevCh
}

// handOff gives the token to the longest waiter (holding inev.mu), and
// sets the flag for it if an admission cleared it: from now on
// committers wait for the new holder, even before it runs.
func handOff() {
	w := inev.queue[0]
	copy(inev.queue, inev.queue[1:])
	inev.queue[len(inev.queue)-1] = nil
	inev.queue = inev.queue[:len(inev.queue)-1]
	t := inevTurns.Add(1)
	w.inevWaited = t - w.inevAsked - 1
	inevOwner.Store(w.id)
	inevThread.Store(w.threadID())
	inevSite.Store(w.inevSiteID)
	inevFlag.Store(1)
	w.inevCh <- struct{}{}
}

func releaseToken(tx *Tx) {
	tx.holdsToken = false
	tx.inevitable = false
	inev.mu.Lock()
	switch {
	case inev.commitWaiters > 0:
		// Let the committers that waited for us through first.
		inevFlag.Store(0)
		inevOwner.Store(admitting)
		inev.admitted += inev.commitWaiters
		inev.commitWaiters = 0
		inev.gen++
		inev.cond.Broadcast()
	case len(inev.queue) > 0:
		handOff()
	default:
		inevFlag.Store(0)
		inevOwner.Store(0)
	}
	inev.mu.Unlock()
}

// admissionDone ends an admitted committer's commit attempt; the last one
// passes the token on.
func admissionDone() {
	inev.mu.Lock()
	inev.admitted--
	if inev.admitted == 0 {
		if len(inev.queue) > 0 {
			handOff()
		} else {
			inevOwner.Store(0)
		}
	}
	inev.mu.Unlock()
}

// waitForInevitable pauses a committer until the inevitable transaction is
// done. The conflict names the first Var we were about to write. If the
// holder has released meanwhile, it returns at once; otherwise the commit
// attempt that follows is admitted (tx.admitted) and must end with
// admissionDone.
func (tx *Tx) waitForInevitable() {
	tx.clk.stats.conflict(logformat.ConflictInevitable)
	if tx.rec != nil {
		e := &tx.writes[tx.order[0]]
		tx.recConflict(logformat.ConflictInevitable, e.h.id, e.pcOff, e.pcN, inevThread.Load(), inevSite.Load())
	}
	tx.waitStart(logformat.WaitInevitable)
	inev.mu.Lock()
	if o := inevOwner.Load(); o != 0 && o != admitting {
		inev.commitWaiters++
		for g := inev.gen; inev.gen == g; {
			inev.cond.Wait()
		}
		tx.admitted = true
	}
	inev.mu.Unlock()
	tx.waitDone(logformat.WaitInevitable)
}
