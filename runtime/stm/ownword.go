//go:build !race

package stm

import (
	"sync/atomic"
	"unsafe"
)

// ownedWord is the ownership word of a P's context (ctx.go). Only code
// pinned to that P takes it, and only while it is free, so taking needs no
// compare-and-swap: a load that acquires (the last holder's writes to the
// context become visible) and a plain store. Giving it back is a release
// store (storeRelease32: a plain store on amd64).
type ownedWord struct{ v uint32 }

func (w *ownedWord) take() bool {
	if atomic.LoadUint32(&w.v) != 0 {
		return false
	}
	w.v = 1
	return true
}

func (w *ownedWord) release() { storeReleaseInline32(&w.v, 0) }

// loadOwned loads *p, a word that only the calling goroutine writes: a
// plain load races with nothing (other goroutines only read it), and
// unlike an atomic one it lets the compiler branch on a compare at once.
func loadOwned(p *atomic.Uint64) uint64 { return *(*uint64)(unsafe.Pointer(p)) }
