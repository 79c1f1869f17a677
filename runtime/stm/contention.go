package stm

import (
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// Contention management. After each conflict abort of one Atomically call
// the attempt backs off a little more (randomized, so two transactions
// that keep colliding fall out of step); after inevitableAfter aborts the
// next attempt runs inevitable from its start, which cannot abort, so every
// transaction eventually commits and the system cannot livelock.
const (
	quietAborts     = 2  // re-run at once for the first aborts
	yieldAborts     = 6  // then yield the processor a few times
	inevitableAfter = 12 // then sleep; at this many, go inevitable
)

func (tx *Tx) contention() {
	k := tx.aborts
	switch {
	case k <= quietAborts:
		return
	case k >= inevitableAfter:
		if tx.rec != nil {
			// Where Atomically was called: the site of this inevitability.
			var off int32
			tx.pcs = tx.pcs[:0]
			tx.captureSite(&off, &tx.callN)
		}
		tx.acquireToken(0, tx.callN)
		return
	}
	tx.waitStart(logformat.WaitBackoff)
	if k <= yieldAborts {
		for i := rand.IntN(1 << (k - quietAborts)); i >= 0; i-- {
			runtime.Gosched()
		}
	} else {
		time.Sleep(time.Duration(rand.IntN(1<<(k-yieldAborts))+1) * time.Microsecond * 10)
	}
	tx.waitDone(logformat.WaitBackoff)
}
