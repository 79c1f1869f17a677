package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/timeline"
)

type timelineFlags struct {
	input     inputFlags
	window    windowFlags
	out       string
	threads   []uint
	maxEvents int
	format    string
	// maxEventsSet: --max-events was given (html has its own default cap).
	maxEventsSet bool
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
other side's thread to the attempt that lost time.
Perfetto colours slices by name; chrome://tracing uses their cname (green
commit, red abort, orange inevitable).

Large logs: the trace stops after --max-events trace events with a warning;
select a window with --from/--to or threads with --thread.

--format html (the default for -o FILE.html) writes the same trace as one
self-contained HTML page with an SVG drawing instead, for when no trace
viewer is at hand (Perfetto needs the network): hover a slice for its
details. It is capped at 20,000 trace events unless --max-events says
otherwise. stmlog web serves the same page.`,
		Example: `  stmlog timeline -o trace.json stm.log          # then open it in https://ui.perfetto.dev
  stmlog timeline -o trace.html stm.log          # a drawing that needs no network
  stmlog timeline --from 1s --to 1100ms --thread 2,3 -o window.json stm.log`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.maxEventsSet = cmd.Flags().Changed("max-events")
			f.input.stdin = cmd.InOrStdin()
			return runTimeline(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "output", "o", "", "write the trace to `FILE` (default: standard output, unless it is a terminal)")
	f.window.register(fl)
	fl.UintSliceVar(&f.threads, "thread", nil, "only thread `N` (repeat or comma-separate for several)")
	fl.IntVar(&f.maxEvents, "max-events", timeline.DefaultMaxEvents, "stop after `N` trace events (0: no limit)")
	fl.StringVar(&f.format, "format", "", "`json` (Chrome trace) or html (a drawing; default for -o *.html)")
	f.input.register(fl)
	return cmd
}

func runTimeline(stdout, stderr io.Writer, path string, f *timelineFlags) error {
	opt := timeline.Options{Name: logName(path), From: f.window.from, To: f.window.to, MaxEvents: f.maxEvents}
	if err := f.window.check(); err != nil {
		return err
	}
	format := f.format
	if format == "" {
		format = "json"
		if strings.HasSuffix(strings.ToLower(f.out), ".html") {
			format = "html"
		}
	}
	if format != "json" && format != "html" {
		return usageError{fmt.Errorf("--format %q: want json or html", f.format)}
	}
	switch {
	case f.maxEvents < 0:
		return usageError{fmt.Errorf("--max-events must not be negative")}
	case f.maxEvents == 0:
		opt.MaxEvents = -1
	case format == "html" && !f.maxEventsSet:
		opt.MaxEvents = timeline.DefaultMaxHTMLEvents
	}
	for _, t := range f.threads {
		if t == 0 || t > 1<<32-1 {
			return usageError{fmt.Errorf("--thread %d: threads are numbered from 1", t)}
		}
		opt.Threads = append(opt.Threads, uint32(t))
	}
	if (f.out == "" || f.out == "-") && isTerminal(stdout) && format == "json" {
		return usageError{fmt.Errorf("the trace is meant for a viewer, not a terminal; use -o trace.json")}
	}
	lo, err := f.input.options()
	if err != nil {
		return err
	}
	src, closer, err := openLog(path, f.input.stdin, lo)
	if err != nil {
		return err
	}
	defer closer.Close()
	// A profile-level log holds, as events, only the transactions that met
	// contention: say so before the trace, which shows just those.
	if ms, ok := src.(interface{ Meta() logformat.Meta }); ok && ms.Meta().Level == logformat.LevelProfile {
		fmt.Fprintf(stderr, "stmlog timeline: warning: %s is a profile-level log: it shows only the transactions that met contention (the others, and Retry waits that met nothing else, are counted, not logged); record with STMLOG_EVENTS=all for every attempt\n", logName(path))
	}
	p := newProgress(src, path, stderr)

	// The trace goes to a temporary file first and replaces the output only
	// when the whole log was read: a damaged log leaves no valid-looking
	// partial trace behind (nor a half-written one on standard output).
	out, err := newAtomicOutput(f.out, stdout)
	if err != nil {
		return err
	}
	defer out.discard()
	var st timeline.Stats
	if format == "html" {
		st, err = timeline.WriteHTML(out.f, p, timeline.HTMLOptions{Options: opt})
	} else {
		st, err = timeline.Write(out.f, p, opt)
	}
	p.done()
	if err == nil {
		err = out.commit()
	}
	for _, w := range st.SourceStats.Warnings {
		fmt.Fprintln(stderr, "stmlog timeline: warning:", w)
	}
	if st.Threads == 0 && st.SourceStats.Events > 0 {
		fmt.Fprintf(stderr, "stmlog timeline: warning: %s: nothing in the trace: no events in the window or threads selected (the log has %d events)\n",
			logName(path), st.SourceStats.Events)
	}
	if st.Capped {
		fmt.Fprintf(stderr, "stmlog timeline: warning: trace stopped after %d events, at %s into the log; "+
			"select a window (--from/--to), threads (--thread) or raise --max-events\n",
			st.TraceEvents, durfmt.Dur(time.Duration(st.CappedAt)))
	}
	if err != nil {
		return inputError(err, lo.Salvage) // nothing was written
	}
	if out.path != "" {
		open := "open it in https://ui.perfetto.dev or chrome://tracing"
		if format == "html" {
			open = "open it in a browser"
		}
		fmt.Fprintf(stderr, "wrote %s: %v; %s\n", out.path, st, open)
	}
	return nil
}
