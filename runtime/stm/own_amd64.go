//go:build amd64 && !race

package stm

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// storeOwned is a plain store of v into *p, for a word that only the
// calling context writes (its clock counter, its statistics): they need no
// ordering, only a store that a concurrent atomic load sees whole, which an
// aligned 8-byte store is; sync/atomic's Store would be an XCHG, the only
// locked instruction of a commit besides the write locks. In Go, not
// assembly, so that it inlines.
func storeOwned(p *atomic.Uint64, v uint64) { *(*uint64)(unsafe.Pointer(p)) = v }

// The counters of a recording thread have one writer, the goroutine the
// thread serves, and one reader, the flusher, which only needs each word
// whole: on amd64 a plain aligned store is that, and these inline where
// the assembly above cannot.

func storeOwned32(p *atomic.Uint32, v uint32) { *(*uint32)(unsafe.Pointer(p)) = v }

func storeOwnedI32(p *atomic.Int32, v int32) { *(*int32)(unsafe.Pointer(p)) = v }

func storeOwnedI64(p *atomic.Int64, v int64) { *(*int64)(unsafe.Pointer(p)) = v }

// decOwned takes one from a counter that only the calling goroutine
// writes: one decrement of memory, where an atomic one would be locked.
func decOwned(p *atomic.Int64) { *(*int64)(unsafe.Pointer(p))-- }

// loadOwnedI64 is the writer's own load of such a word (as loadOwned):
// plain, as nothing else writes it, so that a compare folds the load in.
func loadOwnedI64(p *atomic.Int64) int64 { return *(*int64)(unsafe.Pointer(p)) }

func addOwned(p *atomic.Uint64, d uint64) { *(*uint64)(unsafe.Pointer(p)) += d }

func addOwnedFloat(p *atomic.Uint64, f float64) {
	q := (*uint64)(unsafe.Pointer(p))
	*q = math.Float64bits(math.Float64frombits(*q) + f)
}

// storeLocked32 stores v into a word of an in-place Var's box whose lock
// (its version word) the caller holds: the only writer at that moment,
// with readers that load it atomically and need it whole. The store that
// unlocks the box (storeRelease64) orders it for the next locker.
func storeLocked32(p *uint32, v uint32) { *p = v }

// storeLockedPair is storeLocked32 of v's low half into *p and its high
// half into the word after it (8-byte aligned), as one store: what
// loadPair loads.
func storeLockedPair(p *uint32, v uint64) { *(*uint64)(unsafe.Pointer(p)) = v }

// loadPair loads the 32-bit word at p and the one after it (8-byte
// aligned) as one: not 0 if either is. Each is written by sync/atomic or
// storeOwned32; an aligned 8-byte load is atomic on amd64 and, under
// x86-TSO, sees them as two atomic loads in a row would.
func loadPair(p *atomic.Uint32) uint64 { return *(*uint64)(unsafe.Pointer(p)) }

// loadGate loads a thread's gate (threadRec.gate), which the thread's
// goroutine and stopLocked write with sync/atomic: a plain aligned load,
// which the compiler folds into Atomically's compare with curg.
func loadGate(p *atomic.Uintptr) uintptr { return *(*uintptr)(unsafe.Pointer(p)) }
