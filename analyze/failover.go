package analyze

// The check behind `stmlog report --fail-over`: does a recorded run lose
// more time to contention than a budget? This file computes the verdict;
// package report prints it.
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
// --kind, --thread and --from/--to filters):
//
//	aborted  run time of attempts aborted by a conflict (Σ Group.Aborted)
//	paused   time paused waiting on a conflict (Σ Group.Paused)
//	lost     aborted + paused (Σ Group.Lost, what the report ranks by)
//
// A percentage names its base. cpu is the CPU time spent in transactions:
// committed + aborted + paused, summed over threads (Summary.CPU); unlike
// wall time it does not grow with the number of threads, so "5%cpu" means
// the same on 2 cores as on 64, and it is what a percentage without a base
// means. wall is the wall time of the report's header (Summary.Wall), for a
// budget per second of run; with several threads a metric can exceed 100%
// of it, so wall limits may be above 100. Time that no conflict caused (a
// Retry wait, an error return) is not counted: it is not contention, and a
// workload that blocks on purpose must not fail the check. A limit is
// exceeded when the value is strictly greater than it.
//
// A check does not pass on nothing: a summary with no time in transactions
// (a log of a header only, a window or thread with no events) is an
// *EmptyError, which wraps ErrFailOverEmpty, since every limit would hold
// trivially.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stmlog/stmlog/internal/durfmt"
)

// FailOverLimit is one METRIC=LIMIT of a --fail-over spec.
type FailOverLimit struct {
	Metric  string        // "lost", "aborted" or "paused"
	Percent float64       // limit in % of Base, when IsPct
	Base    string        // FailOverCPU or FailOverWall, when IsPct
	Abs     time.Duration // limit as a duration, when !IsPct
	IsPct   bool
	spec    string // as written, for messages
}

// Percentage bases of a limit.
const (
	FailOverCPU  = "cpu"
	FailOverWall = "wall"
)

// String is the limit as written in the spec (for a limit built by hand,
// the duration in Go's notation).
func (l FailOverLimit) String() string {
	if l.spec != "" {
		return l.spec
	}
	if l.IsPct {
		return l.Metric + "=" + strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%" + l.Base
	}
	return l.Metric + "=" + l.Abs.String()
}

// Value is the limit's metric in one group.
func (l FailOverLimit) Value(g *Group) time.Duration {
	switch l.Metric {
	case "aborted":
		return g.Aborted
	case "paused":
		return g.Paused
	}
	return g.Lost
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
	Offending []Group
}

// FailOverCheck is the verdict of a whole spec.
type FailOverCheck struct {
	Results []FailOverResult // one per limit, in spec order
	Failed  bool             // some limit is exceeded
}

// ErrFailOverEmpty is wrapped by the error of CheckFailOver for a summary
// with nothing to check (no time in transactions).
var ErrFailOverEmpty = errors.New("nothing to check")

// EmptyCause says why a summary holds no time in transactions.
type EmptyCause int

const (
	EmptyNoTransactions EmptyCause = iota // events, but no transaction
	EmptyNoEvents                         // a header only: the program recorded nothing
	EmptyNoThread                         // Options.Thread is not in the logs
	EmptyWindow                           // nothing in the From/To window
	EmptyThreadIdle                       // Options.Thread ran no transactions
)

// EmptyError is CheckFailOver's error for a summary with no time in
// transactions. It carries the facts behind the message so that a report
// can word them (report.FailOverEmptyText); Error gives a plain version.
type EmptyError struct {
	Cause    EmptyCause
	Logs     int           // how many logs the summary read
	Thread   uint32        // Options.Thread
	From, To time.Duration // Options.From and To (To 0: the end)
	Span     time.Duration // the longest span of the logs
}

func (e *EmptyError) Unwrap() error { return ErrFailOverEmpty }

func (e *EmptyError) Error() string {
	var why string
	switch e.Cause {
	case EmptyNoEvents:
		why = "no events"
	case EmptyNoThread:
		why = fmt.Sprintf("thread %d is not in the logs", e.Thread)
	case EmptyWindow:
		why = fmt.Sprintf("no transactions from %s to %s after the start (span %s)", durfmt.Dur(e.From), durfmt.Dur(e.To), durfmt.Dur(e.Span))
	case EmptyThreadIdle:
		why = fmt.Sprintf("thread %d ran no transactions", e.Thread)
	default:
		why = "no transactions"
	}
	return ErrFailOverEmpty.Error() + ": " + why
}

// emptyError says why a summary has no time in transactions, naming the
// filter that left nothing when there is one.
func emptyError(s *Summary) *EmptyError {
	o := s.Options
	e := &EmptyError{Logs: len(s.Logs), Thread: o.Thread, From: o.From, To: max(o.To, 0)}
	events := int64(0)
	for _, l := range s.Logs {
		e.Span = max(e.Span, l.Span)
		events += max(l.Events, l.Stats.Events) // Events counts what the filters kept
	}
	switch {
	case events == 0:
		e.Cause = EmptyNoEvents
	case o.Thread != 0 && len(s.Threads) == 0:
		e.Cause = EmptyNoThread
	case o.From != 0 || o.To > 0:
		e.Cause = EmptyWindow
	case o.Thread != 0:
		e.Cause = EmptyThreadIdle
	default:
		e.Cause = EmptyNoTransactions
	}
	return e
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

// CheckFailOver checks a summary against a --fail-over spec. The error is
// a parse error of the spec, or an *EmptyError (wrapping ErrFailOverEmpty)
// when the summary holds no time in transactions.
func CheckFailOver(s *Summary, spec string) (*FailOverCheck, error) {
	limits, err := ParseFailOver(spec)
	if err != nil {
		return nil, err
	}
	if s.CPU() <= 0 {
		return nil, emptyError(s)
	}
	c := &FailOverCheck{}
	for _, l := range limits {
		r := FailOverResult{Limit: l, Base: l.Base, BaseTime: s.CPU()}
		if l.Base == FailOverWall {
			r.BaseTime = s.Wall
		} else {
			r.Base = FailOverCPU
		}
		for i := range s.Groups {
			r.Value += l.Value(&s.Groups[i])
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
				if l.Value(&s.Groups[i]) > 0 {
					r.Offending = append(r.Offending, s.Groups[i])
				}
			}
			slices.SortStableFunc(r.Offending, func(x, y Group) int {
				return cmp.Compare(l.Value(&y), l.Value(&x)) // most first
			})
			c.Failed = true
		}
		c.Results = append(c.Results, r)
	}
	return c, nil
}
