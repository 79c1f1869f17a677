//go:build race

package stm

import "sync/atomic"

// ownedWord is the ownership word of a P's context (ctx.go). Race-detector
// builds take it with a compare-and-swap, which the detector understands
// as the hand-off it is; see ownword.go for the others.
type ownedWord struct{ v atomic.Uint32 }

func (w *ownedWord) take() bool { return w.v.CompareAndSwap(0, 1) }

func (w *ownedWord) release() { w.v.Store(0) }

// loadOwned loads *p, a word that only the calling goroutine writes (see
// ownword.go), atomically: a goroutine that reuses an exited one's
// descriptor takes over its recording thread (recthread.go) with no
// synchronization the detector sees (the memory model orders nothing after
// a goroutine's exit), so a plain load would be reported against the
// exited goroutine's writes.
func loadOwned(p *atomic.Uint64) uint64 { return p.Load() }
