package stm

import (
	"io"
	"math"
	"sync"
	"testing"
)

// sampleTally counts a kind of call by how the profile level timed it
// (tx.prof.mode in the attempt that committed), and sums weights given to
// the calls by the workload, which stand for durations: the estimator's
// committed time is the timed calls' sum plus the untimed calls times the
// sample's mean (logformat.Aggregate.CommittedNs), so with the weights in
// place of the durations it must come out at the weights' own total
// unless the draw favours some calls.
type sampleTally struct {
	calls, sampled, timed, logged     int
	w, wSampled, wTimed, wLogged, wSq float64
}

func (s *sampleTally) add(mode uint8, w float64) {
	s.calls++
	s.w += w
	switch mode {
	case modeSampled:
		s.sampled++
		s.wSampled += w
		s.wSq += w * w
	case modeTimed:
		s.timed++
		s.wTimed += w
	case modeCounted:
	default:
		s.logged++
		s.wLogged += w
	}
}

func (s *sampleTally) merge(o sampleTally) {
	s.calls += o.calls
	s.sampled += o.sampled
	s.timed += o.timed
	s.logged += o.logged
	s.w += o.w
	s.wSampled += o.wSampled
	s.wTimed += o.wTimed
	s.wLogged += o.wLogged
	s.wSq += o.wSq
}

// checkRate: the kind's share of calls drawn for the sample, among those
// not timed exactly (timeAll, for a thread's first flush interval), is one
// in sampleMean within 5 standard deviations of a binomial draw.
func (s *sampleTally) checkRate(t *testing.T, kind string) {
	t.Helper()
	n := float64(s.calls - s.timed - s.logged)
	p := 1.0 / sampleMean
	if n*p < 50 {
		// The schedule decides some kinds' counts (how often a ping-pong
		// call finds the turn handed over already).
		t.Logf("%s: %d calls not timed exactly (%+v): too few to test", kind, int(n), *s)
		return
	}
	want, sd := n*p, math.Sqrt(n*p*(1-p))
	if got := float64(s.sampled); math.Abs(got-want) > 5*sd {
		t.Errorf("%s: %d of %d untimed calls drawn for the sample, want %.0f ± %.0f (5 sd)", kind, s.sampled, int(n), want, 5*sd)
	}
}

// checkEstimate: the estimator on the weights, per thread (logged calls
// exact, as their events are), against their total, within 5 of its own
// standard errors (the report's ±95 % bound is 1.96 of them). A thread
// with no sample of its own takes the pooled mean, as the analyzer does
// (aggregateTime), and adds no error of its own.
func checkEstimate(t *testing.T, kind string, threads []sampleTally) {
	t.Helper()
	var pool sampleTally
	for _, s := range threads {
		pool.merge(s)
	}
	if pool.sampled < 2 {
		t.Fatalf("%s: %d calls in the sample of %+v", kind, pool.sampled, pool)
	}
	var est, v float64
	for _, s := range threads {
		est += s.wTimed + s.wSampled + s.wLogged
		u := float64(s.calls - s.timed - s.sampled - s.logged)
		if u == 0 {
			continue
		}
		if s.sampled < 2 {
			est += u * pool.wSampled / float64(pool.sampled)
			continue
		}
		n := float64(s.sampled)
		m := s.wSampled / n
		est += u * m
		v += u * u * (s.wSq - n*m*m) / (n - 1) / n
	}
	if se := math.Sqrt(v); math.Abs(est-pool.w) > 5*se {
		t.Errorf("%s: estimated %.0f, the weights' total %.0f (standard error %.0f): biased", kind, est, pool.w, se)
	}
}

// TestSampleUnbiased: at the profile level the calls timed for the sample
// are drawn at one in sampleMean whatever the call, so that the committed
// time estimated from them is unbiased: calls with a period in the
// program (every fifth call of a loop, its long one), a call that waited
// on Retry (its wake-up: a ping-pong of two goroutines), the call after
// one, and Queue transactions on two workers (hand-offs from one worker's
// thread to the other's). The weights make every fifth call 16 times the
// others, as a loop whose every fifth transaction is long.
func TestSampleUnbiased(t *testing.T) {
	if testing.Short() {
		t.Skip("200k calls")
	}
	if err := StartLog(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer StopLog()
	// A thread of few calls a second, or of long ones, has every call
	// timed exactly (timeAllRate, timeEvery): so under the race detector,
	// or on a loaded machine, where the flusher would say so. The sample
	// is what is tested here: each body keeps its thread sampling.
	sampling := func(tx *Tx) uint8 {
		if th := tx.rec; th != nil {
			th.timeAll.Store(false)
			th.long.Store(false)
		}
		return tx.prof.mode
	}
	weight := func(i int) float64 {
		if i%5 == 0 {
			return 16
		}
		return 1
	}

	// A loop of calls on one goroutine: every fifth, and the others.
	const loop = 150_000
	var fifth, others sampleTally
	v := NewVar(0)
	for i := range loop {
		var mode uint8
		Atomically(func(tx *Tx) error {
			mode = sampling(tx)
			v.Store(tx, i)
			return nil
		})
		if i%5 == 0 {
			fifth.add(mode, weight(i))
		} else {
			others.add(mode, weight(i))
		}
	}
	fifth.checkRate(t, "every fifth call of a loop")
	others.checkRate(t, "the other calls of the loop")
	all := fifth
	all.merge(others)
	checkEstimate(t, "a loop, every fifth call 16 times the others", []sampleTally{all})

	// A ping-pong: each side's call waits (Retry) for the other's to hand
	// over, and is followed by a run of quick calls (so that the thread
	// is not one of few calls, timed exactly), the first of which comes
	// right after the wake-up.
	const rounds, run = 15_000, 20
	turn := NewVar(0)
	var pong [2]struct{ waited, first, rest sampleTally }
	var wg sync.WaitGroup
	for side := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &pong[side]
			for i := range rounds {
				var mode uint8
				waits := 0
				Atomically(func(tx *Tx) error {
					mode = sampling(tx)
					if turn.Load(tx) != side {
						waits++
						return ErrRetry
					}
					turn.Store(tx, 1-side)
					return nil
				})
				if waits > 0 {
					p.waited.add(mode, weight(i))
				} else {
					p.rest.add(mode, weight(i))
				}
				for j := range run {
					Atomically(func(tx *Tx) error { mode = sampling(tx); return nil })
					if j == 0 {
						p.first.add(mode, weight(i+j))
					} else {
						p.rest.add(mode, weight(i+j))
					}
				}
			}
		}()
	}
	wg.Wait()
	var waited, first sampleTally
	var sides []sampleTally
	for _, p := range pong {
		waited.merge(p.waited)
		first.merge(p.first)
		s := p.waited
		s.merge(p.first)
		s.merge(p.rest)
		sides = append(sides, s)
	}
	waited.checkRate(t, "a call woken from Retry")
	first.checkRate(t, "the call after a wake-up")
	checkEstimate(t, "a ping-pong", sides)

	// Queue transactions on two workers, each on a Var of its own.
	const queued = 60_000
	vars := make([]*Var[int], queued)
	for i := range vars {
		vars[i] = NewVar(0)
	}
	modes := make([]uint8, queued)
	workers := make([]*threadRec, queued)
	q := NewQueue()
	q.AddN(queued, func(tx *Tx, i int) error {
		modes[i], workers[i] = sampling(tx), tx.rec
		vars[i].Store(tx, i)
		return nil
	})
	if err := q.Run(2); err != nil {
		t.Fatal(err)
	}
	var queue sampleTally
	byWorker := map[*threadRec]*sampleTally{}
	for i, m := range modes {
		queue.add(m, weight(i))
		s := byWorker[workers[i]]
		if s == nil {
			s = new(sampleTally)
			byWorker[workers[i]] = s
		}
		s.add(m, weight(i))
	}
	queue.checkRate(t, "Queue transactions on two workers")
	var ws []sampleTally
	for _, s := range byWorker {
		ws = append(ws, *s)
	}
	checkEstimate(t, "Queue transactions", ws)
}
