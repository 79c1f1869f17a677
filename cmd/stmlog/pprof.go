package main

// `stmlog pprof` writes the time lost to conflicts as a pprof profile; the
// profile itself is built by report.Pprof from analyze's attribution, so its
// totals are the report's. This file is flags and files only; the shared
// loading (loadFlags.registerInput, loadPprofProfiles) also serves `stmlog web`.

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/pprof/profile"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/internal/webui"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/report"
)

// pprofInfo describes what went into the profiles (for messages and the web
// index page).
type pprofInfo struct {
	Paths    []string
	Totals   []int64 // in report.PprofSampleTypes order
	Warnings []string
	Hints    []webui.Hint // the top groups that have a hint, and the run's
}

// index is what the web index page shows of info.
func (info pprofInfo) index() webui.Index {
	return webui.Index{Logs: info.Paths, Totals: info.Totals, Warnings: info.Warnings, Hints: info.Hints}
}

// loadPprofProfiles analyzes the logs once and builds one profile per view.
func loadPprofProfiles(paths []string, f *loadFlags, views []report.PprofView, sample string, stderr io.Writer) (map[report.PprofView]*profile.Profile, pprofInfo, error) {
	info := pprofInfo{Paths: paths}
	ao, lo, err := f.options()
	if err != nil {
		return nil, info, err
	}
	sum, err := analyzeLogs(paths, f.input.stdin, ao, lo, stderr)
	if err != nil {
		return nil, info, err
	}
	info.Warnings = sum.Warnings
	info.Hints = webui.Hints(sum)
	out := map[report.PprofView]*profile.Profile{}
	for _, v := range views {
		p, err := report.PprofFromSummary(sum, report.PprofOptions{
			View:     v,
			Sample:   sample,
			Comments: pprofComments(paths, v, ao),
		})
		if err != nil {
			return nil, info, err
		}
		if info.Totals == nil {
			info.Totals = report.PprofTotals(p) // the same in every view
		}
		out[v] = p
	}
	return out, info, nil
}

func pprofComments(paths []string, v report.PprofView, ao analyze.Options) []string {
	c := []string{"stmlog: time lost to STM conflicts, " + v.String() + " view"}
	for _, p := range paths {
		c = append(c, "log: "+logName(p))
	}
	if ao.Kind != logformat.ConflictNone {
		c = append(c, "kind: "+ao.Kind.String())
	}
	if ao.Thread != 0 {
		c = append(c, fmt.Sprintf("thread: %d", ao.Thread))
	}
	if ao.From != 0 || ao.To != 0 {
		c = append(c, fmt.Sprintf("window: from %s to %s", durfmt.Dur(ao.From), durfmt.Dur(ao.To)))
	}
	return c
}

type pprofFlags struct {
	load   loadFlags
	out    string
	view   string
	sample string
}

func newPprofCmd() *cobra.Command {
	f := &pprofFlags{}
	cmd := &cobra.Command{
		Use:   "pprof [flags] LOG...",
		Short: "Write time lost to conflicts as a pprof profile (for go tool pprof)",
		Long: `Write a pprof profile (profile.proto, gzipped) of the time the logs lost to
conflicts, with the recorded call stacks, so that

    go tool pprof -top lost.pb.gz
    go tool pprof -http=: lost.pb.gz

show where time went. No binary is needed: frames carry function, file and line.

Each sample has four values: conflicts (count), aborted, paused and lost
(= aborted + paused) nanoseconds; --sample picks the one pprof shows first.
Labels: kind (write-write, write-read, inevitable) and other (file:line of the
side not at the sample's leaf), for -tagfocus.

--view chooses whose stack a conflict is filed under:
  this   the side that lost the time (default)
  other  the other side: where the conflicting write / inevitable tx was
  pair   this side's stack on top of "conflict: <kind>" on top of the other side's`,
		Example: `  stmlog pprof -o lost.pb.gz stm.log && go tool pprof -top lost.pb.gz
  stmlog pprof --view other --sample aborted -o other.pb.gz stm.log
  stmlog pprof --kind inevitable stm.log > inevitable.pb.gz`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.load.input.stdin = cmd.InOrStdin()
			return runPprof(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	fl := cmd.Flags()
	f.load.registerInput(fl)
	fl.StringVarP(&f.out, "output", "o", "", "write the profile to `FILE` (default: standard output, unless it is a terminal)")
	fl.StringVar(&f.view, "view", "this", "whose stacks: `this`, other or pair")
	fl.StringVar(&f.sample, "sample", report.SampleLost, "default sample type: `lost`, aborted, paused or conflicts")
	return cmd
}

func runPprof(stdout, stderr io.Writer, paths []string, f *pprofFlags) error {
	view, err := report.ParsePprofView(f.view)
	if err != nil {
		return usageError{fmt.Errorf("--view: %w", err)}
	}
	if !slices.Contains(report.PprofSampleTypes, f.sample) {
		return usageError{fmt.Errorf("--sample %q: want lost, aborted, paused or conflicts", f.sample)}
	}
	if f.out == "" || f.out == "-" {
		if fd, ok := stdout.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
			return usageError{fmt.Errorf("refusing to write a binary profile to the terminal; use -o FILE")}
		}
	}
	profiles, info, err := loadPprofProfiles(paths, &f.load, []report.PprofView{view}, f.sample, stderr)
	if err != nil {
		return err
	}
	for _, w := range info.Warnings {
		fmt.Fprintln(stderr, "stmlog pprof: warning:", w)
	}
	p := profiles[view]
	if f.out == "" || f.out == "-" {
		return p.Write(stdout)
	}
	if err := writePprofFile(f.out, p); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: %d conflicts, %s lost (%s aborted, %s paused), %s view; open with: go tool pprof -http=: %s\n",
		f.out, info.Totals[0], durfmt.Dur(time.Duration(info.Totals[3])), durfmt.Dur(time.Duration(info.Totals[1])),
		durfmt.Dur(time.Duration(info.Totals[2])), view, f.out)
	return nil
}

// writePprofFile writes p to path, leaving no half-written file behind.
func writePprofFile(path string, p *profile.Profile) error {
	out, err := newAtomicOutput(path, nil)
	if err != nil {
		return err
	}
	defer out.discard()
	if err := p.Write(out.f); err != nil {
		return fmt.Errorf("%s: writing profile: %w", path, err)
	}
	return out.commit()
}
