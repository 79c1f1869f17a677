package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
)

func TestParseGate(t *testing.T) {
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
		{spec: "lost=150%", err: "not a percentage between 0 and 100"},
		{spec: "lost=x%", err: "not a percentage"},
		{spec: "lost=5", err: "neither a percentage"},
		{spec: "lost=-1s", err: "neither a percentage"},
		{spec: "lost=5%,", err: "want METRIC=LIMIT"},
	} {
		ls, err := ParseGate(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseGate(%q) err = %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseGate(%q): %v", tc.spec, err)
			continue
		}
		var got []string
		for _, l := range ls {
			got = append(got, l.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ParseGate(%q) = %v, want %s", tc.spec, got, tc.want)
		}
	}
}

func TestCheckGate(t *testing.T) {
	g := func(key string, ab, pa time.Duration) analyze.Group {
		return analyze.Group{Key: key, Kind: logformat.ConflictWriteRead, This: stack(key, 1), Other: stack(key, 2),
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
		failed, res, err := CheckGate(s, tc.spec)
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
	if _, _, err := CheckGate(s, "bogus"); err == nil {
		t.Error("bad spec accepted")
	}
	// An empty summary passes any gate (and does not divide by zero).
	if failed, res, err := CheckGate(&analyze.Summary{}, "lost=0%,lost=0s"); err != nil || failed || res[0].Pct != 0 {
		t.Errorf("empty summary: failed=%v res=%+v err=%v", failed, res, err)
	}
}

func TestWriteGate(t *testing.T) {
	s := analyzeBytes(t, "naive.stmlog", syntheticLog(t, false, 1), analyze.Options{})
	failed, res, err := CheckGate(s, "lost=5%,aborted=100%")
	if err != nil || !failed {
		t.Fatalf("naive synthetic log passes lost=5%%: %v", err)
	}
	var b bytes.Buffer
	if err := WriteGate(&b, res, 2); err != nil {
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
	if failed, res, _ := CheckGate(s, "lost=5%"); failed {
		t.Errorf("fixed synthetic log fails lost=5%%: %.1f%%", res[0].Pct)
	}
}
