//go:build !amd64

package stm

import "runtime"

// captureStack stores the caller's callers, leaf first, into buf. Without a
// frame-pointer walker for this architecture, runtime.Callers does it.
func captureStack(buf *[maxDepth]uintptr) int { return runtime.Callers(2, buf[:]) }
