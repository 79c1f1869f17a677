// Package pypy reads the conflict logs written by PyPy-STM (the stmgc
// library's PYPYSTM=file profiling log), in both layouts: c7
// ("STMGC-C7-PROF01\n", 19-byte record headers with two markers and the
// other thread) and c8 ("STMGC-C8-PROF01\n", 14-byte headers, one marker).
// The layouts and the meaning of every event are in
// docs/pypy-log-format.md (§1-§3); this package is written from that text,
// not from PyPy's code.
//
// It has two layers because it has two users:
//
//   - Scanner hands out raw Records, zero-allocation, through its own
//     buffer. Package pypyreport replays print_stm_log.py on them (it needs
//     the raw event numbers and markers to print the same bytes), and
//     Reader is built on it.
//   - Reader maps records to logformat.Events (see Reader for the exact
//     mapping), so PyPy logs go through the same analyzer, pprof and
//     timeline code as stmlog's own logs.
//
// marker.go is the one place that knows the text of PyPy's markers, in
// the two readings its users need (a stack frame; the original analyzer's
// source reference).
//
// A c8 file does not say which of the five event numberings (eras a..e,
// docs/pypy-log-format.md §2) wrote it: the caller says, default e
// (final). Bad input never panics: a wrong magic is ErrNotPyPy, a header-only file ErrEmpty,
// an event number out of range a *logformat.CorruptError with the byte offset, and a
// file cut in the middle of its last record (PyPy crashed before stdio
// flushed) ends cleanly with the cut-off bytes counted in
// Stats.TruncatedBytes and a warning.
package pypy
