//go:build unix

package analyze_test

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time of this process so far. The
// benchmarks report CPU time per event besides wall time, because on a
// shared, overloaded machine wall time mostly measures the other tenants.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
