//go:build !race

package stm

import "sync/atomic"

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
