// Package examples lists the workloads taken from the seeds, each written
// with runtime/stm and each paired with a sync.Mutex or channel version of
// the same program, so that `stmlog demo NAME` can run any of them with
// recording on and the benchmarks can compare them.
//
// Every workload is its own package (examples/NAME) with its own tests,
// benchmarks and small command (examples/NAME/cmd/NAME); this package only
// names them. What each one shows:
//
//	primes      the seed's Tornado server: inevitable time.Now()/ETag and a
//	            shared counter (naive) vs fixed, vs net/http + sync.Mutex
//	mandelbrot  bands as independent transactions: scales, no conflicts
//	btree       one shared B-tree: a header Var every insert writes, so it
//	            does not scale (fixed: sharded size counter)
//	astar       A* paths on a shared map while walls are built and erased
//	bank        transfers and an auditor that must always see the same total
//	            (fixed: audits the books as of a close, account by account)
//	prodcons    a bounded buffer that blocks with Retry, vs channel, sync.Cond
package examples

import (
	"context"
	"fmt"
	"slices"

	"github.com/stmlog/stmlog/examples/astar"
	"github.com/stmlog/stmlog/examples/bank"
	"github.com/stmlog/stmlog/examples/btree"
	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/examples/mandelbrot"
	"github.com/stmlog/stmlog/examples/primes"
	"github.com/stmlog/stmlog/examples/prodcons"
)

// Config says how to run a workload; the zero Config runs the STM version
// with 2 workers for DefaultDuration at the workload's default size.
type Config = workload.Config

// Result is what a run did; Check says what was verified.
type Result = workload.Result

// DefaultDuration is the run time of a zero Config.
const DefaultDuration = workload.DefaultDuration

// Workload is one runnable example.
type Workload struct {
	Name    string
	Summary string
	// DefaultSize is what Config.Size 0 means, in the workload's own unit.
	DefaultSize int
	// HasFixed reports whether Config.Fixed selects a different version,
	// and FixedChange says in one line what that version changes.
	HasFixed    bool
	FixedChange string
	Run         func(ctx context.Context, cfg Config) (Result, error)
}

var all = []Workload{
	{Name: "primes", Summary: "Tornado-style HTTP server computing primes, handlers as queued transactions (seed 000); naive has the seed's inevitable time.Now()/ETag and shared-counter conflicts; the fixed version removes them",
		DefaultSize: primes.DefaultSize, HasFixed: true, Run: primes.Run,
		FixedChange: "reads the clock and numbers the request before the transaction, hashes the ETag after it commits, and counts into per-request statistics shards: no inevitable transaction, no shared counter"},
	{Name: "mandelbrot", Summary: "Mandelbrot set in 16 bands, one transaction per band: no conflicts, scales with workers",
		DefaultSize: mandelbrot.DefaultSize, Run: mandelbrot.Run},
	{Name: "btree", Summary: "inserts into one shared B-tree of stm.Vars: the header Var makes every insert conflict, so it does not scale; the fixed version keeps the size elsewhere",
		DefaultSize: btree.DefaultSize, HasFixed: true, Run: btree.Run,
		FixedChange: "keeps the root pointer alone in the header and counts the size in shards, so inserts no longer all write the header"},
	{Name: "astar", Summary: "players find A* paths on a shared map while walls are built and erased (seed 000, part 2)",
		DefaultSize: astar.DefaultSize, HasFixed: true, Run: astar.Run,
		FixedChange: "partitions the requests, a queue per worker with each player's moves always in the same one, so no two workers move one player"},
	{Name: "bank", Summary: "transfers between accounts while an auditor checks the total: short writers against a long reader; the fixed version audits the books as of a close, account by account",
		DefaultSize: bank.DefaultSize, HasFixed: true, Run: bank.Run,
		FixedChange: "closes the books (one tiny transaction) and audits the balances as of the close, one account per transaction, from the closing balances transfers save beside the accounts: no transaction reads every account"},
	{Name: "prodcons", Summary: "producers and consumers through a bounded buffer that blocks with Retry (compare channels and sync.Cond)",
		DefaultSize: prodcons.DefaultSize, HasFixed: true, Run: prodcons.Run,
		FixedChange: fmt.Sprintf("gives each producer-consumer pair its own buffer and hands items over in batches of %d per transaction (PutBatch, TakeBatch): no two producers write one counter, and Retry waits are woken %d times less often", prodcons.Batch, prodcons.Batch)},
}

// All returns the workloads, primes first (the demo's default).
func All() []Workload { return slices.Clone(all) }

// Lookup finds a workload by name.
func Lookup(name string) (Workload, bool) {
	for _, w := range all {
		if w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

// Names returns the workload names, for usage messages.
func Names() []string {
	out := make([]string, len(all))
	for i, w := range all {
		out[i] = w.Name
	}
	return out
}
