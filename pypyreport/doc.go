// Package pypyreport is `stmlog report --format pypy`: for a PyPy-STM log
// it prints what PyPy's own analyzer, pypy/stm/print_stm_log.py, prints for
// it, byte for byte, so users of the original keep their numbers. The log
// format and the original's algorithm, as far as this package relies on
// them, are in docs/pypy-log-format.md; the places where it deliberately
// prints something else (where the original crashes or depends on its
// interpreter) are listed there under "Deviations".
//
// Why it is shaped so: it does not go through the event model or package
// analyze, because parity is a property of the computation, not of the
// data. It replays the original's per-thread state machine on raw records
// (logformat/pypy's Scanner), doing the same float64 operations in the
// same order (timestamps as sec + 1e-9*nsec, sums over threads in
// first-seen order, ...): a different but "more exact" computation would
// print other digits. Python's '%.3f' rounds the exact binary value
// half-to-even, like Go's strconv, so the formatting needs no help except
// for inf/nan (pyfmt.go). The package follows the original's passes, one
// file each:
//
//   - pypyreport.go reads the records once (twice for huge logs, below),
//     writes the progress line and hands every record to an analyzer;
//   - c8.go and c7.go are the two analyzers (the final c8 one, pypy
//     1120467b9c9, and the c7 one, pypy c2125c949c7) and their reports;
//     c8scan.go is the c8 pass, which decodes the records itself from the
//     scanner's buffer (Scanner.Window) in the analyzer's own loop;
//   - conflicts.go holds what both keep per conflict: counts, lost time
//     and the timestamps behind the time line, and the ranking;
//   - source.go is linecache: the source lines printed under markers, read
//     on this machine like the original does (relative names against
//     Options.SourceRoot, not also along Python's sys.path), found where
//     the original finds them (logformat/pypy's SourceRef) and stripped as
//     Python 2 strips a byte string.
//
// Stderr gets what the original writes there ("note: double
// STM_CONTENTION_WRITE_READ" lines, a progress percentage every 524,288
// records, spaced the way Python 2's `print >>f, x,` spaces them), then,
// which the original does not print, one "note:" line when the log ends
// in the middle of a record (the original ignores such a tail silently;
// stdout is unaffected). The percentages need the input's size: with a
// non-seekable input (a pipe, which the original cannot read at all) they
// are left out.
//
// Memory: the original keeps every conflict timestamp for the 60-cell time
// line, whose cells are only known once the last record (stop time) is
// read. Here each conflict keeps its timestamps as zigzag varint deltas of
// (sec<<32 | nsec), typically 3-4 bytes each, exact, so the time line is
// computed exactly as the original's. If they exceed timestampBudget and
// the input is seekable (a file), they are dropped and the log is read a
// second time with the stop time known, counting straight into the 60
// cells: memory stays bounded by the number of distinct conflicts, at the
// price of reading the file twice. A non-seekable input (a pipe) keeps the
// compact timestamps whatever their size.
package pypyreport
