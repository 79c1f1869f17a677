//go:build !amd64

package stm

import (
	"runtime"
	"time"
)

// captureStack stores the caller's callers, leaf first, into buf. Without a
// frame-pointer walker for this architecture, runtime.Callers does it.
func captureStack(buf *[maxDepth]uintptr) int { return runtime.Callers(2, buf[:]) }

// fpHash has no walker here: writeSite captures and interns every time.
func fpHash() (h uint64, n int) { return 0, 0 }

// fpKey has none either.
func fpKey() (h uint64, fp uintptr) { return 0, 1 }

// keyHit finds nothing without fpKey.
func keyHit(w *writeKeys, off, n *int32) bool { return false }

// keyHere finds nothing either, and gives walkKey no key.
func keyHere(w *writeKeys, site *[2]int32) (hit bool, kh uint64, kfp uintptr) { return false, 0, 1 }

var tickEpoch = time.Now()

// cputicks is the monotonic clock in nanoseconds on other architectures.
func cputicks() int64 { return int64(time.Since(tickEpoch)) }
