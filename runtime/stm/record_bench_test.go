package stm

import (
	"bytes"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// BenchmarkIncrementContended is Increment1 on a Var that has been in a
// conflict (marked so), repeatable at -cpu 1 (and under callgrind): at the
// profile level its Stores capture no site, as nobody conflicts with the
// goroutine lately (storeSite).
func BenchmarkIncrementContended(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		v := NewVar(0)
		v.h.contended.Store(true)
		b.ReportAllocs()
		defer cpuPerOp(b)()
		body := func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }
		for b.Loop() {
			Atomically(body)
		}
	})
}

// BenchmarkIncrementWanted is IncrementContended with the goroutine's
// thread wanted, as after conflicts with it (the body keeps it so): every
// Store captures its site, at the profile level too. The capture's cost,
// which a thread pays only while others conflict with it.
func BenchmarkIncrementWanted(b *testing.B) {
	stmBoth(b, func(b *testing.B) {
		v := NewVar(0)
		v.h.contended.Store(true)
		b.ReportAllocs()
		defer cpuPerOp(b)()
		body := func(tx *Tx) error {
			if tx.rec != nil {
				tx.rec.wantSites()
			}
			v.Store(tx, v.Load(tx)+1)
			return nil
		}
		for b.Loop() {
			Atomically(body)
		}
	})
}

// BenchmarkLevelEstimate checks what a log says a workload committed
// against what the workload measured itself, at each level: calls of 0.5
// to 8 µs of work ("long"; "short": 50-800 ns), log-uniform so that the
// durations vary by 16x, on
// GOMAXPROCS goroutines, one in 16 also incrementing a shared Var (some
// conflicts). Each call times itself from the start of its last attempt's
// body to Atomically's return (cputicks, converted with a rate measured
// over the run). Reported:
//
//   - committed/exact: the log's committed time (logged attempts from
//     their events, counted calls from the aggregates, the untimed ones
//     estimated from the sample) over the calls' own sum. The two clocks
//     differ by Atomically's entry and exit around the body, ~1 % of
//     these calls, at both levels alike.
//   - commits/calls: the log's commits (events plus aggregates) over the
//     calls made, which must be 1 (tx/s is commits over the same wall).
//   - ±95%: the log's own error bound for committed time, relative.
//   - tail%: the share of the calls' own sum in calls over 100 µs
//     (descheduled ones: the work is at most ~8 µs), which a sample of
//     one call in 64 mostly misses or catches with a weight of 64.
//
// A figure, not a test: a timing assertion would fail on a loaded machine.
func BenchmarkLevelEstimate(b *testing.B) {
	for _, size := range []struct {
		name string
		min  float64
	}{{"short", 50}, {"long", 500}} {
		for _, level := range []Level{LevelProfile, LevelFull} {
			b.Run(size.name+"/"+level.String(), func(b *testing.B) { benchLevelEstimate(b, level, size.min) })
		}
	}
}

func benchLevelEstimate(b *testing.B, level Level, minSpins float64) {
	shared := NewVar(0)
	var exactTicks, calls, tailSum atomic.Int64
	var simMu sync.Mutex
	var simMean, simRatio float64
	probe := newInCallProbe(time.Millisecond)
	tailTicks := ticksPer(100 * time.Microsecond)
	var buf bytes.Buffer
	if err := StartLog(&buf, WithLevel(level)); err != nil {
		b.Fatal(err)
	}
	wall0, tick0 := time.Now(), cputicks()
	var seed atomic.Uint64
	parallel(b, func(pb *iters) {
		x := seed.Add(0x9e3779b97f4a7c15) | 1
		own := NewVar(0)
		var sum, tail, n int64
		var sim spanSample
		sim.rnd = x ^ 0x2545f4914f6cdd1d
		in := probe.add()
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			spins := int(minSpins * math.Pow(16, float64(x%1024)/1024)) // 500: ~0.5-8 µs of work
			touch := x%16 == 0
			var t0 int64
			Atomically(func(tx *Tx) error {
				t0 = cputicks()
				in.Store(1)
				s := 0
				for i := range spins {
					s += i ^ s>>3
				}
				own.Store(tx, own.Load(tx)+s&1)
				if touch {
					shared.Store(tx, shared.Load(tx)+1)
				}
				return nil
			})
			t1 := cputicks()
			in.Store(0)
			d := t1 - t0
			sim.call(t0, t1)
			sum += d
			if d > tailTicks {
				tail += d
			}
			n++
		}
		tailSum.Add(tail)
		m, r := sim.estimates(n)
		simMu.Lock()
		simMean += m
		simRatio += r
		simMu.Unlock()
		exactTicks.Add(sum)
		calls.Add(n)
	})
	probed := probe.stop()
	nsPerTick := float64(time.Since(wall0)) / float64(cputicks()-tick0)
	if err := StopLog(); err != nil {
		b.Fatal(err)
	}
	committed, bound, commits := logCommitted(b, buf.Bytes())
	exact := float64(exactTicks.Load()) * nsPerTick
	b.ReportMetric(committed/exact, "committed/exact")
	b.ReportMetric(float64(commits)/float64(calls.Load()), "commits/calls")
	b.ReportMetric(100*bound/committed, "±95%")
	b.ReportMetric(100*float64(tailSum.Load())/float64(exactTicks.Load()), "tail%")
	b.ReportMetric(simMean/float64(exactTicks.Load()), "sim-mean/exact")
	b.ReportMetric(simRatio/float64(exactTicks.Load()), "sim-span/exact")
	b.ReportMetric(probed/float64(exactTicks.Load()), "sim-probe/exact")
}

// inCallProbe simulates an estimator on the wall clock: a goroutine that
// wakes every interval and, for each worker inside a call (its flag set
// from the body's start to after Atomically's return, the span the calls
// time themselves over), adds the ticks since its previous wake.
type inCallProbe struct {
	mu    sync.Mutex
	flags []*atomic.Int32
	done  chan struct{}
	sum   chan float64
}

func newInCallProbe(every time.Duration) *inCallProbe {
	p := &inCallProbe{done: make(chan struct{}), sum: make(chan float64)}
	go func() {
		var sum float64
		last := cputicks()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				p.sum <- sum
				return
			case <-t.C:
			}
			now := cputicks()
			p.mu.Lock()
			for _, f := range p.flags {
				if f.Load() != 0 {
					sum += float64(now - last)
				}
			}
			p.mu.Unlock()
			last = now
		}
	}()
	return p
}

func (p *inCallProbe) add() *atomic.Int32 {
	f := new(atomic.Int32)
	p.mu.Lock()
	p.flags = append(p.flags, f)
	p.mu.Unlock()
	return f
}

// stop ends the probe and returns its estimate, in ticks.
func (p *inCallProbe) stop() float64 {
	close(p.done)
	return <-p.sum
}

// spanSample simulates, on the calls' own clock, two estimators of their
// summed time from a sample of one call in 64 (intervals uniform in
// 1..127, as the recorder draws): "mean", the sample mean times the
// calls (the profile level's estimator), and "span", the sampled calls'
// share of the sampled pairs (a call and the gap after it, to the next
// call's start) times the goroutine's span from its first call's start to
// its last call's end. A call descheduled for milliseconds weighs 64 in
// the first when drawn and nothing when not; in the second the gap after
// a drawn call is descheduled as often as the call, and the span, which is
// exact, holds every descheduling.
type spanSample struct {
	rnd                uint64
	left               int64
	first, last        int64
	pending            bool
	pendStart, pendEnd int64
	sumD, n            int64
	pairD, pairAll     int64
}

func (s *spanSample) call(t0, t1 int64) {
	if s.first == 0 {
		s.first = t0
	}
	s.last = t1
	if s.pending {
		// The drawn call's bookkeeping is done here, after this call:
		// in its gap it would be counted as the program's time.
		d := s.pendEnd - s.pendStart
		s.sumD += d
		s.n++
		s.pairD += d
		s.pairAll += t0 - s.pendStart
		s.pending = false
		s.rnd ^= s.rnd << 13
		s.rnd ^= s.rnd >> 7
		s.rnd ^= s.rnd << 17
		s.left = int64(s.rnd%127) + 1
	}
	if s.left--; s.left <= 0 {
		s.pending, s.pendStart, s.pendEnd = true, t0, t1
	}
}

// estimates returns both estimates (ticks) for calls calls.
func (s *spanSample) estimates(calls int64) (mean, span float64) {
	if s.n > 0 {
		mean = float64(s.sumD) / float64(s.n) * float64(calls)
	}
	if s.pairAll > 0 {
		span = float64(s.pairD) / float64(s.pairAll) * float64(s.last-s.first)
	}
	return mean, span
}

// ticksPer is about how many cputicks d lasts (measured over 2 ms).
func ticksPer(d time.Duration) int64 {
	w, t := time.Now(), cputicks()
	for time.Since(w) < 2*time.Millisecond {
	}
	return int64(float64(cputicks()-t) * float64(d) / float64(time.Since(w)))
}

// logCommitted sums a log's committed time (ns) and its 95 % bound, and
// its commits: committed attempts' durations from their events, and the
// aggregates' pooled estimate (logformat.Aggregate.CommittedNs).
func logCommitted(b *testing.B, data []byte) (committed, bound float64, commits uint64) {
	r, err := logformat.NewReader(bytes.NewReader(data), logformat.ReaderOptions{Name: "bench.log"})
	if err != nil {
		b.Fatal(err)
	}
	start := map[uint32]int64{}
	var pooled logformat.Aggregate
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		switch ev.Kind {
		case logformat.KindTxStart:
			start[ev.Thread] = ev.Time
		case logformat.KindTxCommit:
			committed += float64(ev.Time - start[ev.Thread])
			commits++
		case logformat.KindAggregate:
			pooled = pooled.Add(r.Aggregate())
		}
	}
	est, se := pooled.CommittedNs(-1)
	return committed + float64(est), 1.96 * se, commits + pooled.Commits
}
