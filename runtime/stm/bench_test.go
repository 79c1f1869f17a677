package stm

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Each STM benchmark sits next to its obvious baseline (sync.Mutex,
// sync.RWMutex, channels), so ratios come from one run. attempts/op is the
// number of body executions per committed transaction (1 = no re-runs).

// stmBoth runs an STM benchmark with recording off ("stm") and on:
// "stm-rec" at the profile level and "stm-full" at the full level, both to
// io.Discard (the encoding cost counts but no disk does), and "stm-file" at
// the profile level to a file.
func stmBoth(b *testing.B, f func(b *testing.B)) {
	b.Run("stm", f)
	if !recorderBuilt {
		return // -tags stmlog_norecord: the baseline for recording off
	}
	rec := func(name string, level Level, file bool) {
		b.Run(name, func(b *testing.B) {
			var w io.Writer = io.Discard
			if file {
				fh, err := os.Create(filepath.Join(b.TempDir(), "bench.log"))
				if err != nil {
					b.Fatal(err)
				}
				defer fh.Close()
				w = fh
			}
			if err := StartLog(w, WithLevel(level)); err != nil {
				b.Fatal(err)
			}
			defer StopLog()
			f(b)
		})
	}
	rec("stm-rec", LevelProfile, false)
	rec("stm-full", LevelFull, false)
	rec("stm-file", LevelProfile, true)
}

// cpuPerOp reports the process CPU time per operation (all goroutines:
// the recorder's flusher and the GC count too). On a loaded machine it is
// much steadier than wall time. Use as: defer cpuPerOp(b)().
func cpuPerOp(b *testing.B) func() {
	start := cpuNow()
	return func() {
		if b.N > 0 && start >= 0 {
			b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func reportAttempts(b *testing.B, before Stats) {
	after := ReadStats()
	commits := after.Commits - before.Commits
	if commits > 0 {
		att := float64(commits+after.AbortsConflict-before.AbortsConflict) / float64(commits)
		b.ReportMetric(att, "attempts/op")
	}
}

func BenchmarkRead1(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		v := NewVar(42)
		st := ReadStats()
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			l := new(benchLocal)
			body := func(tx *Tx) error { l.s += v.Load(tx); return nil }
			for pb.Next() {
				Atomically(body)
			}
			sink.Add(int64(l.s))
		})
		reportAttempts(b, st)
	})
	b.Run("mutex", func(b *testing.B) {
		var mu sync.Mutex
		x := 42
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			s := 0
			for pb.Next() {
				mu.Lock()
				s += x
				mu.Unlock()
			}
			sink.Add(int64(s))
		})
	})
	b.Run("rwmutex", func(b *testing.B) {
		var mu sync.RWMutex
		x := 42
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			s := 0
			for pb.Next() {
				mu.RLock()
				s += x
				mu.RUnlock()
			}
			sink.Add(int64(s))
		})
	})
}

var sink atomic.Int64

// parallel is b.RunParallel with the per-goroutine iteration counters on
// cache lines of their own. testing.PB is a 32-byte object that every
// goroutine writes on every pb.Next, and the goroutines' PBs are allocated
// side by side when they start on one processor: in some processes that
// false sharing alone made a read-only transaction at -cpu 2 take 45 ns
// instead of 15 (a profile caught pb.Next's decrement, and the locked
// instruction after it, stalling). Iterations are taken from one shared
// count in grains, as RunParallel does, so a goroutine slowed down by
// another process does not hold up the end.
func parallel(b *testing.B, body func(pb *iters)) {
	procs := runtime.GOMAXPROCS(0)
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(&iters{global: &left})
		}()
	}
	wg.Wait()
}

const grain = 256

type iters struct {
	_      [64]byte
	global *atomic.Int64
	n      int64
	_      [48]byte
}

// Next reports whether there is another iteration to run.
func (it *iters) Next() bool {
	if it.n == 0 {
		rest := it.global.Add(-grain) + grain
		if rest <= 0 {
			return false
		}
		it.n = min(grain, rest)
	}
	it.n--
	return true
}

// benchLocal is a goroutine's accumulator in a parallel benchmark, on cache
// lines of its own: a captured local escapes to the heap, and two
// goroutines' 8-byte locals can land side by side and turn every
// iteration into a cache-line fight (it happened: Read1 at -cpu 2 measured
// 3x slower in some processes).
type benchLocal struct {
	_    [64]byte
	s, k int
	_    [48]byte
}

func BenchmarkIncrement1(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		v := NewVar(0)
		st := ReadStats()
		b.ReportAllocs()
		defer cpuPerOp(b)()
		body := func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }
		for b.Loop() {
			Atomically(body)
		}
		reportAttempts(b, st)
	})
	b.Run("mutex", func(b *testing.B) {
		var mu sync.Mutex
		x := 0
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			mu.Lock()
			x++
			mu.Unlock()
		}
		sink.Add(int64(x))
	})
}

func BenchmarkRead10(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		vs := make([]*Var[int], 10)
		for i := range vs {
			vs[i] = NewVar(i)
		}
		b.ReportAllocs()
		defer cpuPerOp(b)()
		s := 0
		body := func(tx *Tx) error {
			for _, v := range vs {
				s += v.Load(tx)
			}
			return nil
		}
		for b.Loop() {
			Atomically(body)
		}
		sink.Add(int64(s))
	})
	b.Run("mutex", func(b *testing.B) {
		var mu sync.Mutex
		xs := make([]int, 10)
		b.ReportAllocs()
		defer cpuPerOp(b)()
		s := 0
		for b.Loop() {
			mu.Lock()
			for _, x := range xs {
				s += x
			}
			mu.Unlock()
		}
		sink.Add(int64(s))
	})
}

// BenchmarkDisjoint: each goroutine increments its own Var. Ideal scaling
// halves ns/op from -cpu 1 to -cpu 2.
func BenchmarkDisjoint(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		st := ReadStats()
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			v := NewVar(0)
			body := func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }
			for pb.Next() {
				Atomically(body)
			}
		})
		reportAttempts(b, st)
	})
	b.Run("mutex", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			var mu sync.Mutex
			x := 0
			for pb.Next() {
				mu.Lock()
				x++
				mu.Unlock()
			}
			sink.Add(int64(x))
		})
	})
}

// BenchmarkStore2: each goroutine stores to two Vars of its own without
// loading them first (blind writes, which the commit locks from their
// current versions: not fused with a read).
func BenchmarkStore2(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		st := ReadStats()
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			x, y := NewVar(0), NewVar(0)
			i := 0
			body := func(tx *Tx) error { x.Store(tx, i); y.Store(tx, -i); return nil }
			for pb.Next() {
				i++
				Atomically(body)
			}
		})
		reportAttempts(b, st)
	})
}

// BenchmarkHotCounter: every goroutine increments the same Var.
func BenchmarkHotCounter(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		v := NewVar(0)
		st := ReadStats()
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			body := func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }
			for pb.Next() {
				Atomically(body)
			}
		})
		reportAttempts(b, st)
	})
	b.Run("mutex", func(b *testing.B) {
		var mu sync.Mutex
		x := 0
		b.ReportAllocs()
		defer cpuPerOp(b)()
		parallel(b, func(pb *iters) {
			for pb.Next() {
				mu.Lock()
				x++
				mu.Unlock()
			}
		})
		sink.Add(int64(x))
	})
}

// BenchmarkReadMostly: 90% of transactions read 4 of 16 Vars, 10% write one.
func BenchmarkReadMostly(b *testing.B) {
	const n = 16
	stmBoth(b, func(b *testing.B) {
		vs := make([]*Var[int], n)
		for i := range vs {
			vs[i] = NewVar(i)
		}
		st := ReadStats()
		b.ReportAllocs()
		defer cpuPerOp(b)()
		var seed atomic.Uint64
		parallel(b, func(pb *iters) {
			i := int(seed.Add(7))
			l := new(benchLocal)
			read := func(tx *Tx) error {
				for j := range 4 {
					l.s += vs[(l.k+j)%n].Load(tx)
				}
				return nil
			}
			write := func(tx *Tx) error { v := vs[l.k%n]; v.Store(tx, v.Load(tx)+1); return nil }
			for pb.Next() {
				i++
				l.k = i * 5
				if i%10 == 0 {
					Atomically(write)
				} else {
					Atomically(read)
				}
			}
			sink.Add(int64(l.s))
		})
		reportAttempts(b, st)
	})
	b.Run("rwmutex", func(b *testing.B) {
		var mu sync.RWMutex
		xs := make([]int, n)
		b.ReportAllocs()
		defer cpuPerOp(b)()
		var seed atomic.Uint64
		parallel(b, func(pb *iters) {
			i := int(seed.Add(7))
			s := 0
			for pb.Next() {
				i++
				k := i * 5
				if i%10 == 0 {
					mu.Lock()
					xs[k%n]++
					mu.Unlock()
				} else {
					mu.RLock()
					for j := range 4 {
						s += xs[(k+j)%n]
					}
					mu.RUnlock()
				}
			}
			sink.Add(int64(s))
		})
	})
}

// BenchmarkBank: transfers between 64 accounts.
func BenchmarkBank(b *testing.B) {
	const n = 64
	stmBoth(b, func(b *testing.B) {
		acc := make([]*Var[int], n)
		for i := range acc {
			acc[i] = NewVar(1000)
		}
		st := ReadStats()
		b.ReportAllocs()
		defer cpuPerOp(b)()
		var seed atomic.Uint64
		parallel(b, func(pb *iters) {
			i := int(seed.Add(13))
			var from, to *Var[int]
			body := func(tx *Tx) error {
				f := from.Load(tx)
				if f > 0 {
					from.Store(tx, f-1)
					to.Store(tx, to.Load(tx)+1)
				}
				return nil
			}
			for pb.Next() {
				i++
				from, to = acc[(i*7)%n], acc[(i*11+1)%n]
				if from == to {
					continue
				}
				Atomically(body)
			}
		})
		reportAttempts(b, st)
	})
	b.Run("mutex", func(b *testing.B) {
		var mu sync.Mutex
		acc := make([]int, n)
		for i := range acc {
			acc[i] = 1000
		}
		b.ReportAllocs()
		defer cpuPerOp(b)()
		var seed atomic.Uint64
		parallel(b, func(pb *iters) {
			i := int(seed.Add(13))
			for pb.Next() {
				i++
				from, to := (i*7)%n, (i*11+1)%n
				if from == to {
					continue
				}
				mu.Lock()
				if acc[from] > 0 {
					acc[from]--
					acc[to]++
				}
				mu.Unlock()
			}
		})
	})
}

// BenchmarkPingPong: two goroutines hand a token back and forth, through a
// Var with Retry, or through channels. One op is one round trip. "stm"
// waits by returning ErrRetry, "stm-panic" by calling tx.Retry().
func BenchmarkPingPong(b *testing.B) {
	stmBoth(b, func(b *testing.B) { pingPongSTM(b, false) })
	b.Run("stm-panic", func(b *testing.B) { pingPongSTM(b, true) })
	b.Run("stm-park", func(b *testing.B) {
		// Park at once in Retry, without the yields first.
		defer func(n int) { retrySpins = n }(retrySpins)
		retrySpins = 0
		pingPongSTM(b, false)
	})
	b.Run("chan", func(b *testing.B) { pingPongChan(b, 1) })
	b.Run("chan-unbuffered", func(b *testing.B) { pingPongChan(b, 0) })
}

func pingPongChan(b *testing.B, size int) {
	{
		ping, pong := make(chan int, size), make(chan int, size)
		b.ReportAllocs()
		defer cpuPerOp(b)()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < b.N; i++ {
				pong <- <-ping
			}
		}()
		for i := 0; i < b.N; i++ {
			ping <- i
			<-pong
		}
		<-done
	}
}

func pingPongSTM(b *testing.B, panicking bool) {
	turn := NewVar(0)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	done := make(chan struct{})
	pong, ping := turnHit(turn, 1, 0, panicking), turnHit(turn, 0, 1, panicking) // record_retry_test.go
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			Atomically(pong)
		}
	}()
	for i := 0; i < b.N; i++ {
		Atomically(ping)
	}
	<-done
}
