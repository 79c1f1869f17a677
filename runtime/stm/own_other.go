//go:build !amd64 || race

package stm

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// storeOwned stores v into *p; see own_amd64.go.
func storeOwned(p *atomic.Uint64, v uint64) { p.Store(v) }

// storeOwned32 and the others below update a recording thread's counters,
// which only the thread's goroutine writes; see own_amd64.go.
func storeOwned32(p *atomic.Uint32, v uint32) { p.Store(v) }

func storeOwnedI32(p *atomic.Int32, v int32) { p.Store(v) }

func storeOwnedI64(p *atomic.Int64, v int64) { p.Store(v) }

func decOwned(p *atomic.Int64) { p.Add(-1) }

func loadOwnedI64(p *atomic.Int64) int64 { return p.Load() }

func addOwned(p *atomic.Uint64, d uint64) { p.Add(d) }

func addOwnedFloat(p *atomic.Uint64, f float64) {
	p.Store(math.Float64bits(math.Float64frombits(p.Load()) + f))
}

// storeLocked32 stores v into a word of a box whose lock the caller holds;
// see own_amd64.go.
func storeLocked32(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

// storeLockedPair stores v's low half into *p and its high half into the
// word after it; see own_amd64.go.
func storeLockedPair(p *uint32, v uint64) {
	atomic.StoreUint32(p, uint32(v))
	atomic.StoreUint32((*uint32)(unsafe.Add(unsafe.Pointer(p), 4)), uint32(v>>32))
}

// loadPair loads the 32-bit word at p and the one after it; see
// own_amd64.go.
func loadPair(p *atomic.Uint32) uint64 {
	return uint64(p.Load()) | uint64((*atomic.Uint32)(unsafe.Add(unsafe.Pointer(p), 4)).Load())<<32
}

// loadGate loads a thread's gate; see own_amd64.go.
func loadGate(p *atomic.Uintptr) uintptr { return p.Load() }
