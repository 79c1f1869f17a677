package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/examples"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/runtime/stm"
)

type demoFlags struct {
	rep      reportFlags
	keep     bool
	list     bool
	workers  int
	duration time.Duration
	fixed    bool
	size     int
	events   string
}

func newDemoCmd() *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo [flags] [NAME]",
		Short: "Run a built-in workload with recording on and report its conflicts",
		Long: `Run one of the example workloads (default primes, the seed's Tornado-style
server) in this process with runtime/stm recording to a temporary log, then
print the log's report. --list shows the workloads; --fixed runs the version
with the conflicts removed, where there is one; --keep keeps the log.`,
		Example: `  stmlog demo                                    # primes, the seed's HTTP server
  stmlog demo --list
  stmlog demo bank --workers 8 --duration 3s
  stmlog demo btree --fixed --by site
  stmlog demo --keep primes                      # keep the log for the other commands`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "primes"
			if len(args) == 1 {
				name = args[0]
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), name, f, cmd.Flags().Changed("top"))
		},
	}
	fl := cmd.Flags()
	f.rep.load.registerBy(fl, groupByNames())
	f.rep.load.registerFilters(fl)
	f.rep.registerOutput(fl, false)
	fl.BoolVar(&f.keep, "keep", false, "keep the log (its path is printed on stderr)")
	fl.BoolVar(&f.list, "list", false, "list the workloads and exit")
	fl.IntVar(&f.workers, "workers", 4, "run with `N` workers")
	fl.DurationVar(&f.duration, "duration", time.Second, "run for about `D`")
	fl.BoolVar(&f.fixed, "fixed", false, "run the version with the conflicts removed")
	fl.IntVar(&f.size, "size", 0, "`N` units of work per round, in the workload's unit (0: its default)")
	registerEvents(fl, &f.events)
	return cmd
}

func runDemo(ctx context.Context, stdout, stderr io.Writer, name string, f *demoFlags, topSet bool) error {
	if f.list {
		for _, w := range examples.All() {
			fmt.Fprintf(stdout, "%-11s %s\n", w.Name, w.Summary)
		}
		return nil
	}
	w, ok := examples.Lookup(name)
	if !ok {
		var names []string
		for _, w := range examples.All() {
			names = append(names, w.Name)
		}
		return usageError{fmt.Errorf("no workload %q (have %s)", name, strings.Join(names, ", "))}
	}
	if f.fixed && !w.HasFixed {
		return usageError{fmt.Errorf("workload %s has no --fixed version", name)}
	}
	if f.workers <= 0 || f.duration <= 0 || f.size < 0 {
		return usageError{fmt.Errorf("--workers and --duration must be positive, --size not negative")}
	}
	if f.rep.format == "pypy" {
		return usageError{fmt.Errorf("--format pypy is for PyPy-STM logs; the demo writes a native log")}
	}
	if _, _, err := f.rep.load.options(); err != nil {
		return err
	}
	level, err := eventsLevel(f.events)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	fh, err := os.CreateTemp("", "stmlog-demo-"+name+"-*.log")
	if err != nil {
		return err
	}
	path := fh.Name()
	defer func() {
		if !f.keep {
			os.Remove(path)
		}
	}()
	if err := stm.StartLog(fh, stm.WithLevel(level)); err != nil {
		fh.Close()
		return fmt.Errorf("cannot record the demo: %w (is STMLOG set?)", err)
	}
	res, runErr := w.Run(ctx, examples.Config{Workers: f.workers, Duration: f.duration, Fixed: f.fixed, Size: f.size})
	stopErr := stm.StopLog()
	closeErr := fh.Close()
	switch {
	case runErr != nil:
		return fmt.Errorf("workload %s: %w", name, runErr)
	case stopErr != nil:
		return fmt.Errorf("recording %s: %w", path, stopErr)
	case closeErr != nil:
		return fmt.Errorf("writing %s: %w", path, closeErr)
	}
	version := "naive"
	if f.fixed {
		version = "fixed"
	} else if !w.HasFixed {
		version = "stm"
	}
	fmt.Fprintf(stderr, "stmlog demo: %s (%s), %d workers, %s: %d %s", name, version, f.workers,
		durfmt.Dur(res.Elapsed), res.Ops, res.Unit)
	if res.Txs > 0 {
		fmt.Fprintf(stderr, ", %.2f attempts per transaction", float64(res.Attempts)/float64(res.Txs))
	}
	if res.Check != "" {
		fmt.Fprintf(stderr, ", %s", res.Check)
	}
	fmt.Fprintln(stderr)
	switch {
	case f.fixed:
		fmt.Fprintf(stderr, "stmlog demo: the fixed version %s\n", w.FixedChange)
	case w.HasFixed:
		fmt.Fprintf(stderr, "stmlog demo: --fixed %s\n", w.FixedChange)
	}
	if f.keep {
		fmt.Fprintf(stderr, "stmlog demo: log kept in %s\n", path)
	}
	return runReport(stdout, stderr, []string{path}, &f.rep, topSet)
}
