//go:build unix

package pypybench

import "syscall"

// CPUSeconds is the process's user+system CPU time. The benchmark
// machines are shared and noisy; records per CPU second is far steadier
// than records per wall second.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
