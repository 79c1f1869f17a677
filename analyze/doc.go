// Package analyze turns a stream of conflict-log events into a Summary: where
// a program lost time to its transactional memory, ranked by conflict site.
//
// It is the aggregator half of the reader/summary split (like Go's
// internal/trace): it does no I/O and no printing. Readers (logformat,
// logformat/pypy, logformat/anylog) produce events; package report renders
// the Summary.
//
// # One streaming pass, bounded memory
//
// An Analyzer sees each event once and keeps no per-event data: per thread a
// small state machine, per conflict group a fixed-size record. Memory grows
// with the number of distinct groups, stacks and threads, never with the log
// size, so a 10 GB log needs the same memory as a 10 MB one.
//
// Two statistics would normally need every event kept:
//
//   - Timelines (60 cells over the log's time range). The range is not known
//     until the end. Each group keeps 960 finer buckets over a range that
//     starts at the first conflict and doubles (to the left or the right)
//     when an event falls outside it: adjacent buckets are merged in pairs,
//     so nothing is lost, only resolution. Every doubling is forced by an
//     event outside the old range, so at the end the range is at most about
//     four times the spread of the conflicts, which is within the report's
//     time range: a fine bucket spans at most a quarter of an output cell.
//     The 60 cells are filled by bucket midpoints, so an event lands at most
//     a quarter cell from where an exact two-pass count would put it (only
//     events that close to a cell boundary can change cell). A first pass
//     to find the range would double the I/O and would not work on pipes
//     (BENCHMARKS: the two-pass variant is 1.6x slower).
//   - p90 of the time lost per conflict event. A log-linear histogram (16
//     sub-buckets per power of two, about 960 counters at most) answers
//     quantiles within 3% relative error.
//
// # Attribution (PyPy's rule, generalized)
//
// Time comes from transactions, not from conflict events (see the doc of
// logformat.KindConflict). Per thread: a KindConflict event makes that
// conflict the thread's pending one. While it is pending, time the thread
// spends paused (KindWaitStart to KindWaitDone) is charged to it as paused
// time; the abort that ends the attempt charges the attempt's run time (start
// to abort, minus pauses) to it as aborted time, unless the body threw the
// attempt away itself (Retry, an error, a panic). A commit clears the pending
// conflict, and so does an abort, except that after an abort for a conflict
// the backoff pause (WaitBackoff) before the re-run is still charged to it:
// the contention manager waits because of that conflict. A second conflict
// in the same attempt replaces the pending one.
// Aborts and pauses with no pending conflict count in the totals and in
// Summary.Unattributed*, but in no group.
//
// Totals: committed and aborted CPU time are the run time (pauses excluded)
// of committed and aborted attempts; paused time is every pause of every
// thread, inside a transaction or not (Summary.PauseReasons splits it by
// reason: a Retry wait is a pause too). Percentages are of wall time, so with
// N threads they can exceed 100%, as in PyPy's report.
//
// # Several logs, filters
//
// Add may be called for several logs of one program (one per process, say).
// Event times are taken relative to the start of each log — the start of
// recording (time 0) for native logs, the first record for PyPy logs — so
// the logs are laid over one another from their starts; thread numbers and
// Var ids are per log, stacks are matched by content (logformat.Stack.Key)
// and named Vars by name.
//
// Options.From/To keep only the part of each log inside a time window
// (relative to the log's start): run and pause intervals are clipped to it,
// events outside it are not counted. Options.Thread keeps only one thread's
// events. Options.Kind keeps only conflicts of one kind in the groups; the
// totals still cover every transaction.
package analyze
