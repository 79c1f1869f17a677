//go:build !amd64 || race

package stm

import "sync/atomic"

// storeRelease32 and storeRelease64: see release_amd64.go.
func storeRelease32(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

func storeRelease64(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
