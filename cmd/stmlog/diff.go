package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/report"
)

type diffFlags struct {
	format   string
	top      int
	by       string
	kind     string
	from, to time.Duration
	salvage  bool
	pypyEra  string
}

func newDiffCmd() *cobra.Command {
	f := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff [flags] OLD NEW",
		Short: "Compare the time lost to conflicts in two logs (before/after a change)",
		Long: `Compare two logs, typically of the same program before and after a change.

Both logs are analyzed with the same options; conflict groups are matched by
the content of their sites (file, line, function), not by ids, so runs of
different builds match as long as the code lines are the same. Groups are
ranked by how much their lost time (aborted + paused) changed, either way;
"new" and "gone" mark groups found in one log only. The totals (wall, CPU,
committed, aborted, paused, lost, counts) are compared first.

--format json writes "schema": "stmlog.diff/v1" with integer nanoseconds.`,
		Example: `  stmlog diff before.log after.log
  stmlog diff --by site --top 0 --format json before.log after.log`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("diff compares two logs, OLD and NEW (e.g. stmlog diff before.log after.log); got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], args[1], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "output `format`: text or json")
	fl.IntVar(&f.top, "top", 10, "show the `N` largest changes (0: all)")
	fl.StringVar(&f.by, "by", "", "group conflicts by `KEY`: conflict (default), site, other, pair, kind, var")
	fl.StringVar(&f.kind, "kind", "", "keep only conflicts of `K`ind: write-write, write-read or inevitable")
	fl.DurationVar(&f.from, "from", 0, "only what happens after `D` from the start of each log")
	fl.DurationVar(&f.to, "to", 0, "only what happens before `D` from the start of each log (0: to the end)")
	fl.BoolVar(&f.salvage, "salvage", false, "skip damaged chunks of a native log instead of stopping")
	fl.StringVar(&f.pypyEra, "pypy-era", "", "event numbering of PyPy-STM c8 logs, `a`..e (default e)")
	return cmd
}

func runDiff(stdin io.Reader, stdout, stderr io.Writer, oldPath, newPath string, f *diffFlags) error {
	if err := checkStdinArgs([]string{oldPath, newPath}); err != nil {
		return err
	}
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("--format %q: want text or json", f.format)}
	}
	if f.top < 0 {
		return usageError{fmt.Errorf("--top must not be negative")}
	}
	var ao analyze.Options
	var err error
	if ao.By, err = analyze.ParseGroupBy(f.by); err != nil {
		return usageError{fmt.Errorf("--by: %w", err)}
	}
	if ao.By == analyze.ByThread {
		// Thread numbers mean nothing across runs.
		return usageError{fmt.Errorf("--by thread cannot be compared across logs")}
	}
	if f.kind != "" {
		if ao.Kind, err = logformat.ParseConflictKind(f.kind); err != nil {
			return usageError{fmt.Errorf("--kind: %w", err)}
		}
	}
	if f.from < 0 || f.to < 0 || (f.to > 0 && f.to <= f.from) {
		return usageError{fmt.Errorf("--from %v / --to %v: want 0 <= from < to", f.from, f.to)}
	}
	ao.From, ao.To = f.from, f.to
	lo := anylog.Options{Salvage: f.salvage}
	if lo.PyPyEra, err = parseEra(f.pypyEra); err != nil {
		return err
	}
	oldS, err := analyzeLogs([]string{oldPath}, stdin, ao, lo, stderr)
	if err != nil {
		return err
	}
	newS, err := analyzeLogs([]string{newPath}, stdin, ao, lo, stderr)
	if err != nil {
		return err
	}
	for _, s := range []*analyze.Summary{oldS, newS} {
		for _, w := range s.Warnings {
			fmt.Fprintln(stderr, "stmlog diff: warning:", w)
		}
	}
	d, err := analyze.NewDiff(oldS, newS)
	if err != nil {
		return err
	}
	if f.format == "json" {
		return report.WriteDiffJSON(stdout, d, f.top)
	}
	return report.WriteDiffText(stdout, d, f.top)
}
