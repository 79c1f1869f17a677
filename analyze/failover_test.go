package analyze

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

func testStack(file string, line int) *logformat.Stack {
	return &logformat.Stack{Frames: []logformat.Frame{{Func: "main.f", File: file, Line: line}}}
}

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
	g := func(key string, ab, pa time.Duration) Group {
		return Group{Key: key, Kind: logformat.ConflictWriteRead, Site: testStack(key, 1), OtherSite: testStack(key, 2),
			Count: 3, Aborted: ab, Paused: pa, Lost: ab + pa}
	}
	// CPU = 10s; conflicts: 0.4s aborted + 0.3s paused = 0.7s lost (7%).
	// 1s of paused time was a Retry wait (no group): not counted.
	s := &Summary{Committed: 8 * time.Second, Aborted: 700 * time.Millisecond, Paused: 1300 * time.Millisecond,
		Groups: []Group{g("a.go", 100*time.Millisecond, 300*time.Millisecond), g("b.go", 300*time.Millisecond, 0), g("c.go", 0, 0)}}
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
		c, err := CheckFailOver(s, tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		failed, res := c.Failed, c.Results
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
	if _, err := CheckFailOver(s, "bogus"); err == nil {
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
		c, err := CheckFailOver(s, tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		failed, res := c.Failed, c.Results
		if failed != tc.failed || math.Abs(res[0].Pct-tc.pct) > 1e-9 {
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
		s    *Summary
		want EmptyError
	}{
		{"no events", &Summary{Logs: []Log{{Name: "a"}}}, EmptyError{Cause: EmptyNoEvents, Logs: 1}},
		{"thread", &Summary{Options: Options{Thread: 7}, Logs: []Log{{Events: 9}}}, EmptyError{Cause: EmptyNoThread, Logs: 1, Thread: 7}},
		{"window", &Summary{Options: Options{From: 5 * time.Second}, Logs: []Log{{Events: 9, Span: time.Second}}},
			EmptyError{Cause: EmptyWindow, Logs: 1, From: 5 * time.Second, Span: time.Second}},
		{"idle thread", &Summary{Options: Options{Thread: 7}, Logs: []Log{{Events: 9}}, Threads: []Thread{{}}}, EmptyError{Cause: EmptyThreadIdle, Logs: 1, Thread: 7}},
		{"no transactions", &Summary{Logs: []Log{{Events: 9}, {Events: 1}}}, EmptyError{Cause: EmptyNoTransactions, Logs: 2}},
	} {
		c, err := CheckFailOver(tc.s, "lost=0%,lost=0s")
		var e *EmptyError
		if !errors.Is(err, ErrFailOverEmpty) || !errors.As(err, &e) || c != nil || *e != tc.want {
			t.Errorf("%s: check=%v err=%#v, want %#v", tc.name, c, err, tc.want)
		}
	}
}
