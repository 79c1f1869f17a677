//go:build race

package stm

import "sync/atomic"

// ownedWord is the ownership word of a P's context (ctx.go). Race-detector
// builds take it with a compare-and-swap, which the detector understands
// as the hand-off it is; see ownword.go for the others.
type ownedWord struct{ v atomic.Uint32 }

func (w *ownedWord) take() bool { return w.v.CompareAndSwap(0, 1) }

func (w *ownedWord) release() { w.v.Store(0) }
