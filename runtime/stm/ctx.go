package stm

import (
	"sync"
	"sync/atomic"
	_ "unsafe" // go:linkname
)

// Finding a transaction context.
//
// Every Atomically call needs a Tx for its duration. A sync.Pool costs a
// Get and a Put per call, each pinning the processor, plus interface
// boxing and a victim cache that a transaction does not need. Instead each
// processor (P) has a context of its own with an ownership word: getTx
// pins the P only to read its index and take the word, and putTx gives it
// back with one store, to the P the context belongs to (the goroutine may
// have moved meanwhile). Outside race-detector builds neither executes a
// locked instruction (ownedWord). A P's context is busy while a
// transaction that started on that P is blocked (Retry, the inevitability
// token), runs on another P, or has another Atomically nested in its body;
// then a call takes a context from the sync.Pool, which stays the
// overflow.
//
// A P's context lives as long as the process, unlike pooled ones, which
// the GC drops when idle; so end clears the references an attempt left in
// the read and write sets, which would otherwise keep old values alive.

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// maxPCtx is how many Ps have a context of their own; any beyond use the
// pool.
const maxPCtx = 256

// pctx is one P's context. The pads keep two Ps' ownership words on
// different cache lines (and off adjacent-line prefetch pairs).
type pctx struct {
	_ [64]byte
	c [ctxPerP]struct {
		own ownedWord // 0 free, 1 taken
		tx  *Tx       // nil until first used
	}
	_ [64 - 16*ctxPerP%64]byte
}

// ctxPerP is how many contexts a P has: two, so that a transaction
// blocked in Retry (holding one) and the one that will wake it, on the
// same P, both find one (a hand-off: producer and consumer, ping-pong).
const ctxPerP = 2

var pctxs [maxPCtx]pctx

var txPool = sync.Pool{New: newTx}

// txIDs numbers Tx objects (the inevitability token names its holder by it).
var txIDs atomic.Uint64

func newTx() any {
	tx := &Tx{lastGThread: &noThread}
	tx.id = txIDs.Add(1)
	tx.reads = tx.readsInit[:0]
	tx.writes = tx.writesInit[:0]
	tx.arena = tx.arenaInit[:0]
	tx.order = tx.orderInit[:0]
	takeSlot(tx)
	tx.wait = &waiter{ch: make(chan struct{}, 1)}
	return tx
}

// getTx returns a context for one Atomically call (or Queue transaction);
// putTx gives it back. The common case, the P's first context made and
// free, is written out; getTxOther tries the second, the usual one while
// a transaction that started on this P waits in Retry (a hand-off), still
// pinned; getTxSlow makes them, or takes one from the pool.
func getTx() *Tx {
	p := procPin()
	// Unsigned, as in every test of p here: then it is also the bounds
	// check of pctxs[p], which a signed test leaves for the compiler to add.
	if uint(p) < maxPCtx {
		c := &pctxs[p].c[0]
		if !c.own.take() {
			return getTxOther(p)
		}
		if tx := c.tx; tx != nil {
			procUnpin()
			return tx
		}
		c.own.release() // not made yet: getTxSlow makes it
	}
	procUnpin()
	return getTxSlow()
}

// getTxOther is getTx past its common case, for a caller pinned to P p
// that did not get the P's first context: the second, else getTxSlow. It
// unpins.
//
// nosplit: see "Stack checks" in fastcommit.go.
//
//go:nosplit
func getTxOther(p int) *Tx {
	if uint(p) < maxPCtx {
		if c := &pctxs[p].c[1]; c.own.take() {
			if tx := c.tx; tx != nil {
				procUnpin()
				return tx
			}
			c.own.release()
		}
	}
	procUnpin()
	return getTxSlow()
}

func getTxSlow() *Tx {
	p := procPin()
	if uint(p) < maxPCtx {
		for i := range ctxPerP {
			c := &pctxs[p].c[i]
			if c.own.take() {
				tx := c.tx
				procUnpin()
				if tx == nil {
					// First use on this P: make it unpinned (newTx locks).
					tx = newTx().(*Tx)
					tx.home = &c.own
					c.tx = tx
				}
				return tx
			}
		}
	}
	procUnpin()
	return txPool.Get().(*Tx)
}

func putTx(tx *Tx) {
	if w := tx.home; w != nil {
		w.release()
	} else {
		putPooled(tx)
	}
}

// putPooled is putTx's other half, out of line so that putTx inlines.
//
//go:noinline
func putPooled(tx *Tx) { txPool.Put(tx) }
