package stm

import (
	"runtime"
	"testing"
	"time"
)

// TestRecordReusedGoroutine: goroutines that each run a few transactions
// and exit, one after another with nothing to order them, so that each
// new one is likely to reuse the last one's descriptor and with it its
// recording thread (which the counted path finds by comparing curg).
// Every commit is in the log, at both levels; and under -race the
// detector must see the thread's words handed over cleanly (the memory
// model orders nothing after a goroutine's exit: loadOwned).
func TestRecordReusedGoroutine(t *testing.T) {
	const rounds, calls = 300, 3
	for _, level := range []Level{LevelProfile, LevelFull} {
		v := NewVar(0)
		data := recordAt(t, level, func() {
			for range rounds {
				n0 := runtime.NumGoroutine()
				go func() {
					for range calls {
						Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
					}
				}()
				// Wait without a channel or WaitGroup, which would order
				// the goroutine's exit before the next one's start.
				for runtime.NumGoroutine() > n0 {
					time.Sleep(20 * time.Microsecond)
				}
			}
		})
		if got := v.Peek(); got != rounds*calls {
			t.Fatalf("%v: v = %d, want %d", level, got, rounds*calls)
		}
		if got := commitsIn(t, data); got != rounds*calls {
			t.Errorf("%v: %d commits in the log, want %d", level, got, rounds*calls)
		}
	}
}
