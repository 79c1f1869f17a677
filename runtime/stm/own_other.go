//go:build !amd64 || race

package stm

import "sync/atomic"

// releaseOwn gives a thread back (sets *p to ownFree); see own_amd64.go.
func releaseOwn(p *atomic.Uint32) { p.Store(ownFree) }

// storeOwned stores v into *p; see own_amd64.go.
func storeOwned(p *atomic.Uint64, v uint64) { p.Store(v) }
