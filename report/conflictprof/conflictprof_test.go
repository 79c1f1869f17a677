package conflictprof

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
)

func fr(fn, file string, line int) logformat.Frame {
	return logformat.Frame{Func: fn, File: file, Line: line}
}

var (
	stTransfer = &logformat.Stack{Frames: []logformat.Frame{
		fr("bank.(*Account).Withdraw", "/src/bank/account.go", 40),
		fr("bank.Transfer", "/src/bank/transfer.go", 12),
		fr("main.worker", "/src/main.go", 30),
	}}
	stAudit = &logformat.Stack{Frames: []logformat.Frame{
		fr("bank.(*Account).Balance", "/src/bank/account.go", 22),
		fr("bank.Audit", "/src/bank/audit.go", 9),
		fr("main.auditor", "/src/main.go", 50),
	}}
	stMarker = &logformat.Stack{Label: `File "x.py", line 3, in f (#7)`}
)

// names returns a sample's function names, leaf first.
func names(s *profile.Sample) []string {
	var out []string
	for _, l := range s.Location {
		for _, ln := range l.Line {
			out = append(out, ln.Function.Name)
		}
	}
	return out
}

func TestPprofViews(t *testing.T) {
	groups := []Group{
		{Kind: logformat.ConflictWriteRead, Site: stAudit, OtherSite: stTransfer, Count: 3, Aborted: 300, Paused: 0},
		{Kind: logformat.ConflictWriteWrite, Site: stTransfer, OtherSite: stTransfer, Count: 2, Aborted: 50, Paused: 7},
		{Kind: logformat.ConflictInevitable, Site: stMarker, OtherSite: nil, Count: 1, Aborted: 0, Paused: 40},
	}
	tests := []struct {
		view   View
		stacks [][]string // per group, leaf first
		other  []string   // "other" label per group ("" = none)
	}{
		{ViewThis,
			[][]string{
				{"bank.(*Account).Balance", "bank.Audit", "main.auditor"},
				{"bank.(*Account).Withdraw", "bank.Transfer", "main.worker"},
				{stMarker.Label},
			},
			[]string{"/src/bank/account.go:40", "/src/bank/account.go:40", ""}},
		{ViewOther,
			[][]string{
				{"bank.(*Account).Withdraw", "bank.Transfer", "main.worker"},
				{"bank.(*Account).Withdraw", "bank.Transfer", "main.worker"},
				{UnknownSiteFunc},
			},
			[]string{"/src/bank/account.go:22", "/src/bank/account.go:40", stMarker.Label}},
		{ViewPair,
			[][]string{
				{"bank.(*Account).Balance", "bank.Audit", "main.auditor", "conflict: write-read",
					"bank.(*Account).Withdraw", "bank.Transfer", "main.worker"},
				{"bank.(*Account).Withdraw", "bank.Transfer", "main.worker", "conflict: write-write",
					"bank.(*Account).Withdraw", "bank.Transfer", "main.worker"},
				{stMarker.Label, "conflict: inevitable", UnknownSiteFunc},
			},
			[]string{"/src/bank/account.go:40", "/src/bank/account.go:40", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.view.String(), func(t *testing.T) {
			p, err := Build(groups, Options{View: tc.view, DurationNanos: 1e9})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.CheckValid(); err != nil {
				t.Fatal(err)
			}
			if p.DefaultSampleType != SampleLost {
				t.Errorf("default sample type %q, want lost", p.DefaultSampleType)
			}
			var types []string
			for _, st := range p.SampleType {
				types = append(types, st.Type+"/"+st.Unit)
			}
			wantTypes := []string{"conflicts/count", "aborted/nanoseconds", "paused/nanoseconds", "lost/nanoseconds"}
			if !slices.Equal(types, wantTypes) {
				t.Errorf("sample types %v, want %v", types, wantTypes)
			}
			if len(p.Sample) != len(groups) {
				t.Fatalf("%d samples, want %d (one per group)", len(p.Sample), len(groups))
			}
			for i, s := range p.Sample {
				g := groups[i]
				if got := names(s); !slices.Equal(got, tc.stacks[i]) {
					t.Errorf("sample %d stack %q, want %q", i, got, tc.stacks[i])
				}
				want := []int64{g.Count, g.Aborted, g.Paused, g.Aborted + g.Paused}
				if !slices.Equal(s.Value, want) {
					t.Errorf("sample %d values %v, want %v", i, s.Value, want)
				}
				if k := s.Label["kind"]; !slices.Equal(k, []string{g.Kind.String()}) {
					t.Errorf("sample %d kind label %v, want %s", i, k, g.Kind)
				}
				var other string
				if o := s.Label["other"]; len(o) == 1 {
					other = o[0]
				}
				if other != tc.other[i] {
					t.Errorf("sample %d other label %q, want %q", i, other, tc.other[i])
				}
			}
			// Frames keep file and line so pprof can list sources.
			leaf := p.Sample[0].Location[0].Line[0]
			if tc.view != ViewOther && (leaf.Function.Filename != "/src/bank/account.go" || leaf.Line != 22) {
				t.Errorf("leaf %s:%d, want /src/bank/account.go:22", leaf.Function.Filename, leaf.Line)
			}

			// Round trip through the wire format.
			var buf bytes.Buffer
			if err := p.Write(&buf); err != nil {
				t.Fatal(err)
			}
			q, err := profile.Parse(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.CheckValid(); err != nil {
				t.Fatal(err)
			}
			if got, want := Totals(q), []int64{6, 350, 47, 397}; !slices.Equal(got, want) {
				t.Errorf("totals after round trip %v, want %v", got, want)
			}
			if q.DurationNanos != 1e9 || q.DefaultSampleType != SampleLost {
				t.Errorf("round trip lost duration/default: %d %q", q.DurationNanos, q.DefaultSampleType)
			}
			for i, s := range q.Sample {
				if got := names(s); !slices.Equal(got, tc.stacks[i]) {
					t.Errorf("after round trip sample %d stack %q, want %q", i, got, tc.stacks[i])
				}
			}
		})
	}
}

func TestPprofMergesEqualSamples(t *testing.T) {
	// Two groups that differ only in the other side: in the this view they
	// differ by the "other" label, so stay apart; with equal other sides (same
	// content, different pointers, as from two logs) they merge.
	copyTransfer := &logformat.Stack{Frames: slices.Clone(stTransfer.Frames)}
	groups := []Group{
		{Kind: logformat.ConflictWriteRead, Site: stAudit, OtherSite: stTransfer, Count: 1, Aborted: 10},
		{Kind: logformat.ConflictWriteRead, Site: stAudit, OtherSite: copyTransfer, Count: 2, Aborted: 20},
		{Kind: logformat.ConflictWriteRead, Site: stAudit, OtherSite: stMarker, Count: 4, Paused: 40},
	}
	p, err := Build(groups, Options{View: ViewThis})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sample) != 2 {
		t.Fatalf("%d samples, want 2", len(p.Sample))
	}
	if got, want := p.Sample[0].Value, []int64{3, 30, 0, 30}; !slices.Equal(got, want) {
		t.Errorf("merged sample %v, want %v", got, want)
	}
	// Functions and locations are shared, not repeated per sample.
	if len(p.Function) != 3 || len(p.Location) != 3 {
		t.Errorf("%d functions, %d locations; want 3 and 3", len(p.Function), len(p.Location))
	}
}

func TestPprofOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"sample", Options{Sample: "bytes"}, `unknown sample type "bytes"`},
		{"view", Options{View: 9}, "unknown view"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(nil, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	for _, s := range SampleTypes {
		p, err := Build(nil, Options{Sample: s})
		if err != nil || p.DefaultSampleType != s {
			t.Errorf("sample %s: %v, default %q", s, err, p.DefaultSampleType)
		}
	}
	for _, v := range Views {
		got, err := ParseView(v.String())
		if err != nil || got != v {
			t.Errorf("ParseView(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := ParseView("both"); err == nil {
		t.Error("ParseView(both) did not fail")
	}
}

// pprofWorkload is a small two-thread log: thread 1 (this side) meets a
// write-read conflict, is paused, then aborts; retries and commits; thread 2
// meets a write-write conflict and is paused; there is also an abort with no
// conflict (unattributed) and a conflict of another kind.
func pprofWorkload(t0 int64) *logtest.Source {
	ev := func(dt int64, k logformat.Kind, th uint32) logformat.Event {
		return logformat.Event{Time: t0 + dt, Kind: k, Thread: th}
	}
	conflict := func(dt int64, th uint32, c logformat.ConflictKind, site, other logformat.StackID) logformat.Event {
		e := ev(dt, logformat.KindConflict, th)
		e.Conflict, e.Site, e.OtherSite, e.OtherThread = c, site, other, 3-th
		return e
	}
	wait := func(dt int64, th uint32, r logformat.WaitReason) logformat.Event {
		e := ev(dt, logformat.KindWaitStart, th)
		e.Reason = r
		return e
	}
	abort := func(dt int64, th uint32, c logformat.AbortCause) logformat.Event {
		e := ev(dt, logformat.KindTxAbort, th)
		e.Cause = c
		return e
	}
	return &logtest.Source{
		Stacks: map[logformat.StackID]*logformat.Stack{1: stAudit, 2: stTransfer, 3: stMarker},
		Events: []logformat.Event{
			ev(0, logformat.KindTxStart, 1),
			ev(10, logformat.KindTxStart, 2),
			conflict(100, 1, logformat.ConflictWriteRead, 1, 2),
			wait(120, 1, logformat.WaitCommitLock),
			ev(170, logformat.KindWaitDone, 1),
			abort(400, 1, logformat.AbortConflict),
			ev(410, logformat.KindTxStart, 1),
			conflict(500, 2, logformat.ConflictWriteWrite, 2, 2),
			wait(510, 2, logformat.WaitBackoff),
			ev(610, logformat.KindWaitDone, 2),
			ev(700, logformat.KindTxCommit, 2),
			ev(800, logformat.KindTxCommit, 1),
			ev(900, logformat.KindTxStart, 2),
			abort(950, 2, logformat.AbortError),
			ev(1000, logformat.KindTxStart, 1),
			conflict(1100, 1, logformat.ConflictInevitable, 3, 0),
			wait(1100, 1, logformat.WaitInevitable),
			ev(1300, logformat.KindWaitDone, 1),
			ev(1400, logformat.KindTxCommit, 1),
		},
	}
}

// TestPprofFromSummary checks the profile against the analyzer's own
// numbers for the same events: the profile is the report, re-shaped.
func TestPprofFromSummary(t *testing.T) {
	tests := []struct {
		name string
		opt  analyze.Options
		logs int
	}{
		{"all", analyze.Options{}, 1},
		{"two logs", analyze.Options{}, 2},
		{"kind", analyze.Options{Kind: logformat.ConflictWriteRead}, 1},
		{"window", analyze.Options{From: 450, To: 1200}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyze.New(tc.opt)
			for i := range tc.logs {
				if err := a.Add(pprofWorkload(int64(i) * 5e9)); err != nil {
					t.Fatal(err)
				}
			}
			s := a.Summary()
			if len(s.Groups) == 0 {
				t.Fatal("the workload produced no conflict groups")
			}
			var count, aborted, paused int64
			for _, g := range s.Groups {
				count += g.Count
				aborted += int64(g.Aborted)
				paused += int64(g.Paused)
			}
			for _, v := range Views {
				p, err := FromSummary(s, Options{View: v})
				if err != nil {
					t.Fatal(err)
				}
				if err := p.CheckValid(); err != nil {
					t.Fatal(err)
				}
				got := Totals(p)
				want := []int64{s.Conflicts, aborted, paused, int64(s.Lost())}
				if !slices.Equal(got, want) {
					t.Errorf("%s: totals %v, want %v (analyze)", v, got, want)
				}
				if count != s.Conflicts {
					t.Errorf("groups count %d conflicts, summary %d", count, s.Conflicts)
				}
				if p.DurationNanos != int64(s.Wall) {
					t.Errorf("duration %d, want wall %d", p.DurationNanos, s.Wall)
				}
			}
		})
	}

	// The numbers themselves, worked out by hand from pprofWorkload's
	// events, so the equality above is not vacuous: write-read: 1 conflict,
	// aborted 400-50 (run minus the pause), paused 50; write-write: paused
	// 100; inevitable: paused 200.
	a := analyze.New(analyze.Options{})
	if err := a.Add(pprofWorkload(0)); err != nil {
		t.Fatal(err)
	}
	p, err := FromSummary(a.Summary(), Options{View: ViewThis})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Totals(p), []int64{3, 350, 350, 700}; !slices.Equal(got, want) {
		t.Errorf("totals %v, want %v", got, want)
	}

	if _, err := FromSummary(analyze.New(analyze.Options{By: analyze.ByKind}).Summary(), Options{}); err == nil {
		t.Error("a summary grouped by kind was accepted")
	}
}

// pprofHere returns a frame for the line that calls it, in this file, so
// `go tool pprof -list` has a real source file to show.
func pprofHere(fn string) logformat.Frame {
	_, file, line, _ := runtime.Caller(1)
	return logformat.Frame{Func: fn, File: file, Line: line}
}

// TestPprofGoTool runs the real `go tool pprof` on a written profile: -top
// must name the workload's functions and -list must show their source.
func TestPprofGoTool(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Fatalf("go command not found at %s: %v", goBin, err)
	}
	this := &logformat.Stack{Frames: []logformat.Frame{
		pprofHere("shop.addItem"), // LIST-ME-addItem
		pprofHere("shop.handle"),
	}}
	other := &logformat.Stack{Frames: []logformat.Frame{pprofHere("shop.flushCart")}}
	p, err := Build([]Group{
		{Kind: logformat.ConflictWriteRead, Site: this, OtherSite: other, Count: 5, Aborted: int64(3 * time.Millisecond)},
	}, Options{View: ViewPair})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lost.pb.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) string {
		cmd := exec.Command(goBin, append([]string{"tool", "pprof"}, args...)...)
		// Outside the module, so the go command resolves nothing; pprof's
		// scratch files go to a temporary directory.
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go tool pprof %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	top := run("-top", path)
	for _, want := range []string{"shop.addItem", "shop.handle", "shop.flushCart", "conflict: write-read", "3ms"} {
		if !strings.Contains(top, want) {
			t.Errorf("-top output lacks %q:\n%s", want, top)
		}
	}
	list := run("-list", "shop.addItem", path)
	if !strings.Contains(list, "LIST-ME-addItem") {
		t.Errorf("-list output lacks the source line:\n%s", list)
	}
	conflicts := run("-top", "-sample_index=conflicts", path)
	if !strings.Contains(conflicts, "5 ") {
		t.Errorf("-sample_index=conflicts output lacks the count 5:\n%s", conflicts)
	}
}

// pprofBenchGroups makes n groups whose 10-frame stacks share frames the way
// real ones do: 50 distinct functions, leaf sites vary most.
func pprofBenchGroups(n int) []Group {
	stack := func(seed int) *logformat.Stack {
		st := &logformat.Stack{}
		for d := range 10 {
			f := (seed*(d+7) + d*d) % 50
			st.Frames = append(st.Frames, fr("app.fn"+strconv.Itoa(f), "/src/app/f"+strconv.Itoa(f%7)+".go", 10+f+d))
		}
		return st
	}
	gs := make([]Group, n)
	for i := range gs {
		gs[i] = Group{Kind: logformat.ConflictKind(1 + i%3), Site: stack(i), OtherSite: stack(i * 31),
			Count: int64(i + 1), Aborted: int64(i * 1000), Paused: int64(i * 10)}
	}
	return gs
}

// pprofNaive is the obvious alternative to Build's interning: a fresh
// Function and Location for every frame of every sample, then the pprof
// library's Compact to merge duplicates.
func pprofNaive(groups []Group) *profile.Profile {
	p := &profile.Profile{SampleType: []*profile.ValueType{
		{Type: SampleConflicts, Unit: "count"}, {Type: SampleAborted, Unit: "nanoseconds"},
		{Type: SamplePaused, Unit: "nanoseconds"}, {Type: SampleLost, Unit: "nanoseconds"}}}
	for _, g := range groups {
		s := &profile.Sample{Value: []int64{g.Count, g.Aborted, g.Paused, g.Aborted + g.Paused},
			Label: map[string][]string{"kind": {g.Kind.String()}, "other": {siteText(g.OtherSite)}}}
		for _, f := range g.Site.Frames {
			fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: f.Func, SystemName: f.Func, Filename: f.File}
			loc := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn, Line: int64(f.Line)}}}
			p.Function = append(p.Function, fn)
			p.Location = append(p.Location, loc)
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	return p.Compact()
}

func BenchmarkPprofBuild(b *testing.B) {
	for _, n := range []int{100, 10000} {
		groups := pprofBenchGroups(n)
		b.Run("interned/groups="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(groups, Options{View: ViewThis}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("naive+Compact/groups="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pprofNaive(groups)
			}
		})
	}
}

// TestPprofNaiveAgrees keeps the benchmark's baseline honest: it builds the
// same samples as Build.
func TestPprofNaiveAgrees(t *testing.T) {
	groups := pprofBenchGroups(300)
	p, err := Build(groups, Options{View: ViewThis})
	if err != nil {
		t.Fatal(err)
	}
	q := pprofNaive(groups)
	if got, want := Totals(q), Totals(p); !slices.Equal(got, want) {
		t.Errorf("naive totals %v, Build %v", got, want)
	}
	if len(q.Function) != len(p.Function) || len(q.Location) != len(p.Location) {
		t.Errorf("naive+Compact: %d functions, %d locations; Build %d, %d",
			len(q.Function), len(q.Location), len(p.Function), len(p.Location))
	}
}
