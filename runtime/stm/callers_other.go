//go:build !amd64

package stm

import (
	"runtime"
	"time"
	"unsafe"
)

// captureStack stores the caller's callers, leaf first, into buf. Without a
// frame-pointer walker for this architecture, runtime.Callers does it.
func captureStack(buf *[maxDepth]uintptr) int { return runtime.Callers(2, buf[:]) }

// captureStackFrom has no frame to start from here (callerFrame gives
// none): it captures its caller's callers, frames of runtime/stm
// included, which symbolize leaves out.
func captureStackFrom(fb unsafe.Pointer, buf *[maxDepth]uintptr) int {
	return runtime.Callers(2, buf[:])
}

// hashStackFrom has no walker here: walkSite captures and interns every time.
func hashStackFrom(fb unsafe.Pointer) (uint64, int) { return 0, 0 }

// callerFrame has no frame layout to read here: no key, every Store walks.
func callerFrame(arg unsafe.Pointer) unsafe.Pointer { return nil }

// keyHere finds nothing without a frame to read.
func keyHere(w *writeKeys, site *[2]int32) bool { return false }

var tickEpoch = time.Now()

// cputicks is the monotonic clock in nanoseconds on other architectures.
func cputicks() int64 { return int64(time.Since(tickEpoch)) }
