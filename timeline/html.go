package timeline

// The offline timeline: the trace Write produces, drawn as one
// self-contained HTML page with an inline SVG, for when Perfetto
// (ui.perfetto.dev, a web app) cannot be reached and chrome://tracing is
// not at hand. It is drawn from the trace JSON itself, decoded again, so
// that both show the same slices, nesting and arrows by construction; the
// price is holding the (capped) trace in memory, which the JSON writer
// avoids. No script: every slice carries its details in an SVG <title>
// (the browser's tooltip), and zooming is a link that redraws a window.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"
)

// DefaultMaxHTMLEvents caps an HTML timeline: an SVG with more elements
// than this makes browsers slow to draw and to scroll.
const DefaultMaxHTMLEvents = 20_000

// HTMLOptions selects what an HTML timeline shows.
type HTMLOptions struct {
	Options
	// Width is the drawing's width in pixels (0: 1200).
	Width int
	// Zoom is a URL template for the zoom links, with "{from}" and "{to}"
	// replaced by Go durations (e.g. "?from={from}&to={to}"); "" draws no
	// zoom links.
	Zoom string
	// Back, when not "", is the URL of a page to link back to (the stmlog
	// web index).
	Back string
}

// traceEvent is what the drawing needs of a trace event.
type traceEvent struct {
	Ph   string          `json:"ph"`
	Name string          `json:"name"`
	Cat  string          `json:"cat"`
	Tid  uint32          `json:"tid"`
	Ts   float64         `json:"ts"` // µs
	Dur  float64         `json:"dur"`
	ID   uint64          `json:"id"`
	Args json.RawMessage `json:"args"`
}

// WriteHTML reads src to the end and writes its timeline as an HTML page.
// MaxEvents 0 means DefaultMaxHTMLEvents. On a damaged log nothing is
// written and the source's error is returned.
func WriteHTML(w io.Writer, src logformat.Source, opt HTMLOptions) (Stats, error) {
	if opt.MaxEvents == 0 {
		opt.MaxEvents = DefaultMaxHTMLEvents
	}
	var buf bytes.Buffer
	st, err := Write(&buf, src, opt.Options)
	if err != nil {
		return st, err
	}
	var tf struct {
		TraceEvents []traceEvent `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &tf); err != nil {
		return st, fmt.Errorf("timeline: reading back the trace: %v", err) // a bug, not bad input
	}
	d := newDrawing(tf.TraceEvents, opt, float64(st.Origin)/1000)
	bw := &errWriter{w: w}
	d.page(bw, st, opt)
	return st, bw.err
}

// Drawing geometry, in pixels.
const (
	rowLabel  = 90 // thread names left of the tracks
	rowHeight = 14 // one nesting level
	rowGap    = 10
	axisH     = 28
)

// sliceColors fill attempt and nested slices by name (the same meaning as
// sliceColor's chrome://tracing colours).
var sliceColors = map[string]string{
	nameCommit:           "#43a047",
	nameAbort:            "#e53935",
	nameInevitable:       "#fb8c00",
	nameUnfinished:       "#9e9e9e",
	"inevitable section": "#ffcc80",
	"minor gc":           "#b0bec5",
	"major gc":           "#fdd835",
}

const pauseColor = "#8e24aa"

type drawSlice struct {
	ev    *traceEvent
	depth int
}

type drawRow struct {
	tid    uint32
	name   string
	slices []drawSlice
	marks  []*traceEvent // instants
	depth  int           // levels used
	y      int           // top
}

type drawing struct {
	rows   []*drawRow
	byTid  map[uint32]*drawRow
	flows  map[uint64][2]*traceEvent // id -> start, finish
	t0, t1 float64                   // µs: the span drawn
	base   float64                   // µs: the start of the log (Stats.Origin)
	width  int
	height int
}

func newDrawing(evs []traceEvent, opt HTMLOptions, base float64) *drawing {
	d := &drawing{byTid: map[uint32]*drawRow{}, flows: map[uint64][2]*traceEvent{}, width: opt.Width,
		t0: math.Inf(1), t1: math.Inf(-1), base: base}
	if d.width <= 0 {
		d.width = 1200
	}
	row := func(tid uint32) *drawRow {
		r := d.byTid[tid]
		if r == nil {
			r = &drawRow{tid: tid, name: "thread " + strconv.FormatUint(uint64(tid), 10)}
			d.byTid[tid] = r
		}
		return r
	}
	for i := range evs {
		e := &evs[i]
		switch e.Ph {
		case "M":
			if e.Name == "thread_name" && e.Tid != 0 {
				var a struct{ Name string }
				json.Unmarshal(e.Args, &a)
				row(e.Tid).name = a.Name
			}
			continue
		case "X":
			r := row(e.Tid)
			r.slices = append(r.slices, drawSlice{ev: e})
			d.t1 = max(d.t1, e.Ts+e.Dur)
		case "i":
			row(e.Tid).marks = append(row(e.Tid).marks, e)
		case "s", "f":
			p := d.flows[e.ID]
			if e.Ph == "s" {
				p[0] = e
			} else {
				p[1] = e
			}
			d.flows[e.ID] = p
		default:
			continue
		}
		d.t0 = min(d.t0, e.Ts)
		d.t1 = max(d.t1, e.Ts)
	}
	if d.t0 > d.t1 {
		d.t0, d.t1 = base, base+1
	}
	// Slices overlapping a window are in the trace whole: draw the window.
	if opt.From > 0 {
		d.t0 = max(d.t0, base+float64(opt.From)/1000)
	}
	if opt.To > 0 {
		d.t1 = min(d.t1, base+float64(opt.To)/1000)
	}
	if d.t1 == d.t0 {
		d.t1 = d.t0 + 1
	}
	for _, r := range d.byTid {
		if len(r.slices) == 0 && len(r.marks) == 0 {
			continue
		}
		d.rows = append(d.rows, r)
		// Nesting levels: parents come first for equal starts (longer
		// first), and slices on a track never overlap partially.
		sort.SliceStable(r.slices, func(i, j int) bool {
			a, b := r.slices[i].ev, r.slices[j].ev
			if a.Ts != b.Ts {
				return a.Ts < b.Ts
			}
			return a.Dur > b.Dur
		})
		var open []float64 // end times of the enclosing slices
		for i := range r.slices {
			e := r.slices[i].ev
			for len(open) > 0 && open[len(open)-1] <= e.Ts && !(open[len(open)-1] == e.Ts && e.Dur == 0) {
				open = open[:len(open)-1]
			}
			r.slices[i].depth = len(open)
			open = append(open, e.Ts+e.Dur)
			r.depth = max(r.depth, len(open))
		}
		r.depth = max(r.depth, 1)
	}
	sort.Slice(d.rows, func(i, j int) bool { return d.rows[i].tid < d.rows[j].tid })
	y := axisH
	for _, r := range d.rows {
		r.y = y
		y += r.depth*rowHeight + rowGap
	}
	d.height = y + 4
	return d
}

// x maps a time (µs) to a pixel column, clamped to the drawing.
func (d *drawing) x(ts float64) float64 {
	ts = min(max(ts, d.t0), d.t1)
	return rowLabel + (ts-d.t0)/(d.t1-d.t0)*float64(d.width-rowLabel-10)
}

// tick labels a tick: the time into the log, with three or four
// significant digits of the tick step (169.3ms, not 169.254112ms).
func (d *drawing) tick(ts, step float64) string {
	unit := time.Nanosecond
	for float64(unit)*1000 <= step*1000 && unit < time.Second {
		unit *= 10
	}
	return time.Duration(math.Round((ts - d.base) * 1000)).Round(unit).String()
}

func (d *drawing) inSpan(ts float64) bool { return ts >= d.t0 && ts <= d.t1 }

// rel is a trace time as time into the log, the way --from/--to count.
func (d *drawing) rel(ts float64) string { return fmtMicros(ts - d.base) }

func (d *drawing) page(w *errWriter, st Stats, opt HTMLOptions) {
	name := opt.Name
	if name == "" {
		name = "log"
	}
	w.printf(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>timeline: %s</title>
<style>
body { font-family: sans-serif; margin: 1em 2em; }
.nav a { margin-right: 1em; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 1em; height: .8em; margin-right: .3em; vertical-align: middle; }
svg text { font-size: 11px; font-family: sans-serif; }
svg rect:hover { stroke: #000; stroke-width: 1; }
.warn { color: #b71c1c; }
</style></head>
<body>
`, html.EscapeString(name))
	w.printf(`<p class="nav">`)
	if opt.Back != "" {
		w.printf(`<a id="back" href="%s">&larr; stmlog index</a>`, html.EscapeString(opt.Back))
	}
	if opt.Zoom != "" && (opt.From > 0 || opt.To > 0) {
		w.printf(`<a id="whole" href="%s">whole log</a>`, html.EscapeString(zoomURL(opt.Zoom, 0, 0)))
	}
	w.printf("</p>\n<h1>Timeline of <code>%s</code></h1>\n", html.EscapeString(name))
	w.printf(`<p id="summary">%s</p>`+"\n", html.EscapeString(st.String()))
	if st.Capped {
		w.printf(`<p class="warn" id="capped">Only the first %d trace events are drawn (up to %s into the log): zoom into a window to see the rest.</p>`+"\n",
			st.TraceEvents, durfmt.Dur(time.Duration(st.CappedAt)))
	}
	if st.Unlogged > 0 {
		w.printf(`<p class="warn" id="unlogged">This is a profile-level log: %d more transactions, committed without meeting contention, are only counted in it, not drawn. Record with <code>STMLOG_EVENTS=all</code> to see every attempt.</p>`+"\n", st.Unlogged)
	}
	w.printf(`<p class="legend">`)
	for _, n := range []string{nameCommit, nameAbort, nameInevitable, nameUnfinished, "inevitable section"} {
		w.printf(`<span><i style="background:%s"></i>%s</span>`, sliceColors[n], n)
	}
	w.printf(`<span><i style="background:%s"></i>pause</span><span><i style="background:#000;height:.2em"></i>conflict: other side &rarr; the side that lost time</span></p>`+"\n", pauseColor)
	if len(d.rows) == 0 {
		w.printf("<p id=\"empty\">Nothing to draw: no transaction in the log, window or threads selected.</p>\n</body></html>\n")
		return
	}
	w.printf(`<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n",
		d.width, d.height, d.width, d.height)
	d.axis(w, opt)
	for _, r := range d.rows {
		d.row(w, r)
	}
	d.arrows(w)
	w.printf("</svg>\n</body></html>\n")
}

// axis draws time ticks (relative to the start of the log, as --from/--to
// count) and, with a zoom template, makes each tick interval a link that
// redraws that tenth of the window.
func (d *drawing) axis(w *errWriter, opt HTMLOptions) {
	const ticks = 10
	span := d.t1 - d.t0
	for i := 0; i <= ticks; i++ {
		ts := d.t0 + span*float64(i)/ticks
		x := d.x(ts)
		w.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`, x, axisH-6, x, d.height)
		w.printf(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, axisH-10, d.tick(ts, span/ticks))
		if opt.Zoom != "" && i < ticks {
			from := time.Duration(math.Floor((ts - d.base) * 1000))
			to := time.Duration(math.Ceil((ts + span/ticks - d.base) * 1000))
			w.printf(`<a class="zoom" href="%s"><rect x="%.1f" y="0" width="%.1f" height="%d" fill="transparent"><title>zoom into %s – %s</title></rect></a>`,
				html.EscapeString(zoomURL(opt.Zoom, from, to)), x, d.x(ts+span/ticks)-x, axisH-6, d.tick(ts, span/ticks), d.tick(ts+span/ticks, span/ticks))
		}
		w.printf("\n")
	}
}

func (d *drawing) row(w *errWriter, r *drawRow) {
	w.printf(`<g class="track" id="thread-%d"><text x="4" y="%d">%s</text>`+"\n", r.tid, r.y+11, html.EscapeString(r.name))
	for _, s := range r.slices {
		e := s.ev
		color := sliceColors[e.Name]
		if e.Cat == "pause" {
			color = pauseColor
		}
		if color == "" {
			color = "#607d8b"
		}
		x := d.x(e.Ts)
		wd := max(d.x(e.Ts+e.Dur)-x, 0.5) // an instant attempt stays visible
		y := r.y + s.depth*rowHeight
		w.printf(`<rect class="slice %s" x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
			e.Cat, x, y, wd, rowHeight-1, color, html.EscapeString(d.describe(e)))
	}
	for _, e := range r.marks {
		if !d.inSpan(e.Ts) {
			continue
		}
		x := d.x(e.Ts)
		color := "#000"
		if e.Cat == "inevitable" {
			color = sliceColors[nameInevitable]
		}
		w.printf(`<path class="mark %s" d="M%.2f %d l-3 -5 h6 z" fill="%s"><title>%s</title></path>`+"\n",
			e.Cat, x, r.y, color, html.EscapeString(d.describe(e)))
	}
	w.printf("</g>\n")
}

// arrows draws the conflict flows, from the other side to the side that lost
// time, over the tracks.
func (d *drawing) arrows(w *errWriter) {
	for _, id := range slices.Sorted(maps.Keys(d.flows)) {
		p := d.flows[id]
		if p[0] == nil || p[1] == nil || !d.inSpan(p[1].Ts) {
			continue
		}
		a, b := d.byTid[p[0].Tid], d.byTid[p[1].Tid]
		if a == nil || b == nil {
			continue
		}
		w.printf(`<line class="flow" x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="#000" stroke-width="1" marker-end="url(#arrow)"><title>conflict: thread %d → thread %d at %s</title></line>`+"\n",
			d.x(p[0].Ts), a.y+rowHeight/2, d.x(p[1].Ts), b.y+rowHeight/2, p[0].Tid, p[1].Tid, d.rel(p[1].Ts))
	}
	w.printf(`<defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0 L6 3 L0 6 z"/></marker></defs>` + "\n")
}

// describe is a slice's tooltip: name, start, duration, then its args.
func (d *drawing) describe(e *traceEvent) string {
	var b strings.Builder
	b.WriteString(e.Name)
	b.WriteString(" at ")
	b.WriteString(d.rel(e.Ts))
	if e.Ph == "X" {
		b.WriteString(", ")
		b.WriteString(fmtMicros(e.Dur))
	}
	var args map[string]any
	if json.Unmarshal(e.Args, &args) == nil {
		keys := make([]string, 0, len(args))
		for k := range args {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\n%s: %v", k, args[k])
		}
	}
	return b.String()
}

// fmtMicros prints a trace time (µs) as a duration.
func fmtMicros(us float64) string {
	return durfmt.Dur(time.Duration(math.Round(us * 1000)))
}

func zoomURL(tmpl string, from, to time.Duration) string {
	f, t := "0s", "0s"
	if from > 0 {
		f = from.String()
	}
	if to > 0 {
		t = to.String()
	}
	return strings.NewReplacer("{from}", f, "{to}", t).Replace(tmpl)
}

// errWriter keeps the first write error, so the page code reads straight.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
