// Package workload holds what every example workload shares: the run
// configuration, the result, and the timed loop that repeats a fixed round of
// work until the configured duration is used up.
//
// It is internal so that the example packages and the registry in package
// examples can share these types without an import cycle (the registry
// imports every example).
package workload

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDuration keeps `stmlog demo` short: long enough for a few hundred
// conflicts, short enough to wait for.
const DefaultDuration = 2 * time.Second

// Config says how to run a workload. The zero Config is valid: defaults are
// filled in by Normalize.
type Config struct {
	// Workers is the number of goroutines (queue workers for the Queue-based
	// workloads, producer/consumer pairs for prodcons); 0 means 2.
	Workers int
	// Duration bounds the run; 0 means DefaultDuration. A workload always
	// finishes the round it is in, so runs last a little longer.
	Duration time.Duration
	// Fixed selects the version with the conflicts removed (the workloads
	// with conflicts; mandelbrot ignores it).
	Fixed bool
	// Size scales the work of one round (image side, keys per tree, ...);
	// 0 means the workload's small default.
	Size int
	// Baseline runs the sync.Mutex / channel version of the same program
	// instead of the STM one, for comparison.
	Baseline bool
}

// Normalize returns c with zero fields replaced by defaults; defSize is the
// workload's own default Size.
func (c Config) Normalize(defSize int) Config {
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Size <= 0 {
		c.Size = defSize
	}
	return c
}

// Result is what a run did.
type Result struct {
	// Ops counts the workload's unit of work (requests, bands, inserts, moves,
	// transfers, items); it is named in Unit.
	Ops  int64
	Unit string
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
	// Attempts counts executions of transaction bodies (0 for baselines);
	// Attempts/Txs above 1 is work thrown away by aborts.
	Attempts int64
	Txs      int64
	// Check is the workload's correctness check, already verified, e.g.
	// "checksum 0x1234 = sequential".
	Check string
}

// OpsPerSec is Ops divided by Elapsed.
func (r Result) OpsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Repeat runs round until d has elapsed or ctx is done, at least once, and
// returns how many rounds ran and the time taken. It stops at the first error.
func Repeat(ctx context.Context, d time.Duration, round func() error) (int, time.Duration, error) {
	start := time.Now()
	n := 0
	for {
		if err := round(); err != nil {
			return n, time.Since(start), err
		}
		n++
		if time.Since(start) >= d || ctx.Err() != nil {
			return n, time.Since(start), nil
		}
	}
}

// Fan runs do on each item on workers goroutines, each taking the next item
// from one channel of the given buffer, and returns when all are done: the
// round of the baselines that share work the plain Go way.
func Fan[T any](workers, buffer int, items []T, do func(T)) {
	next := make(chan T, buffer)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for x := range next {
				do(x)
			}
		})
	}
	for _, x := range items {
		next <- x
	}
	close(next)
	wg.Wait()
}

// Counter counts transaction-body executions. It is a plain atomic: the
// examples' transactions are long enough (microseconds or more) that one
// shared increment per attempt does not change what they measure.
type Counter struct{ n atomic.Int64 }

// Inc records one attempt.
func (c *Counter) Inc() { c.n.Add(1) }

// Load returns the attempts so far.
func (c *Counter) Load() int64 { return c.n.Load() }
