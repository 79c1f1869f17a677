package report

// The CI gate behind `stmlog report --fail-over`: fail a build when a
// recorded run loses more time to contention than a budget.
//
// A spec is a comma-separated list of METRIC=LIMIT:
//
//	lost=5%        lost time above 5% of the CPU time in transactions
//	aborted=2s     more than 2s of CPU time lost in aborts
//	paused=1.5%,lost=300ms
//
// Metrics, all over the conflict groups of the summary (so they follow the
// report's --kind, --thread and --from/--to filters):
//
//	aborted  run time of attempts aborted by a conflict (Σ Group.Aborted)
//	paused   time paused waiting on a conflict (Σ Group.Paused)
//	lost     aborted + paused (Σ Group.Lost, what the report ranks by)
//
// A percentage is of the CPU time spent in transactions: committed +
// aborted + paused, summed over threads (analyze.Summary.CPU). That base,
// unlike wall time, does not grow with the number of threads, so "5%" means
// the same on 2 cores as on 64. Time that no conflict caused (a Retry wait,
// an error return) is not counted: it is not contention, and a workload that
// blocks on purpose must not fail the gate. A limit is exceeded when the
// value is strictly greater than it.

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stmlog/stmlog/analyze"
)

// GateLimit is one METRIC=LIMIT of a gate spec.
type GateLimit struct {
	Metric  string        // "lost", "aborted" or "paused"
	Percent float64       // limit in % of CPU time, when IsPct
	Abs     time.Duration // limit as a duration, when !IsPct
	IsPct   bool
}

func (l GateLimit) String() string {
	if l.IsPct {
		return l.Metric + "=" + strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return l.Metric + "=" + l.Abs.String()
}

// GateResult is the check of one limit.
type GateResult struct {
	Limit  GateLimit
	Value  time.Duration // the metric
	Pct    float64       // the metric as % of CPU time in transactions
	CPU    time.Duration // the base of Pct
	Failed bool
	// Offending lists, when Failed, the groups that contribute to the
	// metric, largest first.
	Offending []analyze.Group
}

// ParseGate parses a gate spec (see the file comment).
func ParseGate(spec string) ([]GateLimit, error) {
	var out []GateLimit
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
		l := GateLimit{Metric: metric}
		if p, isPct := strings.CutSuffix(limit, "%"); isPct {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || v < 0 || v > 100 {
				return nil, fmt.Errorf("gate %q: %q is not a percentage between 0 and 100", part, limit)
			}
			l.Percent, l.IsPct = v, true
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

// gateValue is the metric's contribution of one group.
func gateValue(g *analyze.Group, metric string) time.Duration {
	switch metric {
	case "aborted":
		return g.Aborted
	case "paused":
		return g.Paused
	}
	return g.Lost
}

// CheckGate checks a summary against a gate spec. failed is true when any
// limit is exceeded; results has one entry per limit, in spec order.
func CheckGate(s *analyze.Summary, spec string) (failed bool, results []GateResult, err error) {
	limits, err := ParseGate(spec)
	if err != nil {
		return false, nil, err
	}
	cpu := s.CPU()
	for _, l := range limits {
		r := GateResult{Limit: l, CPU: cpu}
		for i := range s.Groups {
			r.Value += gateValue(&s.Groups[i], l.Metric)
		}
		if cpu > 0 {
			r.Pct = 100 * float64(r.Value) / float64(cpu)
		}
		if l.IsPct {
			r.Failed = r.Pct > l.Percent
		} else {
			r.Failed = r.Value > l.Abs
		}
		if r.Failed {
			for i := range s.Groups {
				if gateValue(&s.Groups[i], l.Metric) > 0 {
					r.Offending = append(r.Offending, s.Groups[i])
				}
			}
			slices.SortStableFunc(r.Offending, func(x, y analyze.Group) int {
				return cmp.Compare(gateValue(&y, l.Metric), gateValue(&x, l.Metric)) // most first
			})
			failed = true
		}
		results = append(results, r)
	}
	return failed, results, nil
}

// WriteGate prints the verdict of each limit and, for exceeded ones, the top
// offending groups (top <= 0: all) with both sites.
func WriteGate(w io.Writer, results []GateResult, top int) error {
	var b strings.Builder
	for _, r := range results {
		verdict := "ok"
		if r.Failed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "gate %s: %s: %s %s = %.1f%% of %s CPU time in transactions\n",
			r.Limit, verdict, r.Limit.Metric, fmtDur(r.Value), r.Pct, fmtDur(r.CPU))
		off := r.Offending
		if top > 0 && len(off) > top {
			off = off[:top]
		}
		for i := range off {
			g := &off[i]
			v := gateValue(g, r.Limit.Metric)
			p := 0.0
			if r.CPU > 0 {
				p = 100 * float64(v) / float64(r.CPU)
			}
			fmt.Fprintf(&b, "  %s %s (%.1f%%) in %dx %s\n    this:  %s\n    other: %s\n",
				fmtDur(v), r.Limit.Metric, p, g.Count, g.Kind, siteLine(g.This), siteLine(g.Other))
		}
		if n := len(r.Offending) - len(off); n > 0 {
			fmt.Fprintf(&b, "  ... and %d more groups\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
