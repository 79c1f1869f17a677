package stm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Commit versions come from per-context clocks, not from one global clock.
//
// TL2 takes every commit's version from one shared counter, so each
// writing commit does an atomic add on one cache line: on two cores that
// line bounces on every commit and transactions on disjoint Vars stop
// scaling (BENCHMARKS.md, "Per-context commit clocks").
// Here every transaction context (a pooled Tx) owns a slot with its own
// commit counter that only it reads and writes, and a version is the pair
// (slot, count). A transaction keeps, per slot, the highest count it knows
// to be safe (its view). A Load of a box written at (s, n) with
// n <= view[s] is taken as TL2 takes a version <= rv. A newer one makes the
// transaction extend: check that every read is still current, then raise
// view[s] to n. That is LSA's snapshot extension done per slot (the
// "thread-local clocks" idea, extending where TLC would abort). The view
// is a cache (see viewSize): forgetting an entry costs an extension, never
// a wrong read.
//
// Why it is still opaque: a view entry view[s] = n is only ever set from a
// box (s, n) seen published before the last successful validation (or the
// attempt's start) V. A context commits one transaction after another, so
// every box (s, m) with m <= n was locked by its commit before (s, n) was
// published, hence before V. A box accepted later is still current when
// read, so its value is the one current at V; every read is current at V,
// which is one consistent snapshot. Views only ever go up and stay valid
// across attempts and transactions (a stale view costs an extension, never
// a wrong read), so a transaction start touches no shared memory at all.
//
// Layout of a version: bit 0 is the lock bit (lockedVersion), bits 1..20
// the slot, the rest the count. Slot 0 never commits: the initial box of a
// Var has version 0, which every view accepts.
const (
	slotBits  = 20
	maxSlots  = 1 << slotBits
	slotChunk = 256 // slots are allocated in chunks, so the table can grow without moving
)

// clockSlot is a context's commit counter and statistics. The pads keep
// two slots' counters at least two cache lines apart (adjacent-line
// prefetch): each is written by its own context only, on its own core.
type clockSlot struct {
	_     [64]byte
	n     atomic.Uint64
	stats statShard
	_     [64]byte
}

var (
	slotTable [maxSlots / slotChunk]atomic.Pointer[[slotChunk]clockSlot]
	slotMu    sync.Mutex
	slotFree  []uint32
	slotNext  uint32 = 1
)

func makeVersion(slot uint32, n uint64) uint64 { return n<<(slotBits+1) | uint64(slot)<<1 }

func versionSlot(v uint64) uint32 { return uint32(v>>1) & (maxSlots - 1) }

func versionCount(v uint64) uint64 { return v >> (slotBits + 1) }

// slotRef returns a slot that has been handed out.
func slotRef(s uint32) *clockSlot { return &slotTable[s/slotChunk].Load()[s%slotChunk] }

// takeSlot gives a new context a slot; runtime.AddCleanup gives it back
// when the context is collected (sync.Pool drops idle ones at GC), so slot
// numbers stay as small as the peak number of contexts. A reused slot keeps its counter, so versions stay unique.
func takeSlot(tx *Tx) {
	slotMu.Lock()
	var s uint32
	if n := len(slotFree); n > 0 {
		s = slotFree[n-1]
		slotFree = slotFree[:n-1]
	} else {
		if slotNext == maxSlots {
			slotMu.Unlock()
			panic("stm: more than a million transactions in progress at once")
		}
		s = slotNext
		slotNext++
		if slotTable[s/slotChunk].Load() == nil {
			slotTable[s/slotChunk].Store(new([slotChunk]clockSlot))
		}
	}
	slotMu.Unlock()
	tx.slot = s
	// The version word of an in-place Var tx holds: odd (locked), and
	// tx's own, so that its validation knows a Var it holds (heldFrom).
	tx.lockWord = uint64(s)<<1 | 1
	tx.clk = slotRef(s)
	runtime.AddCleanup(tx, freeSlot, s)
}

func freeSlot(s uint32) {
	slotMu.Lock()
	slotFree = append(slotFree, s)
	slotMu.Unlock()
}

// viewSize is how many slots a context's view remembers. The view is a
// small direct-mapped cache, not an array indexed by slot: a server with
// ten thousand goroutines waiting in Retry has ten thousand contexts, and
// views that each grew to the highest slot seen would take gigabytes. A
// slot that is not (or no longer) remembered only costs an extension.
const viewSize = 32

// slotMask selects a version's slot bits, in place.
const slotMask = (maxSlots - 1) << 1

// A view entry is the highest version of its slot that the context's
// snapshots may see, the slot's bits in place (0, slot 0's initial
// version, when none): between two versions of one slot the higher
// version word is the higher count, so a Load tests the slot bits and
// the count with one xor and one compare on the word it loaded.

// viewAt is the view entry of v's slot.
func (tx *Tx) viewAt(v uint64) *uint64 { return &tx.view[(v>>1)%viewSize] }

// setView raises the view of v's slot to v (an unlocked version).
func (tx *Tx) setView(v uint64) {
	e := tx.viewAt(v)
	if (*e^v)&slotMask != 0 || v > *e {
		*e = v
	}
}

// visible reports whether a committed box of version v is in tx's snapshot.
// Count 0 is the initial box of a Var (slot 0), and a box of tx's own slot
// was committed by tx itself, earlier: both are always visible.
//
// Our own slot is tested first, on v's slot bits in place (an xor and a
// test), before v is taken apart.
func (tx *Tx) visible(v uint64) bool {
	if (v^uint64(tx.slot)<<1)&slotMask == 0 || v < 1<<(slotBits+1) {
		return true
	}
	e := *tx.viewAt(v)
	return (e^v)&slotMask == 0 && v <= e
}

// extend takes the commit that wrote version v into the snapshot, if every
// read is still valid; it returns -1 on success, else the index of a stale
// read. Seeing v published proves that v's slot had counted to v's count
// before the validation began, which is all a view entry needs, so the
// writer's counter itself is never read: other cores never touch a
// context's clock, and a commit's only shared writes are its Vars.
func (tx *Tx) extend(v uint64) int {
	if i := tx.validate(false); i >= 0 {
		return i
	}
	tx.setView(v)
	return -1
}

// nextVersion counts a commit of tx (its write locks held) and returns its
// version. Only tx writes its slot's counter.
func (tx *Tx) nextVersion() uint64 {
	c := tx.clk // once: after an atomic load the compiler would load it again
	n := c.n.Load() + 1
	storeOwned(&c.n, n)
	return makeVersion(tx.slot, n)
}

// inevFlag is 1 while a transaction holds (or is being handed) the
// inevitability token: writers check it after taking their locks and step
// back (inevitable.go). It sits alone on its lines because every commit
// reads it. A word, not an atomic.Bool: a commit tests the word loaded
// with one compare, where the Bool's Load became a materialized bool,
// tested again.
var inevFlag struct {
	_ [64]byte
	atomic.Uint32
	_ [60]byte
}
