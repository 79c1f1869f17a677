package stm

import (
	"io"
	"testing"
)

// BenchmarkLiveWindow is what a transaction costs while nobody asks
// (off), during a live profile's window without the program recording
// (tap: the in-memory recording a Tap starts, read by a goroutine as
// stmhttp does), and while the program records to io.Discard (startlog,
// the stm-rec variant of the other benchmarks). The body is
// BenchmarkIncrement1's: no contention, so the Tap receives nothing and
// the cost is that of recording.
func BenchmarkLiveWindow(b *testing.B) {
	run := func(b *testing.B) {
		v := NewVar(0)
		b.ReportAllocs()
		defer cpuPerOp(b)()
		body := func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }
		for b.Loop() {
			Atomically(body)
		}
	}
	b.Run("off", run)
	b.Run("tap", func(b *testing.B) {
		tap, err := NewTap()
		if err != nil {
			b.Fatal(err)
		}
		done := drain(tap)
		run(b)
		b.StopTimer()
		tap.Close()
		<-done
	})
	b.Run("startlog", func(b *testing.B) {
		if err := StartLog(io.Discard); err != nil {
			b.Fatal(err)
		}
		run(b)
		b.StopTimer()
		StopLog()
	})
}
