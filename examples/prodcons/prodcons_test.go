package prodcons

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stmlog/stmlog/examples/internal/benchmode"
	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

func put(b *Buffer, x int) { stm.Atomically(func(tx *stm.Tx) error { return b.Put(tx, x) }) }

func take(b *Buffer) (x int) {
	stm.Atomically(func(tx *stm.Tx) error {
		var err error
		x, err = b.Take(tx)
		return err
	})
	return x
}

// waitRetried returns once a transaction has retried since before (the
// runtime counts a Retry before the body waits): the other side is then
// waiting for a change, not merely not yet started, so checking that it has
// not returned tests something.
func waitRetried(t *testing.T, before stm.Stats) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); stm.ReadStats().AbortsRetry == before.AbortsRetry; {
		if time.Now().After(deadline) {
			t.Fatal("the transaction never retried")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestBufferIsFIFO(t *testing.T) {
	b := NewBuffer(4)
	for round := range 3 {
		for i := range 4 {
			put(b, round*10+i)
		}
		if b.Len() != 4 {
			t.Fatalf("round %d: Len() = %d after 4 puts", round, b.Len())
		}
		for i := range 4 {
			if x := take(b); x != round*10+i {
				t.Fatalf("round %d: took %d, want %d", round, x, round*10+i)
			}
		}
		if b.Len() != 0 {
			t.Fatalf("round %d: Len() = %d after taking all", round, b.Len())
		}
	}
}

// TestRetryBlocks checks that Put on a full buffer and Take on an empty one
// wait, and are woken by the other side.
func TestRetryBlocks(t *testing.T) {
	b := NewBuffer(2)
	put(b, 1)
	put(b, 2)
	putDone := make(chan struct{})
	before := stm.ReadStats()
	go func() { put(b, 3); close(putDone) }()
	waitRetried(t, before)
	select {
	case <-putDone:
		t.Fatal("Put on a full buffer returned")
	default:
	}
	if x := take(b); x != 1 {
		t.Fatalf("took %d, want 1", x)
	}
	<-putDone // woken by the Take; a lost wake-up hangs here
	for _, want := range []int{2, 3} {
		if x := take(b); x != want {
			t.Fatalf("took %d, want %d", x, want)
		}
	}
	got := make(chan int, 1)
	before = stm.ReadStats()
	go func() { got <- take(b) }()
	waitRetried(t, before)
	select {
	case x := <-got:
		t.Fatalf("Take on an empty buffer returned %d", x)
	default:
	}
	put(b, 4)
	if x := <-got; x != 4 {
		t.Fatalf("took %d, want 4", x)
	}
}

func TestPass(t *testing.T) {
	for _, impl := range []Impl{STM, Chan, Cond, STMBatch} {
		for _, pairs := range []int{1, 2, 4} {
			var attempts workload.Counter
			if err := Pass(impl, pairs, 3000, &attempts); err != nil {
				t.Errorf("%v, %d pairs: %v", impl, pairs, err)
			}
			// Each item is put once and taken once; Retry re-runs add more.
			if impl == STM && attempts.Load() < 2*3000 {
				t.Errorf("%v, %d pairs: %d attempts for 3000 items", impl, pairs, attempts.Load())
			}
		}
	}
}

func TestRun(t *testing.T) {
	for _, baseline := range []bool{false, true} {
		res, err := Run(context.Background(), workload.Config{Workers: 2, Duration: 50 * time.Millisecond, Size: 2000, Baseline: baseline})
		if err != nil {
			t.Fatalf("baseline=%v: %v", baseline, err)
		}
		if res.Ops == 0 || res.Ops%2000 != 0 {
			t.Errorf("baseline=%v: %d items", baseline, res.Ops)
		}
	}
}

// BenchmarkPass: one op is one item passed from a producer to a consumer;
// workers is the number of producer/consumer pairs.
func BenchmarkPass(b *testing.B) {
	for _, v := range []struct {
		name string
		impl Impl
		mode benchmode.Mode
	}{
		{"stm", STM, benchmode.Modes[0]},
		{"stm-log", STM, benchmode.Modes[1]},
		{"stm-full", STM, benchmode.Modes[3]},
		{"chan", Chan, benchmode.Modes[2]},
		{"cond", Cond, benchmode.Modes[2]},
	} {
		for _, w := range benchmode.Workers {
			b.Run(fmt.Sprintf("%s/workers=%d", v.name, w), func(b *testing.B) {
				v.mode.Start(b)
				b.ResetTimer()
				attempts := benchmode.StartAttempts()
				cpu := benchmode.StartCPU()
				if err := Pass(v.impl, w, max(b.N, w), nil); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu.Report(b)
				if v.impl == STM {
					b.ReportMetric(float64(attempts.Since())/float64(2*max(b.N, w)), "attempts/tx")
				}
			})
		}
	}
}
