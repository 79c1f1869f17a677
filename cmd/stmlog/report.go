package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat/pypy"
	"github.com/stmlog/stmlog/pypyreport"
	"github.com/stmlog/stmlog/report"
)

type reportFlags struct {
	load       loadFlags
	top        int
	format     string
	sourceRoot string
	noSource   bool
	vet        bool            // run stmvet over the source, see vet.go
	failOver   string          // CI check, see failover.go
	whatIf     *analyze.WhatIf // predictions for the top groups (set by runReport)
}

// register adds the input and output flags (shared by report and record).
func (f *reportFlags) register(cmd *cobra.Command) {
	f.load.register(cmd.Flags())
	f.registerOutput(cmd.Flags(), true)
}

// registerOutput adds the output flags; pypy says whether --format pypy
// applies (it does not to demo and record, which write native logs; record
// still takes it, to say so).
func (f *reportFlags) registerOutput(fl *pflag.FlagSet, pypy bool) {
	fl.IntVar(&f.top, "top", 10, "show the `N` groups that lost the most (0: all; json and csv show all unless given)")
	formats := "output `FORMAT`: text, json, csv or markdown"
	if pypy {
		formats = "output `FORMAT`: text, json, csv, markdown, or pypy (PyPy-STM logs: print_stm_log.py's exact output)"
	}
	fl.StringVar(&f.format, "format", "text", formats)
	fl.StringVar(&f.sourceRoot, "source-root", "", "look source files up under `DIR` first (when the log was recorded elsewhere)")
	fl.BoolVar(&f.noSource, "no-source", false, "do not read source files")
	fl.BoolVar(&f.vet, "vet", false, "run stmvet over the Go module at --source-root (or the current directory) and show its diagnostics at the sites they flag")
	registerFailOver(fl, &f.failOver)
}

func newReportCmd() *cobra.Command {
	f := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "report [flags] LOG... [N]",
		Short: "Report where time was lost to conflicts, ranked by source location",
		Long: `Analyze one or more logs (native stmlog logs and PyPy-STM c7/c8 logs, told
apart by their first bytes) and report the time lost to conflicts.

The header gives wall time, CPU time committed / aborted / paused (% of wall
time; with several threads it can exceed 100%), the time lost to conflicts
(also as % of CPU time in transactions, the base --fail-over uses unless
told %wall), transactions and warnings about the input. Then the conflict groups that lost the most: by default one
group per (kind, this site, other site), where "this" is the code that lost
the time and "other" the code it conflicted with. Lost = aborted + paused:
an aborted attempt's run time and pauses are charged to the conflict that
caused them.

Several logs of one program (one per process, say) are merged: each is
taken from its own start, sites are matched by content.

--format pypy (PyPy-STM logs) prints exactly what PyPy's print_stm_log.py
prints, and "stmlog report --format pypy LOG N" means its top N, like
"print_stm_log.py LOG N". A trailing number N means --top N in every format.

JSON output ("schema": "stmlog.report/v1", integer nanoseconds) is described
in docs/report-json.md.`,
		Example: `  stmlog report stm.log                          # ranked conflicts, both sides' source lines
  stmlog report stm.log 5                        # the top 5 groups, as print_stm_log.py LOG 5
  stmlog report --by site --kind write-read stm.log
  stmlog report --from 1s --to 2s --thread 3 stm.log
  stmlog report --format markdown a.log b.log    # several logs of one program, merged
  stmlog report --fail-over lost=5%cpu stm.log   # CI gate: exit 1 above 5% of CPU time
  stmlog report --fail-over lost=50%wall,aborted=2s stm.log
  stmlog report --format pypy pypy-stm.log       # exactly what print_stm_log.py prints
  zcat stm.log.gz | stmlog report -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.load.input.stdin = cmd.InOrStdin()
			return runReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f, cmd.Flags().Changed("top"))
		},
	}
	f.register(cmd)
	return cmd
}

// negativeTopArg lets "stmlog report --format pypy LOG -1" mean what
// "print_stm_log.py LOG -1" means (a Python slice, every conflict but the
// last) although "-1" looks like a flag: a trailing negative number on a
// report command line becomes an argument by putting "--" before it,
// unless a "--" came earlier or it is the value of the flag before it
// (--top -1). Other formats then reject the negative N themselves.
func negativeTopArg(root *cobra.Command, args []string) []string {
	n := len(args)
	if n < 3 || !isNegativeInt(args[n-1]) || slices.Contains(args[:n-1], "--") {
		return args
	}
	cmd, _, err := root.Find(args)
	if err != nil || cmd.Name() != "report" {
		return args
	}
	if prev := args[n-2]; strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") {
		var fl *pflag.Flag
		if name, ok := strings.CutPrefix(prev, "--"); ok {
			fl = cmd.Flags().Lookup(name)
		} else if len(prev) == 2 {
			fl = cmd.Flags().ShorthandLookup(prev[1:])
		}
		if fl != nil && fl.NoOptDefVal == "" {
			return args // the number is this flag's value
		}
	}
	return append(slices.Clip(args[:n-1]), "--", args[n-1])
}

func isNegativeInt(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n < 0
}

// splitTopArg takes a trailing "N" argument (print_stm_log.py's top N) off
// the list of logs, unless a file of that name exists.
func splitTopArg(args []string) ([]string, int, bool) {
	if len(args) < 2 {
		return args, 0, false
	}
	last := args[len(args)-1]
	n, err := strconv.Atoi(last)
	if err != nil {
		return args, 0, false
	}
	if _, err := os.Stat(last); err == nil {
		return args, 0, false
	}
	return args[:len(args)-1], n, true
}

func runReport(stdout, stderr io.Writer, args []string, f *reportFlags, topSet bool) error {
	paths, n, hasN := splitTopArg(args)
	if hasN {
		if topSet {
			return usageError{fmt.Errorf("give the number of groups either as --top or as the last argument, not both")}
		}
		f.top, topSet = n, true
	}
	if f.format == "pypy" {
		return runPyPyReport(stdout, stderr, paths, f, topSet)
	}
	if !slices.Contains(report.Formats, f.format) {
		return usageError{fmt.Errorf("--format %q: want %s or pypy", f.format, strings.Join(report.Formats, ", "))}
	}
	if f.top < 0 {
		return usageError{fmt.Errorf("--top %d: want 0 (all) or more", f.top)}
	}
	if !topSet && (f.format == "json" || f.format == "csv") {
		f.top = 0 // tools get every group unless asked otherwise
	}
	ao, lo, err := f.load.options()
	if err != nil {
		return err
	}
	if !whatIfColumn(f.format, ao) {
		sum, err := analyzeLogs(paths, f.load.input.stdin, ao, lo, stderr)
		if err != nil {
			return err
		}
		return writeSummary(stdout, stderr, sum, f)
	}
	sum, sched, err := analyzeWithSchedule(paths, f.load.input.stdin, ao, lo, stderr, analyze.DefaultScheduleLimit, false)
	if err != nil {
		return err
	}
	top := reportWhatIfTop
	if f.top > 0 {
		top = min(f.top, reportWhatIfTop)
	}
	if f.whatIf, err = sched.WhatIf(sum, analyze.WhatIfOptions{Top: top, Jobs: lo.Jobs}); err != nil {
		return err
	}
	return writeSummary(stdout, stderr, sum, f)
}

// reportWhatIfTop is how many groups a report predicts the gain of removing
// (one replay each; stmlog whatif predicts for any).
const reportWhatIfTop = 10

// whatIfColumn reports whether a report shows the what-if prediction: in
// the text and JSON formats, over whole logs (a replay needs every thread
// from start to end).
func whatIfColumn(format string, ao analyze.Options) bool {
	return (format == "text" || format == "json") && ao.Thread == 0 && ao.From == 0 && ao.To == 0
}

// writeSummary renders sum in f's format. Formats without a place for
// warnings in the reader's eye (csv, json) also print them on stderr.
func writeSummary(stdout, stderr io.Writer, sum *analyze.Summary, f *reportFlags) error {
	if f.format == "csv" || f.format == "json" {
		for _, w := range sum.Warnings {
			fmt.Fprintf(stderr, "stmlog: warning: %s\n", w)
		}
	}
	opt := report.Options{Top: f.top, SourceRoot: f.sourceRoot, NoSource: f.noSource, WhatIf: f.whatIf}
	if f.vet {
		vet, err := vetIndex(f.sourceRoot)
		if err != nil {
			return err
		}
		opt.Vet = vet
	}
	bw := bufio.NewWriter(stdout)
	err := report.Write(bw, f.format, sum, opt)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = checkFailOver(stderr, sum, f.failOver, f.top)
	}
	return err
}

func runPyPyReport(stdout, stderr io.Writer, paths []string, f *reportFlags, topSet bool) error {
	if len(paths) != 1 {
		return usageError{fmt.Errorf("--format pypy reads exactly one log (got %d)", len(paths))}
	}
	if f.load.filtered() {
		return usageError{fmt.Errorf("--format pypy prints print_stm_log.py's report as is: --by, --kind, --thread, --from and --to do not apply")}
	}
	if f.failOver != "" {
		return usageError{fmt.Errorf("--fail-over does not apply to --format pypy (use --format text or json for a gate)")}
	}
	lo, err := f.load.input.options()
	if err != nil {
		return err
	}
	// The c8 pass on two goroutines (a file, in parts) only when asked
	// for: it does about half the one-core pass's work on each core, but
	// no run has shown it faster in wall time yet (BENCHMARKS.md, "PyPy
	// --format pypy", Round 13: the machine was busy).
	if f.load.input.jobs == 0 {
		lo.Jobs = 1
	}
	top := 0 // the original's default
	if topSet {
		top = f.top
	}
	var in io.Reader = f.load.input.stdin
	if paths[0] != "-" {
		fh, err := os.Open(paths[0])
		if err != nil {
			return err
		}
		defer fh.Close()
		in = fh
	} else if in == nil {
		in = strings.NewReader("")
	}
	bw := bufio.NewWriter(stdout)
	err = pypyreport.Write(bw, stderr, in, pypyreport.Options{Top: top, TopGiven: topSet, Era: lo.PyPyEra, Name: logName(paths[0]),
		SourceRoot: f.sourceRoot, Jobs: lo.Jobs})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if errors.Is(err, pypy.ErrNotPyPy) {
		err = fmt.Errorf("%w (--format pypy is print_stm_log.py's report, for PyPy-STM logs; use --format text for other logs)", err)
	}
	return err
}
