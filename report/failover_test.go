package report

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
)

func TestParseFailOver(t *testing.T) {
	for _, tc := range []struct {
		spec, want, err string
	}{
		{spec: "lost=5%", want: "lost=5%"},
		{spec: "aborted=2s", want: "aborted=2s"},
		{spec: " paused = 1.5% , lost=300ms", want: "paused=1.5% lost=300ms"},
		{spec: "lost=0%", want: "lost=0%"},
		{spec: "lost", err: "want METRIC=LIMIT"},
		{spec: "lost=", err: "want METRIC=LIMIT"},
		{spec: "wall=5%", err: `unknown metric "wall"`},
		{spec: "lost=5%cpu", want: "lost=5%cpu"},
		{spec: "lost=150%wall", want: "lost=150%wall"},
		{spec: "lost=150%", err: "not a percentage of CPU time between 0 and 100"},
		{spec: "lost=150%cpu", err: "not a percentage of CPU time between 0 and 100"},
		{spec: "lost=5%real", err: `unknown percentage base "real"`},
		{spec: "lost=-5%wall", err: "not a percentage"},
		{spec: "lost=x%", err: "not a percentage"},
		{spec: "lost=5", err: "neither a percentage"},
		{spec: "lost=-1s", err: "neither a percentage"},
		{spec: "lost=5%,", err: "want METRIC=LIMIT"},
	} {
		ls, err := ParseFailOver(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseFailOver(%q) err = %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFailOver(%q): %v", tc.spec, err)
			continue
		}
		var got []string
		for _, l := range ls {
			got = append(got, l.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ParseFailOver(%q) = %v, want %s", tc.spec, got, tc.want)
		}
	}
}

func TestCheckFailOver(t *testing.T) {
	g := func(key string, ab, pa time.Duration) analyze.Group {
		return analyze.Group{Key: key, Kind: logformat.ConflictWriteRead, Site: stack(key, 1), OtherSite: stack(key, 2),
			Count: 3, Aborted: ab, Paused: pa, Lost: ab + pa}
	}
	// CPU = 10s; conflicts: 0.4s aborted + 0.3s paused = 0.7s lost (7%).
	// 1s of paused time was a Retry wait (no group): not counted.
	s := &analyze.Summary{Committed: 8 * time.Second, Aborted: 700 * time.Millisecond, Paused: 1300 * time.Millisecond,
		Groups: []analyze.Group{g("a.go", 100*time.Millisecond, 300*time.Millisecond), g("b.go", 300*time.Millisecond, 0), g("c.go", 0, 0)}}
	for _, tc := range []struct {
		spec      string
		failed    bool
		offending []string // of the first result
		pct       float64
	}{
		{"lost=5%", true, []string{"a.go", "b.go"}, 7},
		{"lost=7%", false, nil, 7},
		{"lost=6.99%", true, []string{"a.go", "b.go"}, 7},
		{"lost=1s", false, nil, 7},
		{"lost=699ms", true, []string{"a.go", "b.go"}, 7},
		{"aborted=3%", true, []string{"b.go", "a.go"}, 4},
		{"paused=3%", false, nil, 3},
		{"paused=0.2s", true, []string{"a.go"}, 3},
		{"paused=10%,aborted=1%", true, nil, 3},
	} {
		failed, res, err := CheckFailOver(s, tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if failed != tc.failed {
			t.Errorf("%s: failed = %v, want %v", tc.spec, failed, tc.failed)
		}
		var off []string
		for _, o := range res[0].Offending {
			off = append(off, o.Key)
		}
		if strings.Join(off, ",") != strings.Join(tc.offending, ",") {
			t.Errorf("%s: offending %v, want %v", tc.spec, off, tc.offending)
		}
		if d := res[0].Pct - tc.pct; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s: pct %v, want %v", tc.spec, res[0].Pct, tc.pct)
		}
	}
	if _, _, err := CheckFailOver(s, "bogus"); err == nil {
		t.Error("bad spec accepted")
	}
	// The same lost time against wall time: 0.7s of a 2s run is 35%.
	s.Wall = 2 * time.Second
	for _, tc := range []struct {
		spec   string
		failed bool
		pct    float64
	}{
		{"lost=30%wall", true, 35},
		{"lost=35%wall", false, 35},
		{"lost=5%cpu", true, 7},
		{"lost=5%", true, 7}, // no base: CPU time
		{"aborted=10%wall", true, 20},
	} {
		failed, res, err := CheckFailOver(s, tc.spec)
		if err != nil || failed != tc.failed || math.Abs(res[0].Pct-tc.pct) > 1e-9 {
			t.Errorf("%s: failed=%v pct=%v err=%v; want failed=%v pct=%v", tc.spec, failed, res[0].Pct, err, tc.failed, tc.pct)
		}
		if want := map[bool]string{true: FailOverWall, false: FailOverCPU}[strings.HasSuffix(tc.spec, "wall")]; res[0].Base != want {
			t.Errorf("%s: base %q, want %q", tc.spec, res[0].Base, want)
		}
	}
	// A summary with no time in transactions is not a pass: every limit
	// would hold trivially.
	for _, tc := range []struct {
		name string
		s    *analyze.Summary
		want string
	}{
		{"no events", &analyze.Summary{Logs: []analyze.Log{{Name: "a"}}}, "the log holds no events"},
		{"thread", &analyze.Summary{Options: analyze.Options{Thread: 7}, Logs: []analyze.Log{{Events: 9}}}, "thread 7 is not in the log"},
		{"window", &analyze.Summary{Options: analyze.Options{From: 5 * time.Second}, Logs: []analyze.Log{{Events: 9, Span: time.Second}}},
			"no transactions from 5.000s to the end after the start (the log spans 1.000s)"},
	} {
		failed, _, err := CheckFailOver(tc.s, "lost=0%,lost=0s")
		if !errors.Is(err, ErrFailOverEmpty) || failed || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: failed=%v err=%v, want ErrFailOverEmpty saying %q", tc.name, failed, err, tc.want)
		}
	}
}

func TestWriteFailOver(t *testing.T) {
	s := analyzeBytes(t, "naive.stmlog", syntheticLog(t, false, 1), analyze.Options{})
	failed, res, err := CheckFailOver(s, "lost=5%,aborted=100%,paused=1%wall")
	if err != nil || !failed {
		t.Fatalf("naive synthetic log passes lost=5%%: %v", err)
	}
	var b bytes.Buffer
	if err := WriteFailOver(&b, res, 2); err != nil {
		t.Fatal(err)
	}
	golden(t, "gate/naive.txt", b.Bytes())
	out := b.String()
	if !strings.Contains(out, "gate lost=5%: FAILED") || !strings.Contains(out, "gate aborted=100%: ok") ||
		!strings.Contains(out, "this:  server/handler.go:455 in main.(*Handler).serve") ||
		!strings.Contains(out, "... and 2 more groups") {
		t.Errorf("gate output:\n%s", out)
	}
	// The fixed server passes the same gate.
	s = analyzeBytes(t, "fixed.stmlog", syntheticLog(t, true, 1), analyze.Options{})
	if failed, res, _ := CheckFailOver(s, "lost=5%"); failed {
		t.Errorf("fixed synthetic log fails lost=5%%: %.1f%%", res[0].Pct)
	}
}
