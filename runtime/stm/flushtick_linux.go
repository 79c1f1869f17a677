package stm

import (
	"syscall"
	"time"
)

// flushTicks returns a channel that receives about every d until stop is
// closed. On Linux the wait is a nanosleep system call on a goroutine of
// its own rather than a runtime timer: a pending timer makes every
// schedule() of the program read the clock (checkTimers), which costs a
// program that parks and wakes goroutines often (a Retry hand-off) ~160
// instructions a switch while it records. The goroutine ends at its first
// wake after stop is closed.
func flushTicks(d time.Duration, stop <-chan struct{}) (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	go func() {
		ts := syscall.NsecToTimespec(int64(d))
		for {
			rem := ts
			for syscall.Nanosleep(&rem, &rem) == syscall.EINTR {
			}
			select {
			case <-stop:
				return
			case c <- struct{}{}:
			default:
			}
		}
	}()
	return c, func() {}
}
