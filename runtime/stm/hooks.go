package stm

import "sync/atomic"

// recording is true while events are recorded; tracing while
// TraceTransactions (trace.go) is on. They are two bits of one word, hooks, so that
// Atomically tells the calls it only counts (recording alone) from the
// others, and the calls with no hook at all, with one load and a compare
// or two (hookState).
var hooks atomic.Uint32

const (
	recording hookFlag = 1 << iota
	tracing
)

// hookFlag is one bit of hooks, loaded and stored as an atomic.Bool is.
type hookFlag uint32

func (f hookFlag) Load() bool { return hooks.Load()&uint32(f) != 0 }

func (f hookFlag) Store(on bool) {
	if on {
		hooks.Or(uint32(f))
	} else {
		hooks.And(^uint32(f))
	}
}
