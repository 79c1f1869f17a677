package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/report"
)

type whatIfFlags struct {
	load   loadFlags
	top    int
	groups []int
	format string
	limit  int
	procs  int
}

func newWhatIfCmd() *cobra.Command {
	f := &whatIfFlags{}
	cmd := &cobra.Command{
		Use:   "whatif [flags] LOG...",
		Short: "Predict the gain of removing each conflict group, by replaying the log",
		Long: `Predict, for each of the top conflict groups (ranked as stmlog report ranks
them) and for all of them at once, the throughput and wall time the program
would have had if that group's conflicts had not happened.

The prediction replays the log: each thread's runs, pauses and gaps between
transactions are rebuilt from a full-level log (STMLOG_EVENTS=all), the
group's aborted attempts and the pauses it caused are taken out (a paused
thread runs on; an aborted attempt's work is not redone), a pause that waited
for another thread's commit or inevitable transaction ends when that thread
gets there, and everything runs on the number of processors the recording
had (GOMAXPROCS). Beside it, the bound: the most any such replay could give.
A profile-level log (the default of STMLOG) gets the bound only. Of a log
with more runs, pauses and gaps than --limit, the first part that many cover
is replayed, and every figure is of that part.

Throughput is commits per second, after / before. The model and its limits
are in docs/whatif.md.`,
		Example: `  STMLOG=stm.log STMLOG_EVENTS=all ./myprog
  stmlog whatif stm.log                          # the top 5 groups, and all 5 at once
  stmlog whatif --group 1,3 stm.log              # groups 1 and 3 of the report, and both
  stmlog whatif --by site --format json stm.log
  stmlog whatif --from 2s --to 5s stm.log        # that part of the run only (past a warm-up)
  stmlog whatif --procs 1 stm.log                # as if the program had had one processor`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.load.input.stdin = cmd.InOrStdin()
			return runWhatIf(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	fl := cmd.Flags()
	f.load.registerBy(fl, groupByNames())
	f.load.registerKind(fl)
	f.load.window.register(fl) // not --thread: a replay needs every thread
	f.load.input.register(fl)
	fl.IntVar(&f.top, "top", 5, "predict for the `N` groups that lost the most (0: all)")
	fl.IntSliceVar(&f.groups, "group", nil, "predict for these groups only, by their rank in the report (`N,...`)")
	fl.StringVar(&f.format, "format", "text", "output `FORMAT`: text or json")
	fl.IntVar(&f.procs, "procs", 0, "replay on `N` processors instead of the recording's GOMAXPROCS (0: the recording's), e.g. the ones a loaded machine left the program")
	fl.IntVar(&f.limit, "limit", 16<<20, "keep at most `N` runs, pauses and gaps in memory (about 110 bytes each, with two replays at once) for the replay; of a longer log, the first part they cover is replayed")
	return cmd
}

func runWhatIf(stdout, stderr io.Writer, paths []string, f *whatIfFlags) error {
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("--format %q: want text or json", f.format)}
	}
	if f.top < 0 {
		return usageError{fmt.Errorf("--top %d: want 0 (all) or more", f.top)}
	}
	if f.procs < 0 {
		return usageError{fmt.Errorf("--procs %d: want 0 (the recording's) or more", f.procs)}
	}
	if f.limit <= 0 {
		return usageError{fmt.Errorf("--limit %d: want a positive number", f.limit)}
	}
	ao, lo, err := f.load.options()
	if err != nil {
		return err
	}
	sum, sched, err := analyzeWithSchedule(paths, f.load.input.stdin, ao, lo, stderr, f.limit, true)
	if err != nil {
		return err
	}
	wi, err := sched.WhatIf(sum, analyze.WhatIfOptions{Top: f.top, Groups: f.groups, Procs: f.procs, Jobs: lo.Jobs})
	if errors.Is(err, analyze.ErrNoGroup) {
		return usageError{fmt.Errorf("--group: %w", err)}
	} else if err != nil {
		return err
	}
	if f.format == "json" {
		for _, w := range sum.Warnings {
			fmt.Fprintf(stderr, "stmlog: warning: %s\n", w)
		}
	}
	bw := bufio.NewWriter(stdout)
	err = report.WriteWhatIf(bw, f.format, sum, wi)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// analyzeWithSchedule is analyzeLogs that also collects the schedule a
// what-if replay needs, in the same pass.
//
// With prefix, a log longer than limit has its first part replayed
// (analyze.Schedule.Prefix); else only its bound is given.
func analyzeWithSchedule(paths []string, stdin io.Reader, ao analyze.Options, lo anylog.Options, stderr io.Writer, limit int, prefix bool) (*analyze.Summary, *analyze.Schedule, error) {
	if err := checkStdinArgs(paths); err != nil {
		return nil, nil, err
	}
	a := analyze.New(ao)
	s := analyze.NewSchedule(ao)
	s.Limit, s.Prefix = limit, prefix
	// Files can be read again if they turn out to fit in the limit (see
	// schedule_again.go); until then only the bound is kept.
	again := !prefix && rereadable(paths)
	if again {
		s.BoundFirst()
	}
	sizes := make([]int64, len(paths))
	for i, path := range paths {
		var src logformat.Source
		var closer io.Closer
		var err error
		var count countingReader
		if again {
			src, closer, err = openCounted(path, lo, &count)
		} else {
			src, closer, err = openLog(path, stdin, lo)
		}
		if err != nil {
			return nil, nil, err
		}
		// The tee outermost: an Analyzer reading a tee directly takes the
		// schedule's steps in its own loop (see analyze's addEvents).
		p := newProgress(src, path, stderr)
		err = a.AddNamed(logName(path), s.Tee(logName(path), p))
		p.done()
		closer.Close()
		if err != nil {
			return nil, nil, inputError(err, lo.Salvage)
		}
		sizes[i] = count.n.Load()
	}
	sum := a.Summary()
	if again && s.NeedsSegments() {
		var err error
		if s, err = scheduleAgain(paths, sizes, ao, lo, limit); err != nil {
			return nil, nil, err
		}
	}
	return sum, s, nil
}
