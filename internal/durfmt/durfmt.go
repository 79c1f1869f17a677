// Package durfmt prints durations for people, one way for every command
// and report of stmlog (text, markdown, diff, --fail-over, whatif,
// timeline's page, messages and warnings). Machine formats (JSON, CSV,
// pprof) print integer nanoseconds instead, and what echoes a flag back or
// must parse as one (a --from in a URL, a --fail-over spec) keeps Go's
// notation.
//
// The notation is the same everywhere: a number with three decimals and a
// unit (s, ms, µs), as PyPy's print_stm_log.py prints seconds; under a
// microsecond, integer nanoseconds. The three functions differ only in
// how they choose the unit and the precision:
//
//   - Dur prints a lone time in the unit that suits it (1.500s, 250.000µs).
//   - Unit prints the times of one report that add up (totals, a group's
//     lost time, table columns) in one unit, chosen from the wall time, so
//     that they line up and a short log does not read "0.000s" everywhere.
//   - Short prints a per-event time (avg, p90, max) with three significant
//     figures (1.50µs, 25.3ms, 125ms).
//
// Two exceptions: the time axis of timeline's drawing, whose tick labels
// carry the precision of the tick step, and `report --format pypy`, which
// prints what PyPy's print_stm_log.py prints, to the character.
package durfmt

import (
	"strconv"
	"time"
)

// Unit formats all the durations of one report in one unit.
type Unit struct {
	div    float64
	suffix string
}

// UnitFor is the unit for the durations of a report covering wall.
func UnitFor(wall time.Duration) Unit {
	wall = max(wall, -wall)
	switch {
	case wall >= time.Second:
		return Unit{1e9, "s"}
	case wall >= time.Millisecond:
		return Unit{1e6, "ms"}
	}
	return Unit{1e3, "µs"}
}

// Dur prints d in u with three decimals.
func (u Unit) Dur(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/u.div, 'f', 3, 64) + u.suffix
}

// Dur prints a duration with three decimals in the unit that suits it (the
// Unit of a wall time as long as d), so small test logs and long runs both
// read well; under a microsecond, integer nanoseconds; 0 is "0s".
func Dur(d time.Duration) string {
	a := max(d, -d)
	switch {
	case a == 0:
		return "0s"
	case a < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	return UnitFor(a).Dur(d)
}

// Delta is Dur with a sign on a positive change.
func Delta(d time.Duration) string {
	if d > 0 {
		return "+" + Dur(d)
	}
	return Dur(d)
}

// Short prints a per-event duration with three significant figures and a
// unit that suits it (ns, µs, ms, s).
func Short(d time.Duration) string {
	v := float64(d)
	unit := "ns"
	switch {
	case d >= time.Second:
		v, unit = d.Seconds(), "s"
	case d >= time.Millisecond:
		v, unit = v/1e6, "ms"
	case d >= time.Microsecond:
		v, unit = v/1e3, "µs"
	default:
		return strconv.FormatInt(int64(d), 10) + unit
	}
	prec := 2
	if v >= 100 {
		prec = 0
	} else if v >= 10 {
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + unit
}
