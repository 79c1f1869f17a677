package pypyreport

import (
	"bytes"
	"math"
	"strconv"
)

// pyFloat is Python's '%.<prec>f': Go's 'f' formatting rounds the exact
// binary value half-to-even like Python; only inf and nan are spelled
// differently.
func pyFloat(x float64, prec int) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case math.IsNaN(x):
		return "nan"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// pyFloatW is '%<width>.<prec>f'.
func pyFloatW(x float64, prec, width int) string {
	s := pyFloat(x, prec)
	for len(s) < width {
		s = " " + s
	}
	return s
}

// pyPercent is print_stm_log.py's percent(): '%.1f' of the ratio, cut to
// its integer part when longer than 3 characters, plus '%'.
func pyPercent(fraction, total float64) string {
	r := pyFloat(fraction*100.0/total, 1)
	if len(r) > 3 {
		if i := bytes.IndexByte([]byte(r), '.'); i >= 0 {
			r = r[:i]
		}
	}
	return r + "%"
}
