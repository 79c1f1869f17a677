//go:build amd64 && !race

package stm

import "sync/atomic"

// releaseOwn gives a thread back (sets *p to ownFree) with a plain store,
// in own_amd64.s. On amd64 (x86-TSO) a store is never reordered with the
// loads and stores before it, so whoever next takes the thread with a
// compare-and-swap sees everything its owner wrote; sync/atomic's Store is
// an XCHG, a locked instruction that costs as much as the compare-and-swap
// that took the thread. The race detector does not see through assembly,
// so race builds use sync/atomic (own_other.go).
//
//go:noescape
func releaseOwn(p *atomic.Uint32)
