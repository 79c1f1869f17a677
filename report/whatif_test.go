package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/analyze/analyzetest"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
)

// whatIfFor analyzes the named logs through one schedule.
func whatIfFor(t *testing.T, opt analyze.Options, wopt analyze.WhatIfOptions, srcs map[string]logformat.Source, order ...string) (*analyze.Summary, *analyze.WhatIf) {
	t.Helper()
	a := analyze.New(opt)
	s := analyze.NewSchedule(opt)
	for _, name := range order {
		if err := a.AddNamed(name, s.Tee(name, srcs[name])); err != nil {
			t.Fatal(err)
		}
	}
	sum := a.Summary()
	wi, err := s.WhatIf(sum, wopt)
	if err != nil {
		t.Fatal(err)
	}
	return sum, wi
}

func TestWhatIfGolden(t *testing.T) {
	primes := func(t *testing.T) logformat.Source {
		f, err := os.Open("testdata/primes-naive.stmlog")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		r, err := logformat.NewReader(f, logformat.ReaderOptions{Name: "primes-naive.stmlog"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		golden string
		format string
		src    func(t *testing.T) logformat.Source
		opt    analyze.Options
		wopt   analyze.WhatIfOptions
	}{
		{"whatif.txt", "text", func(t *testing.T) logformat.Source {
			return repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})
		}, analyze.Options{}, analyze.WhatIfOptions{Top: 5}},
		{"whatif.json", "json", func(t *testing.T) logformat.Source {
			return repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})
		}, analyze.Options{}, analyze.WhatIfOptions{Top: 3}},
		{"whatif-by-site.txt", "text", func(t *testing.T) logformat.Source {
			return repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})
		}, analyze.Options{By: analyze.BySite}, analyze.WhatIfOptions{Groups: []int{2, 1}}},
		{"whatif-primes.txt", "text", primes, analyze.Options{}, analyze.WhatIfOptions{Top: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			name := "bank.log"
			if tc.golden == "whatif-primes.txt" {
				name = "primes-naive.stmlog"
			}
			sum, wi := whatIfFor(t, tc.opt, tc.wopt, map[string]logformat.Source{name: tc.src(t)}, name)
			var out bytes.Buffer
			if err := WriteWhatIf(&out, tc.format, sum, wi); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "golden/"+tc.golden, out.Bytes())
		})
	}
}

// The JSON has the documented fields, speedups for every group asked and
// for all of them, and nulls where a profile-level log has no replay.
func TestWhatIfJSONShape(t *testing.T) {
	src := repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 100, Seed: 4})
	sum, wi := whatIfFor(t, analyze.Options{}, analyze.WhatIfOptions{Top: 2}, map[string]logformat.Source{"log": src}, "log")
	var out bytes.Buffer
	if err := WriteWhatIf(&out, "json", sum, wi); err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r["schema"] != WhatIfSchema || r["replayed"] != true {
		t.Fatalf("schema %v replayed %v", r["schema"], r["replayed"])
	}
	groups := r["groups"].([]any)
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2", len(groups))
	}
	for i, g := range append(groups, r["all"]) {
		m := g.(map[string]any)
		for _, k := range []string{"speedup", "bound_speedup", "wall_ns", "lost_ns"} {
			if _, ok := m[k].(float64); !ok {
				t.Errorf("entry %d: %s = %v, want a number", i, k, m[k])
			}
		}
		if i < 2 && (m["rank"] != float64(i+1) || m["key"] != sum.Groups[i].Key) {
			t.Errorf("group %d: rank %v key %q", i, m["rank"], m["key"])
		}
	}
}

func TestWhatIfProfileText(t *testing.T) {
	const site = 1
	src := &logtest.Source{
		Meta:   logformat.Meta{Level: logformat.LevelProfile, GOMAXPROCS: 2, NumCPU: 2},
		Stacks: map[logformat.StackID]*logformat.Stack{site: logtest.Stack(logtest.Frame("main.a", "/src/a.go", 1))},
		Events: []logformat.Event{
			logtest.Start(1000, 1),
			logtest.Conflict(2000, 1, logformat.ConflictWriteWrite, site, site, 2, 1),
			logtest.Abort(3000, 1, logformat.AbortConflict),
			logtest.Start(3000, 1), logtest.Commit(4000, 1),
		},
	}
	var buf bytes.Buffer
	if err := src.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := logformat.NewReader(&buf, logformat.ReaderOptions{Name: "profile.log"})
	if err != nil {
		t.Fatal(err)
	}
	sum, wi := whatIfFor(t, analyze.Options{}, analyze.WhatIfOptions{}, map[string]logformat.Source{"profile.log": r}, "profile.log")
	var out bytes.Buffer
	if err := WriteWhatIf(&out, "text", sum, wi); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "golden/"+"whatif-profile.txt", out.Bytes())
	out.Reset()
	if err := WriteWhatIf(&out, "json", sum, wi); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Replayed bool
		Groups   []struct {
			Speedup      *float64 `json:"speedup"`
			BoundSpeedup float64  `json:"bound_speedup"`
			WallNs       *int64   `json:"wall_ns"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Replayed || len(m.Groups) != 1 || m.Groups[0].Speedup != nil || m.Groups[0].WallNs != nil || m.Groups[0].BoundSpeedup <= 1 {
		t.Errorf("profile-level JSON: %s", out.Bytes())
	}
	// the report's column is the bound, and says so under the table
	out.Reset()
	if err := Text(&out, sum, Options{NoSource: true, WhatIf: wi}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "<=") || !strings.Contains(out.String(), "\nif removed: the most throughput, after / before, that removing the group's conflicts could give (<=, a bound: profile.log is a profile-level log") {
		t.Errorf("the report does not say its column is a bound:\n%s", out.String())
	}
}

// The report with predictions: a column in text, if_removed in JSON.
func TestReportWithWhatIf(t *testing.T) {
	src := repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})
	sum, wi := whatIfFor(t, analyze.Options{}, analyze.WhatIfOptions{Top: 2}, map[string]logformat.Source{"bank.log": src}, "bank.log")
	var out bytes.Buffer
	if err := Text(&out, sum, Options{Top: 3, NoSource: true, WhatIf: wi}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "golden/"+"report-whatif.txt", out.Bytes())
	out.Reset()
	if err := JSON(&out, sum, Options{WhatIf: wi}); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Groups []struct {
			IfRemoved *struct {
				Speedup      *float64 `json:"speedup"`
				BoundSpeedup float64  `json:"bound_speedup"`
				WallNs       *int64   `json:"wall_ns"`
			} `json:"if_removed"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	for i, g := range r.Groups {
		switch {
		case i < 2 && (g.IfRemoved == nil || g.IfRemoved.Speedup == nil || g.IfRemoved.WallNs == nil ||
			*g.IfRemoved.Speedup != round4(wi.Groups[i].Speedup) || g.IfRemoved.BoundSpeedup < *g.IfRemoved.Speedup):
			t.Errorf("group %d: if_removed %+v, want the prediction %+v", i+1, g.IfRemoved, wi.Groups[i])
		case i >= 2 && g.IfRemoved != nil:
			t.Errorf("group %d: if_removed %+v, want null (not predicted)", i+1, g.IfRemoved)
		}
	}
}

// The what-if table says when Retry waits outweigh every group: no
// group's removal gives them back.
func TestWhatIfWaitsNote(t *testing.T) {
	s := &analyze.Summary{
		Wall:               time.Second,
		UnattributedPaused: 600 * time.Millisecond,
		PauseReasons:       []analyze.ReasonStat{{Reason: logformat.WaitRetry, Count: 9, Time: 600 * time.Millisecond}},
		Groups:             []analyze.Group{{Lost: 200 * time.Millisecond}},
	}
	u := durfmt.UnitFor(s.Wall)
	note := waitsNote(s, u)
	if !strings.Contains(note, "0.600s paused with no conflict pending (Retry waits in all: 0.600s)") || !strings.Contains(note, "batch-handoff") {
		t.Errorf("note %q", note)
	}
	s.Groups[0].Lost = 700 * time.Millisecond // the groups lost more
	if note := waitsNote(s, u); note != "" {
		t.Errorf("note %q, want none when the groups lost more than the waits", note)
	}
}

// usageSource is a log with a processor-usage record added to its Meta.
type usageSource struct {
	logformat.Source
	u logformat.Usage
}

func (s usageSource) Meta() logformat.Meta {
	m := s.Source.(analyze.MetaSource).Meta()
	m.Level, m.GOMAXPROCS, m.NumCPU, m.Usage = logformat.LevelFull, 3, 4, s.u // as the recorder writes
	return m
}

// A recording that had fewer processors than its GOMAXPROCS (its
// processor-usage record says so) is replayed on those, and both formats
// say it: the text names where the number comes from, the JSON carries
// available_procs and procs_measured.
func TestWhatIfMeasuredProcs(t *testing.T) {
	run := func(u logformat.Usage, format string) (string, *analyze.WhatIf) {
		src := usageSource{repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1}), u}
		sum, wi := whatIfFor(t, analyze.Options{}, analyze.WhatIfOptions{Top: 3}, map[string]logformat.Source{"bank.log": src}, "bank.log")
		var out bytes.Buffer
		if err := WriteWhatIf(&out, format, sum, wi); err != nil {
			t.Fatal(err)
		}
		return out.String(), wi
	}
	wall := int64(time.Second)
	recorded := 3 // usageSource's GOMAXPROCS
	// the process had 1.5 of the recording's processors
	half := logformat.Usage{Time: wall, ProcessCPU: wall, Idle: wall / 2, CPUs: recorded}
	text, wi := run(half, "text")
	if p := wi.Procs[0]; !p.Measured || p.Procs != 1.5 {
		t.Fatalf("procs %+v, want 1.5 measured", p)
	}
	if !strings.Contains(text, "Replayed on 1.5 processors (what the recording had: its CPU time plus") {
		t.Errorf("text does not say where the 1.5 processors come from:\n%s", text)
	}
	checkGolden(t, "golden/whatif-measured.txt", []byte(text))
	// --procs replays on what it says (2 here), and the text still tells what the
	// recording had
	src2 := usageSource{repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1}), half}
	sum2, wi2p := whatIfFor(t, analyze.Options{}, analyze.WhatIfOptions{Top: 3, Procs: 2}, map[string]logformat.Source{"bank.log": src2}, "bank.log")
	var out2 bytes.Buffer
	if err := WriteWhatIf(&out2, "text", sum2, wi2p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out2.String(), "Replayed on 2 processors (--procs; the recording had GOMAXPROCS 3, of which it had 1.5)") {
		t.Errorf("--procs 2 text:\n%s", out2.String())
	}
	js, _ := run(half, "json")
	var r struct {
		Logs []map[string]any `json:"logs"`
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	if l := r.Logs[0]; l["procs"] != 1.5 || l["available_procs"] != 1.5 || l["procs_measured"] != true {
		t.Errorf("JSON log entry %v, want procs 1.5, available_procs 1.5, procs_measured", l)
	}
	// with every processor available, the replay runs on GOMAXPROCS and
	// the text is as without the record
	full := logformat.Usage{Time: wall, ProcessCPU: wall, Idle: wall * int64(recorded-1), CPUs: recorded}
	text2, wi2 := run(full, "text")
	textPlain, _ := run(logformat.Usage{}, "text")
	if wi2.Procs[0].Measured || text2 != textPlain {
		t.Errorf("every processor available: procs %+v, text\n%s\nwant as without the record\n%s", wi2.Procs[0], text2, textPlain)
	}
	// the report's column says it too
	src := usageSource{repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1}), half}
	sum, wr := whatIfFor(t, analyze.Options{}, analyze.WhatIfOptions{Top: 2}, map[string]logformat.Source{"bank.log": src}, "bank.log")
	var out bytes.Buffer
	if err := Text(&out, sum, Options{Top: 3, NoSource: true, WhatIf: wr}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\nif removed: throughput, after / before, if the group's conflicts did not happen, by a replay on 1.5 processors (what the recording had") {
		t.Errorf("the report does not say its predictions are on 1.5 processors:\n%s", out.String())
	}
	// and its JSON what the log says of the recording
	out.Reset()
	if err := JSON(&out, sum, Options{WhatIf: wr}); err != nil {
		t.Fatal(err)
	}
	var rj struct {
		Logs []map[string]any `json:"logs"`
	}
	if err := json.Unmarshal(out.Bytes(), &rj); err != nil {
		t.Fatal(err)
	}
	if l := rj.Logs[0]; l["level"] != "full" || l["gomaxprocs"] != 3.0 || l["num_cpu"] != 4.0 || l["available_procs"] != 1.5 {
		t.Errorf("report JSON log entry %v, want level full, gomaxprocs 3, num_cpu 4, available_procs 1.5", l)
	}
}
