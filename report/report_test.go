package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/analyze/analyzetest"
	"github.com/stmlog/stmlog/logformat"
)

// genSource generates a log and returns a reader over it.
func repGenSource(t *testing.T, name string, cfg analyzetest.Config) logformat.Source {
	t.Helper()
	var buf bytes.Buffer
	if _, err := analyzetest.Generate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	r, err := logformat.NewReader(&buf, logformat.ReaderOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sourceRoot writes the generated program's source under a temporary root,
// laid out so that only SourceRoot remapping finds it.
func repSourceRoot(t *testing.T) string {
	root := t.TempDir()
	p := filepath.Join(root, "example.com", "bank", "bank.go")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(analyzetest.Source), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestReportGolden(t *testing.T) {
	root := repSourceRoot(t)
	type logSpec struct {
		name string
		cfg  analyzetest.Config
	}
	base := logSpec{"bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1}}
	tests := []struct {
		golden string
		format string
		logs   []logSpec
		opt    analyze.Options
		top    int
	}{
		{"default.txt", "text", []logSpec{base}, analyze.Options{}, 10},
		{"default.json", "json", []logSpec{base}, analyze.Options{}, 0},
		{"default.csv", "csv", []logSpec{base}, analyze.Options{}, 0},
		{"default.md", "markdown", []logSpec{base}, analyze.Options{}, 10},
		{"by-site.txt", "text", []logSpec{base}, analyze.Options{By: analyze.BySite}, 10},
		{"by-other.txt", "text", []logSpec{base}, analyze.Options{By: analyze.ByOther}, 10},
		{"by-thread.md", "markdown", []logSpec{base}, analyze.Options{By: analyze.ByThread}, 10},
		{"by-var.txt", "text", []logSpec{base}, analyze.Options{By: analyze.ByVar}, 10},
		{"by-kind.csv", "csv", []logSpec{base}, analyze.Options{By: analyze.ByKind}, 0},
		{"window-kind.txt", "text", []logSpec{base},
			analyze.Options{Kind: logformat.ConflictWriteWrite, From: 2e6, To: 8e6}, 2},
		{"thread.json", "json", []logSpec{base}, analyze.Options{Thread: 2}, 1},
		{"merged.txt", "text", []logSpec{base, {"bank2.log", analyzetest.Config{Threads: 2, Tx: 100, Seed: 2, Start: 2e6}}},
			analyze.Options{}, 3},
		{"vet.txt", "text", []logSpec{base}, analyze.Options{}, 2},
		{"vet.json", "json", []logSpec{base}, analyze.Options{}, 1},
		{"damaged.txt", "text", []logSpec{{"crashed.log", analyzetest.Config{Threads: 2, Tx: 50, Seed: 3, NoClose: true, Dropped: 17}}},
			analyze.Options{}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			a := analyze.New(tc.opt)
			for _, l := range tc.logs {
				if err := a.AddNamed(l.name, repGenSource(t, l.name, l.cfg)); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			ro := Options{Top: tc.top, SourceRoot: root}
			// vet.*: stand-in stmvet diagnostics at the auditor's
			// Inevitable line.
			if strings.HasPrefix(tc.golden, "vet.") {
				ro.Vet = func(file string, line int) []string {
					if strings.HasSuffix(file, "bank/bank.go") && line == 19 {
						return []string{"tx.Inevitable() with no side effect after it"}
					}
					return nil
				}
			}
			if err := Write(&out, tc.format, a.Summary(), ro); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "golden/"+tc.golden, out.Bytes())
		})
	}
}

// TestReportJSONSchema checks the JSON output against the documented shape, not
// just the golden bytes: field names, integer nanoseconds, totals that add up.
func TestReportJSONSchema(t *testing.T) {
	a := analyze.New(analyze.Options{})
	if err := a.Add(repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	var out bytes.Buffer
	if err := JSON(&out, s, Options{NoSource: true}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m["schema"] != JSONSchema {
		t.Errorf("schema %v", m["schema"])
	}
	for _, k := range []string{"logs", "options", "start_ns", "end_ns", "wall_ns", "committed_ns", "aborted_ns",
		"paused_ns", "lost_ns", "commits", "aborts", "conflicts", "tx_per_second", "threads", "timeline",
		"groups_total", "groups", "warnings", "abort_causes", "pause_reasons"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing field %q", k)
		}
	}
	groups := m["groups"].([]any)
	if len(groups) != len(s.Groups) {
		t.Fatalf("%d groups, want %d", len(groups), len(s.Groups))
	}
	var lost int64
	for _, g := range groups {
		gm := g.(map[string]any)
		l, err := gm["lost_ns"].(json.Number).Int64()
		if err != nil {
			t.Fatalf("lost_ns not an integer: %v", gm["lost_ns"])
		}
		ab, _ := gm["aborted_ns"].(json.Number).Int64()
		pa, _ := gm["paused_ns"].(json.Number).Int64()
		if l != ab+pa {
			t.Errorf("group %v: lost %d != aborted %d + paused %d", gm["rank"], l, ab, pa)
		}
		lost += l
		if len(gm["timeline"].([]any)) != analyze.TimelineCells {
			t.Errorf("timeline of %d cells", len(gm["timeline"].([]any)))
		}
		if this, ok := gm["this"].(map[string]any); !ok || this["file"] != analyzetest.File {
			t.Errorf("this site %v", gm["this"])
		}
	}
	if tot, _ := m["lost_ns"].(json.Number).Int64(); tot != lost || lost == 0 {
		t.Errorf("lost_ns %d, sum of groups %d", tot, lost)
	}
}

func TestReportCSVShape(t *testing.T) {
	a := analyze.New(analyze.Options{})
	if err := a.Add(repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	var out bytes.Buffer
	if err := CSV(&out, s, Options{Top: 2}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("rows %q", rows)
	}
	for _, r := range rows[1:] {
		if len(r) != len(CSVHeader) {
			t.Errorf("row of %d cells", len(r))
		}
	}
}

func TestReportSourceRootRemap(t *testing.T) {
	root := repSourceRoot(t)
	tests := []struct {
		root string
		file string
		line int
		want string
	}{
		{root, analyzetest.File, 10, "b.accounts[from].Store(tx, f-n)"},
		{root, "example.com/bank/bank.go", 19, "tx.Inevitable()"},
		{root, "/elsewhere/example.com/bank/bank.go", 1, "package bank"},
		{root, "/elsewhere/bank/bank.go", 1, ""},
		{root, analyzetest.File, 1000, ""},
		{"", analyzetest.File, 10, ""},
		{root, "/no/such/file.go", 1, ""},
	}
	for _, tc := range tests {
		sc := newSourceCache(Options{SourceRoot: tc.root})
		if got := sc.line(tc.file, tc.line); got != tc.want {
			t.Errorf("line(%q, %d) with root %q = %q, want %q", tc.file, tc.line, tc.root, got, tc.want)
		}
	}
	if got := newSourceCache(Options{SourceRoot: root, NoSource: true}).line(analyzetest.File, 10); got != "" {
		t.Errorf("NoSource still read %q", got)
	}
}

func TestReportFormatHelpers(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtPercent(5.34), "5.3%"},
		{fmtPercent(380.2), "380%"},
		{fmtThousands(1234567), "1,234,567"},
		{fmtThousands(-1000), "-1,000"},
		{fmtThousands(12), "12"},
		{shortFunc("github.com/a/srv.(*H).serve"), "srv.(*H).serve"},
		{shortFile("/a/b/srv/h.go"), "srv/h.go"},
		{shortFile("h.go"), "h.go"},
		{mdCode("a|b`c"), `a\|b'c`},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%d: got %q, want %q", i, tc.got, tc.want)
		}
	}
	cells := [analyze.TimelineCells]int64{0: 1, 1: 10, 2: 5}
	if got := fmtTimeline(&cells)[:4]; got != "_Xx " {
		t.Errorf("timeline %q", got)
	}
	if err := Write(&bytes.Buffer{}, "yaml", &analyze.Summary{}, Options{}); err == nil {
		t.Error("Write accepted format yaml")
	}
}

// TestReportEmptySummary renders a summary with no logs and no groups in every
// format without failing.
func TestReportEmptySummary(t *testing.T) {
	for _, f := range Formats {
		var out bytes.Buffer
		if err := Write(&out, f, analyze.New(analyze.Options{}).Summary(), Options{}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if out.Len() == 0 {
			t.Errorf("%s: no output", f)
		}
	}
}

// With several logs, a group's title says which log a thread number or an
// unnamed Var's id belongs to; a named Var needs no log.
func TestGroupTitleNamesTheLog(t *testing.T) {
	two := []analyze.Log{{Name: "a.log"}, {Name: "b.log"}}
	tests := []struct {
		by   analyze.GroupBy
		logs []analyze.Log
		g    analyze.Group
		want string
	}{
		{analyze.ByThread, two, analyze.Group{Log: 1, Thread: 3}, "thread 3 of b.log"},
		{analyze.ByThread, two[:1], analyze.Group{Thread: 3}, "thread 3"},
		{analyze.ByVar, two, analyze.Group{Log: 1, Var: 7}, "var #7 of b.log"},
		{analyze.ByVar, two[:1], analyze.Group{Var: 7}, "var #7"},
		{analyze.ByVar, two, analyze.Group{Var: 7, VarName: "counter"}, "var counter"},
		{analyze.ByVar, two, analyze.Group{}, "var (none)"},
	}
	for _, tc := range tests {
		s := &analyze.Summary{Options: analyze.Options{By: tc.by}, Logs: tc.logs}
		if got := groupTitle(s, &tc.g); got != tc.want {
			t.Errorf("%v %+v with %d logs: %q, want %q", tc.by, tc.g, len(tc.logs), got, tc.want)
		}
	}
}

// CSV rows of groups that belong to one log (by thread, or an unnamed Var
// by var) say which log, so merged logs' rows can be told apart.
func TestReportCSVLogColumn(t *testing.T) {
	for _, by := range []analyze.GroupBy{analyze.ByThread, analyze.ByConflict} {
		a := analyze.New(analyze.Options{By: by})
		for _, name := range []string{"a.log", "b.log"} {
			if err := a.AddNamed(name, repGenSource(t, name, analyzetest.Config{Threads: 2, Tx: 50, Seed: 1})); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if err := CSV(&out, a.Summary(), Options{}); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := slices.Index(rows[0], "log")
		if col < 0 {
			t.Fatalf("no log column in %q", rows[0])
		}
		logs := map[string]int{}
		for _, r := range rows[1:] {
			logs[r[col]]++
		}
		want := map[string]int{"": len(rows) - 1} // a conflict group spans both logs
		if by == analyze.ByThread {
			want = map[string]int{"a.log": 2, "b.log": 2}
		}
		if !maps.Equal(logs, want) {
			t.Errorf("by %v: rows per log %v, want %v", by, logs, want)
		}
	}
}

// Markdown, like Text, names a non-site group in one "group" column rather
// than under "this" with an empty "other".
func TestMarkdownGroupColumn(t *testing.T) {
	for _, tc := range []struct {
		by         analyze.GroupBy
		want, lack string
	}{
		{analyze.ByThread, "| kind  | group    |", "| other"},
		{analyze.ByConflict, "| this ", "| group"},
	} {
		a := analyze.New(analyze.Options{By: tc.by})
		if err := a.Add(repGenSource(t, "bank.log", analyzetest.Config{Threads: 3, Tx: 50, Seed: 1})); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Markdown(&out, a.Summary(), Options{NoSource: true}); err != nil {
			t.Fatal(err)
		}
		if md := out.String(); !strings.Contains(md, tc.want) || strings.Contains(md, tc.lack) {
			t.Errorf("by %v: want %q and no %q in:\n%s", tc.by, tc.want, tc.lack, md)
		}
	}
}

// A side the log has no site for prints as "?", and the text and markdown
// reports then say, once, what "?" means and what to do about it.
func TestUnknownSiteExplained(t *testing.T) {
	a := analyze.New(analyze.Options{})
	if err := a.Add(repGenSource(t, "gen.log", analyzetest.Config{Threads: 2, Tx: 50, Seed: 1})); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	if len(s.Groups) == 0 {
		t.Fatal("the generated log has no conflict group")
	}
	for _, f := range []string{"text", "markdown"} {
		var out bytes.Buffer
		if err := Write(&out, f, s, Options{}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "the log has no site") {
			t.Errorf("%s: explains \"?\" although every site is known", f)
		}
	}
	s.Groups[0].OtherSite = nil
	for _, f := range []string{"text", "markdown"} {
		var out bytes.Buffer
		if err := Write(&out, f, s, Options{}); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if n := strings.Count(got, "the log has no site for that side"); n != 1 {
			t.Errorf("%s: the explanation of \"?\" appears %d times, want once:\n%s", f, n, got)
		}
		if !strings.Contains(got, "EVENTS=all") { // markdown escapes the underscore
			t.Errorf("%s: the explanation does not say how to record every site", f)
		}
	}
}
