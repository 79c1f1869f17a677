package primes

import (
	"context"
	"fmt"

	"github.com/stmlog/stmlog/examples/internal/workload"
)

// DefaultSize is the largest N the demo's clients ask for; they ask for N in
// [DefaultSize/2, DefaultSize]. 10000 is the seed's (siege ... /10000): a
// request then costs about 10 ms of CPU with the seed's is_prime, against
// well under a millisecond of HTTP on both sides, so the server's
// transactions, not HTTP, are the bottleneck, as in the seed. (At 2000 the
// in-process clients and HTTP took two thirds of the CPU and every version
// ran at the same speed.)
const DefaultSize = 10000

// Concurrency is the number of clients of Run. The seed used 50 with siege;
// more clients than workers keep the queue full, which the seed found was
// what made STM pay off.
const Concurrency = 8

// Run starts the server version cfg selects on a loopback port, loads it for
// cfg.Duration and checks every answer against the sieve and the final
// statistics against the number of answers. Ops counts requests.
func Run(ctx context.Context, cfg workload.Config) (workload.Result, error) {
	cfg = cfg.Normalize(DefaultSize)
	srv := NewServer(Options{Workers: cfg.Workers, Fixed: cfg.Fixed, Baseline: cfg.Baseline})
	base, stop, err := Listen(srv)
	if err != nil {
		srv.Close()
		return workload.Result{}, err
	}
	lr, err := Generate(ctx, base, Load{
		Concurrency: max(Concurrency, 2*cfg.Workers),
		Duration:    cfg.Duration,
		MinN:        cfg.Size / 2,
		MaxN:        cfg.Size,
		Verify:      true,
	})
	stop()
	srv.Close()
	attempts, txs := srv.Attempts()
	res := workload.Result{Ops: lr.Requests, Unit: "requests", Elapsed: lr.Elapsed, Attempts: attempts, Txs: txs}
	if err != nil {
		return res, err
	}
	st := srv.Stats()
	if st.Served != lr.Requests || st.Accepted != st.Served {
		return res, fmt.Errorf("primes: server counted %d accepted and %d served, clients got %d answers", st.Accepted, st.Served, lr.Requests)
	}
	res.Check = fmt.Sprintf("%d answers = sieve; stats: %d served, %d from cache", lr.Requests, st.Served, st.CacheHits)
	return res, nil
}
