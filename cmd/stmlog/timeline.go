package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/timeline"
)

type timelineFlags struct {
	out       string
	from, to  time.Duration
	threads   []uint
	maxEvents int
	salvage   bool
	pypyEra   string
}

func newTimelineCmd() *cobra.Command {
	f := &timelineFlags{}
	cmd := &cobra.Command{
		Use:   "timeline [flags] LOG",
		Short: "Write a timeline of the log as Chrome trace JSON (for Perfetto / chrome://tracing)",
		Long: `Write the log's timeline as Chrome trace event JSON: open it in
https://ui.perfetto.dev (Open trace file) or in chrome://tracing.

One track per thread. Each transaction attempt is a slice named by its outcome:
commit, abort (args: cause, conflict), inevitable (committed after becoming
inevitable) or unfinished. Pauses ("pause <reason>"), PyPy GC phases and the
"inevitable section" (from becoming inevitable to the end: the time other
threads that want inevitability must wait) are nested slices. Conflicts are
instant events with both sites in their args, and an arrow leads from the
other (culprit) thread to the attempt that lost time.
Perfetto colours slices by name; chrome://tracing uses their cname (green
commit, red abort, orange inevitable).

Large logs: the trace stops after --max-events trace events with a warning;
select a window with --from/--to or threads with --thread.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTimeline(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "output", "o", "", "write the trace to `FILE` (default: standard output, unless it is a terminal)")
	fl.DurationVar(&f.from, "from", 0, "only what happens after `D` from the start of the log (e.g. 1.5s)")
	fl.DurationVar(&f.to, "to", 0, "only what happens before `D` from the start of the log (0: to the end)")
	fl.UintSliceVar(&f.threads, "thread", nil, "only thread `N` (repeat or comma-separate for several)")
	fl.IntVar(&f.maxEvents, "max-events", timeline.DefaultMaxEvents, "stop after `N` trace events (0: no limit)")
	fl.BoolVar(&f.salvage, "salvage", false, "skip damaged chunks of a native log instead of stopping")
	fl.StringVar(&f.pypyEra, "pypy-era", "", "event numbering of a PyPy-STM c8 log, `a`..e (default e, the final one)")
	return cmd
}

func runTimeline(stdout, stderr io.Writer, path string, f *timelineFlags) error {
	opt := timeline.Options{Name: path, From: f.from, To: f.to, MaxEvents: f.maxEvents}
	if err := checkWindow(f.from, f.to); err != nil {
		return err
	}
	switch {
	case f.maxEvents < 0:
		return usageError{fmt.Errorf("--max-events must not be negative")}
	case f.maxEvents == 0:
		opt.MaxEvents = -1
	}
	for _, t := range f.threads {
		if t == 0 || t > 1<<32-1 {
			return usageError{fmt.Errorf("--thread %d: threads are numbered from 1", t)}
		}
		opt.Threads = append(opt.Threads, uint32(t))
	}
	if (f.out == "" || f.out == "-") && isTerminal(stdout) {
		return usageError{fmt.Errorf("the trace is meant for a viewer, not a terminal; use -o trace.json")}
	}
	lo := anylog.Options{Salvage: f.salvage}
	var err error
	if lo.PyPyEra, err = parseEra(f.pypyEra); err != nil {
		return err
	}
	src, closer, err := anylog.Open(path, lo)
	if err != nil {
		return err
	}
	defer closer.Close()
	p := newProgress(src, path, stderr)

	out, name := stdout, "standard output"
	var fh *os.File
	if f.out != "" && f.out != "-" {
		if fh, err = os.Create(f.out); err != nil {
			return err
		}
		out, name = fh, f.out
	}
	st, err := timeline.Write(out, p, opt)
	p.done()
	if fh != nil {
		if cerr := fh.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %v", f.out, cerr)
		}
	}
	for _, w := range st.SourceStats.Warnings {
		fmt.Fprintln(stderr, "stmlog timeline: warning:", w)
	}
	if st.Threads == 0 && st.SourceStats.Events > 0 {
		fmt.Fprintf(stderr, "stmlog timeline: warning: %s: nothing in the trace: no events in the window or threads selected (the log has %d events)\n",
			path, st.SourceStats.Events)
	}
	if st.Capped {
		fmt.Fprintf(stderr, "stmlog timeline: warning: trace stopped after %d events, at %v into the log; "+
			"select a window (--from/--to), threads (--thread) or raise --max-events\n",
			st.TraceEvents, time.Duration(st.CappedAt).Round(time.Microsecond))
	}
	if err != nil {
		return inputError(err, lo.Salvage) // the trace written so far is complete JSON
	}
	if fh != nil {
		fmt.Fprintf(stderr, "wrote %s: %v; open it in https://ui.perfetto.dev or chrome://tracing\n", name, st)
	}
	return nil
}
