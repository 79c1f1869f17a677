package report

// The CI gate behind `stmlog report --fail-over`: fail a build when a
// recorded run loses more time to contention than a budget.
//
// A spec is a comma-separated list of METRIC=LIMIT:
//
//	lost=5%cpu     lost time above 5% of the CPU time in transactions
//	lost=50%wall   lost time above 50% of the wall time
//	lost=5%        the same as lost=5%cpu (the form without a base)
//	aborted=2s     more than 2s of CPU time lost in aborts
//	paused=1.5%cpu,lost=300ms
//
// Metrics, all over the conflict groups of the summary (so they follow the
// report's --kind, --thread and --from/--to filters):
//
//	aborted  run time of attempts aborted by a conflict (Σ Group.Aborted)
//	paused   time paused waiting on a conflict (Σ Group.Paused)
//	lost     aborted + paused (Σ Group.Lost, what the report ranks by)
//
// A percentage names its base. cpu is the CPU time spent in transactions:
// committed + aborted + paused, summed over threads (analyze.Summary.CPU);
// unlike wall time it does not grow with the number of threads, so "5%cpu"
// means the same on 2 cores as on 64, and it is what a percentage without a
// base means. wall is the wall time the report's header uses (Summary.Wall),
// for a budget per second of run; with several threads a metric can exceed
// 100% of it, so wall limits may be above 100. Time that no conflict caused (a
// Retry wait, an error return) is not counted: it is not contention, and a
// workload that blocks on purpose must not fail the gate. A limit is exceeded
// when the value is strictly greater than it.
//
// A gate does not pass on nothing: a summary with no time in transactions (a
// log of a header only, a window or thread with no events) is ErrFailOverEmpty,
// since every limit would hold trivially.

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stmlog/stmlog/analyze"
)

// FailOverLimit is one METRIC=LIMIT of a --fail-over spec.
type FailOverLimit struct {
	Metric  string        // "lost", "aborted" or "paused"
	Percent float64       // limit in % of Base, when IsPct
	Base    string        // "cpu" or "wall", when IsPct
	Abs     time.Duration // limit as a duration, when !IsPct
	IsPct   bool
	spec    string // as written, for messages
}

// Percentage bases of a gate limit.
const (
	FailOverCPU  = "cpu"
	FailOverWall = "wall"
)

// String is the limit as written in the spec.
func (l FailOverLimit) String() string {
	if l.spec != "" {
		return l.spec
	}
	if l.IsPct {
		return l.Metric + "=" + strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%" + l.Base
	}
	return l.Metric + "=" + fmtDur(l.Abs)
}

// ErrFailOverEmpty is wrapped by CheckFailOver's error for a summary with nothing
// to check (no time in transactions).
var ErrFailOverEmpty = errors.New("nothing to check")

// baseName is how messages name a percentage base.
func baseName(base string) string {
	if base == FailOverWall {
		return "wall time"
	}
	return "CPU time in transactions"
}

// FailOverResult is the check of one limit.
type FailOverResult struct {
	Limit FailOverLimit
	Value time.Duration // the metric
	// Pct is the metric as a percentage of BaseTime: the limit's base, or
	// for an absolute limit CPU time in transactions.
	Pct      float64
	Base     string        // FailOverCPU or FailOverWall
	BaseTime time.Duration // the base of Pct
	Failed   bool
	// Offending lists, when Failed, the groups that contribute to the
	// metric, largest first.
	Offending []analyze.Group
}

// ParseFailOver parses a --fail-over spec (see the file comment).
func ParseFailOver(spec string) ([]FailOverLimit, error) {
	var out []FailOverLimit
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		metric, limit, ok := strings.Cut(part, "=")
		if !ok || limit == "" {
			return nil, fmt.Errorf("gate %q: want METRIC=LIMIT, e.g. lost=5%% or aborted=2s", part)
		}
		metric, limit = strings.TrimSpace(metric), strings.TrimSpace(limit)
		switch metric {
		case "lost", "aborted", "paused":
		default:
			return nil, fmt.Errorf("gate %q: unknown metric %q (want lost, aborted or paused)", part, metric)
		}
		l := FailOverLimit{Metric: metric, spec: metric + "=" + limit}
		if p, base, isPct := strings.Cut(limit, "%"); isPct {
			switch base = strings.TrimSpace(base); base {
			case "":
				base = FailOverCPU
			case FailOverCPU, FailOverWall:
			default:
				return nil, fmt.Errorf("gate %q: unknown percentage base %q (want %%cpu or %%wall)", part, base)
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			switch {
			case err != nil || v < 0:
				return nil, fmt.Errorf("gate %q: %q is not a percentage", part, limit)
			case v > 100 && base == FailOverCPU:
				return nil, fmt.Errorf("gate %q: %q is not a percentage of CPU time between 0 and 100", part, limit)
			}
			l.Percent, l.Base, l.IsPct = v, base, true
		} else {
			d, err := time.ParseDuration(limit)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("gate %q: %q is neither a percentage (5%%) nor a duration (2s, 150ms)", part, limit)
			}
			l.Abs = d
		}
		out = append(out, l)
	}
	return out, nil
}

// failOverValue is the metric's contribution of one group.
func failOverValue(g *analyze.Group, metric string) time.Duration {
	switch metric {
	case "aborted":
		return g.Aborted
	case "paused":
		return g.Paused
	}
	return g.Lost
}

// CheckFailOver checks a summary against a --fail-over spec. failed is true when any
// limit is exceeded; results has one entry per limit, in spec order. The
// error wraps ErrFailOverEmpty when the summary holds no time in transactions.
func CheckFailOver(s *analyze.Summary, spec string) (failed bool, results []FailOverResult, err error) {
	limits, err := ParseFailOver(spec)
	if err != nil {
		return false, nil, err
	}
	if s.CPU() <= 0 {
		return false, nil, fmt.Errorf("%w: %s", ErrFailOverEmpty, emptyReason(s))
	}
	for _, l := range limits {
		r := FailOverResult{Limit: l, Base: l.Base, BaseTime: s.CPU()}
		if l.Base == FailOverWall {
			r.BaseTime = s.Wall
		} else {
			r.Base = FailOverCPU
		}
		for i := range s.Groups {
			r.Value += failOverValue(&s.Groups[i], l.Metric)
		}
		if r.BaseTime > 0 {
			r.Pct = 100 * float64(r.Value) / float64(r.BaseTime)
		}
		if l.IsPct {
			r.Failed = r.Pct > l.Percent
		} else {
			r.Failed = r.Value > l.Abs
		}
		if r.Failed {
			for i := range s.Groups {
				if failOverValue(&s.Groups[i], l.Metric) > 0 {
					r.Offending = append(r.Offending, s.Groups[i])
				}
			}
			slices.SortStableFunc(r.Offending, func(x, y analyze.Group) int {
				return cmp.Compare(failOverValue(&y, l.Metric), failOverValue(&x, l.Metric)) // most first
			})
			failed = true
		}
		results = append(results, r)
	}
	return failed, results, nil
}

// emptyReason says why a summary has no time in transactions, naming the
// filter that left nothing when there is one.
func emptyReason(s *analyze.Summary) string {
	o := s.Options
	var span time.Duration
	events := int64(0)
	for _, l := range s.Logs {
		span = max(span, l.Span)
		events += max(l.Events, l.Stats.Events) // Events counts what the filters kept
	}
	logs, verbS := "the log", "s"
	if len(s.Logs) > 1 {
		logs, verbS = "the logs", ""
	}
	switch {
	case events == 0:
		return logs + " hold" + verbS + " no events (a header only: the program recorded nothing)"
	case o.Thread != 0 && len(s.Threads) == 0:
		return fmt.Sprintf("thread %d is not in %s", o.Thread, logs)
	case o.From != 0 || o.To > 0:
		to := "the end"
		if o.To > 0 {
			to = fmtDur(o.To)
		}
		return fmt.Sprintf("no transactions from %s to %s after the start (%s span%s %s)", fmtDur(o.From), to, logs, verbS, fmtDur(span))
	case o.Thread != 0:
		return fmt.Sprintf("thread %d ran no transactions", o.Thread)
	}
	return logs + " hold" + verbS + " no transactions"
}

// WriteFailOver prints the verdict of each limit and, for exceeded ones, the top
// offending groups (top <= 0: all) with both sites.
func WriteFailOver(w io.Writer, results []FailOverResult, top int) error {
	var b strings.Builder
	for _, r := range results {
		verdict := "ok"
		if r.Failed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "gate %s: %s: %s %s = %.1f%% of %s %s\n",
			r.Limit, verdict, r.Limit.Metric, fmtDur(r.Value), r.Pct, fmtDur(r.BaseTime), baseName(r.Base))
		off := r.Offending
		if top > 0 && len(off) > top {
			off = off[:top]
		}
		for i := range off {
			g := &off[i]
			v := failOverValue(g, r.Limit.Metric)
			p := 0.0
			if r.BaseTime > 0 {
				p = 100 * float64(v) / float64(r.BaseTime)
			}
			fmt.Fprintf(&b, "  %s %s (%.1f%% %s) in %dx %s\n    this:  %s\n    other: %s\n",
				fmtDur(v), r.Limit.Metric, p, r.Base, g.Count, g.Kind, siteLine(g.Site), siteLine(g.OtherSite))
		}
		if n := len(r.Offending) - len(off); n > 0 {
			fmt.Fprintf(&b, "  ... and %d more groups\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
