//go:build unix

package stm

import "syscall"

// cpuNow is the process's CPU time (user and system, all threads) in ns.
func cpuNow() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
