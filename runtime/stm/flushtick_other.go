//go:build !linux

package stm

import "time"

// flushTicks returns a channel that receives about every d until stop is
// closed (a time.Ticker; see flushtick_linux.go) and the function that
// stops it.
func flushTicks(d time.Duration, stop <-chan struct{}) (<-chan struct{}, func()) {
	t := time.NewTicker(d)
	c := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-done:
				return
			case <-t.C:
				select {
				case c <- struct{}{}:
				default:
				}
			}
		}
	}()
	return c, func() { t.Stop(); close(done) }
}
