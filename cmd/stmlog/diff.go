package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/report"
)

type diffFlags struct {
	load   loadFlags // no --thread: thread numbers mean nothing across runs
	format string
	top    int
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

When the transactions changed shape (fewer, longer ones, or more, shorter
ones: commits/s and run time per commit moved apart by 25 % or more), a
note says so: commits/s then does not compare speed.

--format json writes "schema": "stmlog.diff/v1" with integer nanoseconds,
described in docs/report-json.md.`,
		Example: `  stmlog diff before.log after.log
  stmlog diff --by site --top 0 --format json before.log after.log`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("diff compares two logs, OLD and NEW (e.g. stmlog diff before.log after.log); got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f.load.input.stdin = cmd.InOrStdin()
			return runDiff(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], args[1], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "output `format`: text or json")
	fl.IntVar(&f.top, "top", 10, "show the `N` largest changes (0: all)")
	f.load.registerBy(fl, diffGroupByNames())
	f.load.registerKind(fl)
	f.load.window.register(fl)
	f.load.input.register(fl)
	return cmd
}

func runDiff(stdout, stderr io.Writer, oldPath, newPath string, f *diffFlags) error {
	if err := checkStdinArgs([]string{oldPath, newPath}); err != nil {
		return err
	}
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("--format %q: want text or json", f.format)}
	}
	if f.top < 0 {
		return usageError{fmt.Errorf("--top must not be negative")}
	}
	ao, lo, err := f.load.options()
	if err != nil {
		return err
	}
	if ao.By == analyze.ByThread {
		// Thread numbers mean nothing across runs.
		return usageError{fmt.Errorf("--by thread cannot be compared across logs")}
	}
	oldS, err := analyzeLogs([]string{oldPath}, f.load.input.stdin, ao, lo, stderr)
	if err != nil {
		return err
	}
	newS, err := analyzeLogs([]string{newPath}, f.load.input.stdin, ao, lo, stderr)
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
