package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/report"
)

// The CI gate of report (and record, demo): --fail-over SPEC makes the
// command exit 1 when the analyzed logs lose more than SPEC allows. The spec
// and what the metrics mean are documented in package analyze (failover.go).

func registerFailOver(fl *pflag.FlagSet, spec *string) {
	fl.Var((*gateSpec)(spec), "fail-over", "exit 1 if time lost to conflicts exceeds `SPEC`: lost=5%cpu (of CPU time in transactions; lost=5% means the same), lost=50%wall (of wall time), aborted=2s, paused=1%cpu; comma-separate several. A log with no transactions (in the window or thread selected) is an error, not a pass")
}

// gateSpec checks the spec when the flag is parsed, so that a typo is a
// usage error before any log is read.
type gateSpec string

func (g *gateSpec) String() string { return string(*g) }
func (g *gateSpec) Type() string   { return "SPEC" }
func (g *gateSpec) Set(s string) error {
	if _, err := analyze.ParseFailOver(s); err != nil {
		return err
	}
	*g = gateSpec(s)
	return nil
}

// checkFailOver prints the verdict of each limit (and the groups behind an
// exceeded one) on stderr, so stdout keeps the report alone, and returns an
// exit-1 status when a limit is exceeded.
func checkFailOver(stderr io.Writer, sum *analyze.Summary, spec string, top int) error {
	if spec == "" {
		return nil
	}
	check, err := analyze.CheckFailOver(sum, spec)
	if empty := (*analyze.EmptyError)(nil); errors.As(err, &empty) {
		return exitStatus{code: exitError, err: fmt.Errorf("--fail-over %s: %w: %s", spec, analyze.ErrFailOverEmpty, report.EmptyReason(empty))}
	}
	if err != nil {
		return usageError{fmt.Errorf("--fail-over: %w", err)}
	}
	if top <= 0 {
		top = 10
	}
	if err := report.WriteFailOver(stderr, check.Results, top); err != nil {
		return err
	}
	if check.Failed {
		return exitStatus{code: exitError, err: errors.New("--fail-over " + spec + ": exceeded")}
	}
	return nil
}
