// Package timeline turns an event stream (a logformat.Source: a native
// stmlog log or a PyPy-STM log) into a Chrome trace: the "trace event" JSON
// that chrome://tracing and the Perfetto UI (ui.perfetto.dev) open. It is
// stmlog's replacement for PyPy's plot_stm_log.py.
//
// Why a package of its own, beside package report: report renders the
// aggregates of package analyze (a Summary), while a timeline needs every
// attempt in log order, which a Summary does not keep. So timeline reads the
// events itself and imports nothing but logformat (and internal/durfmt), the
// way Go keeps its trace viewer apart from the trace parser. Inside, three
// concerns live in three files: the per-thread state machine that turns
// events into slices (state.go), the conflict arrows, which need the other
// side's history (flows.go), and the JSON emitter (emit.go). html.go draws
// the same trace as one self-contained HTML/SVG page (WriteHTML), for when
// no trace viewer can be reached: Perfetto is a web app, and stmlog web must
// work offline.
//
// The trace is written in one streaming pass: a transaction attempt becomes
// a complete ("X") slice when its commit or abort is read, so only the open
// attempt and pauses of each thread are held in memory, never the whole
// trace; Options.MaxEvents caps its size.
//
// Layout (one process, one track per thread):
//   - every attempt is a slice named "commit", "abort", "inevitable" (committed
//     after becoming inevitable, or detached) or "unfinished" (the log ended
//     or the next attempt began first). Perfetto colours slices by a hash of
//     their name, so outcomes get their colours from their names; cname gives
//     chrome://tracing the same meaning (green, red, orange);
//   - pauses ("pause <reason>") and PyPy GC phases are slices nested inside,
//     and so is the "inevitable section": from the moment the attempt became
//     inevitable to its end, the time others wanting inevitability must wait
//     (it starts when pauses open at that moment end, to keep nesting);
//   - conflicts are thread-scoped instant events with both sites in args, and
//     a flow arrow goes from the other side's thread to the attempt of the
//     side that lost time (this side). The arrow starts at the other side's
//     event behind the conflict: the commit of the write that this side of a
//     write-read conflict read too early, or the moment the other side became
//     inevitable; else at the conflict time. Native logs come in per-thread
//     chunks, so that event is often read after the conflict: arrows wait
//     (bounded, per other-side thread) until that thread's events pass the
//     conflict time, and each thread remembers its last 32 commits and
//     become-inevitables for conflicts read late.
//
// Slices on one track always nest: events of a thread are clamped to be
// non-decreasing in time, and anything still open when its parent ends is
// closed at that moment. A damaged log still gives valid JSON (the trace
// ends where the damage begins) and Write returns the source's error after
// it: the caller decides whether a partial trace is worth keeping (stmlog
// timeline keeps none).
package timeline
