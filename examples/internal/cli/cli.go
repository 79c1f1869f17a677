// Package cli is the shared main of the examples' small commands
// (examples/NAME/cmd/NAME): the same flags for every workload, one line of
// result. Run with STMLOG=path to get a log for `stmlog report`: the runtime
// starts recording when the program starts, and Main stops it (writing the
// log's end marker) before the program exits.
package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// Main parses the flags, runs the workload and prints its result; it exits
// with status 1 on error.
func Main(name string, defSize int, run func(context.Context, workload.Config) (workload.Result, error)) {
	var cfg workload.Config
	flag.IntVar(&cfg.Workers, "workers", 2, "workers (goroutines running transactions)")
	flag.DurationVar(&cfg.Duration, "d", workload.DefaultDuration, "how long to run")
	flag.IntVar(&cfg.Size, "size", defSize, "size of one round of work")
	flag.BoolVar(&cfg.Baseline, "baseline", false, "run the sync.Mutex/channel version instead of STM")
	flag.BoolVar(&cfg.Fixed, "fixed", false, "run the version with the conflicts fixed (primes)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, cfg)
	if os.Getenv("STMLOG") != "" {
		if serr := stm.StopLog(); serr != nil {
			fmt.Fprintln(os.Stderr, name+":", serr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // errors name the workload already
		os.Exit(1)
	}
	fmt.Println(name+":", Format(res))
}

// Format renders a result on one line.
func Format(res workload.Result) string {
	s := fmt.Sprintf("%d %s in %v (%.1f/s)", res.Ops, res.Unit, res.Elapsed.Round(1e6), res.OpsPerSec())
	if res.Txs > 0 {
		s += fmt.Sprintf(", %.2f attempts per transaction", float64(res.Attempts)/float64(res.Txs))
	}
	return s + "; " + res.Check
}
