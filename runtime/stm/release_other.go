//go:build !amd64 || race

package stm

import "sync/atomic"

// storeRelease32 and storeRelease64: see release_amd64.go.
func storeRelease32(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

func storeRelease64(p *uint64, v uint64) { atomic.StoreUint64(p, v) }

func storeReleaseInline32(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

func storeReleaseInline64(p *uint64, v uint64) { atomic.StoreUint64(p, v) }

// storeWord stores one word of an in-place value; see release_amd64.go.
// Atomic here: a race build must see readers' word loads race with it
// only as atomics.
func storeWord(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
