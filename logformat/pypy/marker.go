package pypy

import (
	"regexp"
	"strconv"

	"github.com/stmlog/stmlog/logformat"
)

// A marker is the text PyPy's expand-marker callback wrote for the Python
// location of an event: `File "f", line N, in name (#k)`, where " (#k)"
// (the bytecode offset) is missing in c7 and early c8 logs, and a long
// file or function name is cut and flagged with '<' or '>'
// (docs/pypy-log-format.md, "Markers"). Two readings of it live here, side
// by side, because they answer different questions:
//
//   - ParseMarker splits a whole marker into a frame (file, line,
//     function) for the event model; it wants the complete shape.
//   - SourceRef finds the file and line exactly where print_stm_log.py
//     finds them, a looser search, so that `stmlog report --format pypy`
//     prints a source line exactly when the original does.

// markerRE matches the whole marker. (?s): a marker is bytes and may hold
// anything.
var markerRE = regexp.MustCompile(`^(?s)File "(.*)", line (\d+), in (.*?)(?: \(#\d+\))?$`)

// ParseMarker turns a PyPy marker into a one-frame stack (see Reader).
func ParseMarker(marker string) *logformat.Stack {
	s := &logformat.Stack{Label: marker}
	if m := markerRE.FindStringSubmatch(marker); m != nil {
		if line, err := strconv.Atoi(m[2]); err == nil {
			s.Frames = []logformat.Frame{{Func: m[3], File: m[1], Line: line}}
			return s
		}
	}
	s.Frames = []logformat.Frame{{Func: marker}}
	return s
}

// sourceRE is print_stm_log.py's pattern. Without (?s), '.' stops at a
// newline, as in Python; Go's leftmost-first matching picks the same
// submatches as Python's backtracking for it (the leftmost start, then the
// longest file name).
var sourceRE = regexp.MustCompile(`File "(.+)", line (\d+)`)

// SourceRef returns the file and line that print_stm_log.py reads the
// source line of a marker from: the leftmost `File "<file>", line <N>` in
// it (anywhere in a c8 marker; c7 only at its start: anchored is the c7
// analyzer's re.match), with the longest file name that still leaves
// `", line <digits>` after it on the same line. ok is false when the
// marker has none, or when N does not fit an int (no file has that line).
func SourceRef(marker string, anchored bool) (file string, line int, ok bool) {
	m := sourceRE.FindStringSubmatchIndex(marker)
	if m == nil || anchored && m[0] != 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(marker[m[4]:m[5]])
	if err != nil {
		return "", 0, false
	}
	return marker[m[2]:m[3]], n, true
}
