// Package cli is the shared main of the examples' small commands
// (examples/NAME/cmd/NAME): the same flags for every workload, one line of
// result. Run with STMLOG=path to get a log for `stmlog report`: the runtime
// starts recording when the program starts, and Run stops it (writing the
// log's end marker) before the program exits.
package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/runtime/stm"
)

// RunFunc is a workload's Run.
type RunFunc func(context.Context, workload.Config) (workload.Result, error)

// Main registers the flags, parses them and calls Run.
func Main(name string, defSize int, run RunFunc) {
	cfg := Flags(defSize)
	flag.Parse()
	Run(name, *cfg, run)
}

// Flags registers the common flags on flag.CommandLine; the Config is
// filled in by flag.Parse.
func Flags(defSize int) *workload.Config {
	cfg := new(workload.Config)
	flag.IntVar(&cfg.Workers, "workers", 2, "workers (goroutines running transactions)")
	flag.DurationVar(&cfg.Duration, "d", workload.DefaultDuration, "how long to run")
	flag.IntVar(&cfg.Size, "size", defSize, "size of one round of work")
	flag.BoolVar(&cfg.Baseline, "baseline", false, "run the sync.Mutex/channel version instead of STM")
	flag.BoolVar(&cfg.Fixed, "fixed", false, "run the version with the conflicts fixed (all but mandelbrot)")
	return cfg
}

// Run runs the workload, stops recording if STMLOG started it, and prints
// the result; it exits with status 1 on error.
func Run(name string, cfg workload.Config, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, cfg)
	StopLog(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // errors name the workload already
		os.Exit(1)
	}
	fmt.Println(name+":", Format(res))
}

// StopLog ends a recording started by STMLOG, so the log gets its end
// marker.
func StopLog(name string) {
	if os.Getenv("STMLOG") == "" {
		return
	}
	if err := stm.StopLog(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
	}
}

// Format renders a result on one line.
func Format(res workload.Result) string {
	s := fmt.Sprintf("%d %s in %s (%.1f/s)", res.Ops, res.Unit, durfmt.Dur(res.Elapsed), res.OpsPerSec())
	if res.Txs > 0 {
		s += fmt.Sprintf(", %.2f attempts per transaction", float64(res.Attempts)/float64(res.Txs))
	}
	return s + "; " + res.Check
}
