package timeline

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/internal/golden"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
)

// checkGolden compares got with testdata/golden/name, or rewrites it under
// -update (internal/golden; then look at the page in a browser before
// committing it).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), got)
}

// htmlScenario has every kind of thing the page draws: commits, an abort
// after a write-read conflict (an arrow from the other side's commit), an
// inevitable attempt with a pause for another inevitable one, and an
// attempt the log ends in.
func htmlScenario() []logformat.Event {
	return []logformat.Event{
		tlEv(1000, 1, tlStart), tlEv(1500, 2, tlStart),
		tlEv(3000, 2, tlCommit),
		tlConflict(4000, 1, 2, logformat.ConflictWriteRead, 2, 1),
		tlAbort(4500, 1, logformat.AbortConflict),
		tlEv(5000, 1, tlStart),
		{Time: 5200, Thread: 1, Kind: tlInev, Site: 1},
		tlEv(5500, 2, tlStart),
		tlConflict(5600, 2, 1, logformat.ConflictInevitable, 1, 1),
		tlWait(5600, 2, logformat.WaitInevitable),
		tlEv(6000, 1, tlCommit),
		tlEv(6100, 2, tlDone),
		tlEv(7000, 2, tlCommit),
		tlEv(7500, 3, tlStart),
	}
}

// svgDoc is what the tests read back from the page's SVG.
type svgDoc struct {
	Tracks []struct {
		ID    string `xml:"id,attr"`
		Label string `xml:"text"`
		Rects []struct {
			Class string  `xml:"class,attr"`
			X     float64 `xml:"x,attr"`
			Y     float64 `xml:"y,attr"`
			W     float64 `xml:"width,attr"`
			Fill  string  `xml:"fill,attr"`
			Title string  `xml:"title"`
		} `xml:"rect"`
		Marks []struct {
			Class string `xml:"class,attr"`
			Title string `xml:"title"`
		} `xml:"path"`
	} `xml:"g"`
}

var svgRE = regexp.MustCompile(`(?s)<svg id="timeline".*</svg>`)

func parseSVG(t *testing.T, page []byte) svgDoc {
	t.Helper()
	svg := svgRE.Find(page)
	if svg == nil {
		t.Fatalf("no SVG in the page:\n%s", page)
	}
	var d svgDoc
	if err := xml.Unmarshal(svg, &d); err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v", err)
	}
	return d
}

func TestHTMLScenario(t *testing.T) {
	var buf bytes.Buffer
	st, err := WriteHTML(&buf, &logtest.Source{Events: htmlScenario(), Stacks: tlStacks}, HTMLOptions{
		Options: Options{Name: "scenario.stmlog"}, Width: 800, Zoom: "?from={from}&to={to}", Back: "/"})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "scenario.html", buf.Bytes())
	d := parseSVG(t, buf.Bytes())
	if len(d.Tracks) != 3 {
		t.Fatalf("%d tracks, want 3 (one per thread)", len(d.Tracks))
	}
	count := map[string]int{}
	for i, tr := range d.Tracks {
		if want := "thread " + string(rune('1'+i)); tr.Label != want {
			t.Errorf("track %d labelled %q, want %q", i, tr.Label, want)
		}
		for _, r := range tr.Rects {
			if r.X < rowLabel || r.X+r.W > 800 {
				t.Errorf("%s: slice %q at x %.1f..%.1f is outside the drawing", tr.ID, r.Title, r.X, r.X+r.W)
			}
			name, _, _ := strings.Cut(r.Title, " at ")
			count[name]++
		}
		for _, m := range tr.Marks {
			name, _, _ := strings.Cut(m.Title, " at ")
			count[name]++
		}
	}
	want := map[string]int{
		"commit": int(st.Commits), "abort": int(st.Aborts), "inevitable": int(st.Inevitable), "unfinished": int(st.Unfinished),
		"pause inevitable": 1, "inevitable section": 1, "become inevitable": 1,
		"conflict write-read": 1, "conflict inevitable": 1,
	}
	for name, n := range want {
		if count[name] != n {
			t.Errorf("%d %q drawn, want %d (all drawn: %v)", count[name], name, n, count)
		}
	}
	if st.Commits != 2 || st.Aborts != 1 || st.Inevitable != 1 || st.Unfinished != 1 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(buf.String(), `class="flow"`); int64(n) != st.Flows || n != 2 {
		t.Errorf("%d arrows drawn, %d flows in the trace, want 2", n, st.Flows)
	}
	abort := d.Tracks[0].Rects[0]
	if abort.Fill != sliceColors[nameAbort] || !strings.Contains(abort.Title, "cause: conflict") || !strings.HasPrefix(abort.Title, "abort at 0s, 3.500µs") {
		t.Errorf("thread 1's first slice: %+v; want the red abort at the start of the log (its first event), lasting 3.5µs, with its cause", abort)
	}
	for _, s := range []string{`href="/"`, `?from=0s&amp;to=`, "scenario.stmlog"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// A window draws only that span; the whole-log link comes back.
func TestHTMLWindow(t *testing.T) {
	var buf bytes.Buffer
	_, err := WriteHTML(&buf, &logtest.Source{Events: htmlScenario(), Stacks: tlStacks}, HTMLOptions{
		Options: Options{From: 5 * time.Microsecond, To: 6500 * time.Nanosecond}, Width: 800, Zoom: "?from={from}&to={to}"})
	if err != nil {
		t.Fatal(err)
	}
	d := parseSVG(t, buf.Bytes())
	for _, tr := range d.Tracks {
		for _, r := range tr.Rects {
			if strings.HasPrefix(r.Title, "abort") {
				t.Errorf("the abort (1µs-4.5µs) is drawn in a 5µs-6.5µs window: %+v", r)
			}
		}
	}
	for _, s := range []string{`id="whole" href="?from=0s&amp;to=0s"`, ">5µs<", ">6.5µs<"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// A damaged log gives an error and no page at all.
func TestHTMLDamaged(t *testing.T) {
	damage := errors.New("x.stmlog: byte offset 99: chunk checksum mismatch")
	var buf bytes.Buffer
	_, err := WriteHTML(&buf, &logtest.Source{Events: htmlScenario(), Stacks: tlStacks, Err: damage}, HTMLOptions{})
	if !errors.Is(err, damage) || buf.Len() != 0 {
		t.Errorf("error %v, %d bytes written; want the damage and nothing", err, buf.Len())
	}
}

// Over the cap the page says what it left out.
func TestHTMLCap(t *testing.T) {
	evs, _, _, _ := tlRandomLog(3, 4, 2000)
	var buf bytes.Buffer
	st, err := WriteHTML(&buf, &logtest.Source{Events: evs, Stacks: tlStacks}, HTMLOptions{Options: Options{MaxEvents: 500}})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Capped || !strings.Contains(buf.String(), `id="capped"`) {
		t.Errorf("capped %v; the page does not say so", st.Capped)
	}
	parseSVG(t, buf.Bytes())
}

// BenchmarkWriteHTML: the page for a log of 20,000 attempts, capped at the
// default 20,000 trace events, beside Write of the same capped trace
// (the difference is decoding it again and drawing it).
func BenchmarkWriteHTML(b *testing.B) {
	evs, _, _, _ := tlRandomLog(11, 4, 20000)
	for _, bc := range []struct {
		name string
		run  func(io.Writer, logformat.Source) (Stats, error)
	}{
		{"json", func(w io.Writer, s logformat.Source) (Stats, error) {
			return Write(w, s, Options{MaxEvents: DefaultMaxHTMLEvents})
		}},
		{"html", func(w io.Writer, s logformat.Source) (Stats, error) { return WriteHTML(w, s, HTMLOptions{}) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n countWriter
			for b.Loop() {
				if _, err := bc.run(&n, &logtest.Source{Events: evs, Stacks: tlStacks}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "bytes/op")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// aggSource is a profile-level log: events, and aggregate records for
// the transactions that met no contention.
type aggSource struct {
	*logtest.Source
	agg logformat.Aggregate
}

func (s *aggSource) Aggregate() logformat.Aggregate { return s.agg }

// A profile-level log's page says how many transactions it does not draw.
func TestHTMLProfileLevel(t *testing.T) {
	evs := append(htmlScenario(), logformat.Event{Time: 8000, Thread: 1, Kind: logformat.KindAggregate})
	src := &aggSource{&logtest.Source{Events: evs, Stacks: tlStacks}, logformat.Aggregate{Thread: 1, Commits: 1234}}
	var buf bytes.Buffer
	st, err := WriteHTML(&buf, src, HTMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Unlogged != 1234 || st.Commits != 2 || !strings.Contains(buf.String(), `id="unlogged">This is a profile-level log: 1234 more transactions`) {
		t.Errorf("stats %+v; page:\n%.1500s", st, buf.String())
	}
}

// FuzzWriteHTML: whatever the events, caps and windows, the page is drawn
// without panicking, its SVG is well-formed, and every slice stays inside
// the drawing.
func FuzzWriteHTML(f *testing.F) {
	f.Add([]byte{1, 0, 10, 2, 1, 0, 5, 3, 2, 4, 3, 1, 7, 9, 0, 2, 2}, uint8(0), uint8(0))
	f.Add([]byte{1, 0, 0, 5, 1, 0, 4, 1, 200, 6, 0, 3, 3, 0, 1, 7, 2, 1, 9, 1, 1, 10, 0, 0}, uint8(3), uint8(1))
	f.Add([]byte{}, uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, maxEvents, window uint8) {
		opt := HTMLOptions{Options: Options{MaxEvents: int(maxEvents)}, Width: 600, Zoom: "?from={from}&to={to}"}
		if maxEvents == 0 {
			opt.MaxEvents = -1
		}
		switch window % 3 {
		case 1:
			opt.From, opt.To = 500*time.Nanosecond, 2000*time.Nanosecond
		case 2:
			opt.Threads = []uint32{1, 3}
		}
		var buf bytes.Buffer
		if _, err := WriteHTML(&buf, &logtest.Source{Events: fuzzEvents(data), Stacks: tlStacks}, opt); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), `<svg id="timeline"`) {
			if !strings.Contains(buf.String(), `id="empty"`) {
				t.Fatalf("neither a drawing nor the empty note:\n%s", buf.String())
			}
			return
		}
		for _, tr := range parseSVG(t, buf.Bytes()).Tracks {
			for _, r := range tr.Rects {
				if r.X < rowLabel || r.X+r.W > 600 || r.W < 0 {
					t.Fatalf("%s: slice %q at x %.2f width %.2f is outside the drawing", tr.ID, r.Title, r.X, r.W)
				}
			}
		}
	})
}
