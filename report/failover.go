package report

// Printing of the check behind `stmlog report --fail-over`; the spec, the
// metrics and the verdict are analyze's (analyze/failover.go).

import (
	"fmt"
	"io"
	"strings"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
)

// baseName is how messages name a percentage base.
func baseName(base string) string {
	if base == analyze.FailOverWall {
		return "wall time"
	}
	return "CPU time in transactions"
}

// EmptyReason words why a summary held nothing to check, naming the filter
// that left nothing when there is one.
func EmptyReason(e *analyze.EmptyError) string {
	logs, verbS := "the log", "s"
	if e.Logs > 1 {
		logs, verbS = "the logs", ""
	}
	switch e.Cause {
	case analyze.EmptyNoEvents:
		return logs + " hold" + verbS + " no events (a header only: the program recorded nothing)"
	case analyze.EmptyNoThread:
		return fmt.Sprintf("thread %d is not in %s", e.Thread, logs)
	case analyze.EmptyWindow:
		to := "the end"
		if e.To > 0 {
			to = durfmt.Dur(e.To)
		}
		return fmt.Sprintf("no transactions from %s to %s after the start (%s span%s %s)", durfmt.Dur(e.From), to, logs, verbS, durfmt.Dur(e.Span))
	case analyze.EmptyThreadIdle:
		return fmt.Sprintf("thread %d ran no transactions", e.Thread)
	}
	return logs + " hold" + verbS + " no transactions"
}

// WriteFailOver prints the verdict of each limit and, for exceeded ones, the top
// offending groups (top <= 0: all) with both sites.
func WriteFailOver(w io.Writer, results []analyze.FailOverResult, top int) error {
	var b strings.Builder
	for _, r := range results {
		verdict := "ok"
		if r.Failed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "gate %s: %s: %s %s = %.1f%% of %s %s\n",
			r.Limit, verdict, r.Limit.Metric, durfmt.Dur(r.Value), r.Pct, durfmt.Dur(r.BaseTime), baseName(r.Base))
		off := r.Offending
		if top > 0 && len(off) > top {
			off = off[:top]
		}
		for i := range off {
			g := &off[i]
			v := r.Limit.Value(g)
			p := 0.0
			if r.BaseTime > 0 {
				p = 100 * float64(v) / float64(r.BaseTime)
			}
			fmt.Fprintf(&b, "  %s %s (%.1f%% %s) in %dx %s\n    this:  %s\n    other: %s\n",
				durfmt.Dur(v), r.Limit.Metric, p, r.Base, g.Count, g.Kind, siteLine(g.Site), siteLine(g.OtherSite))
		}
		if n := len(r.Offending) - len(off); n > 0 {
			fmt.Fprintf(&b, "  ... and %d more groups\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
