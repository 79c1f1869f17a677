package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/logformat/logtest"
	"github.com/stmlog/stmlog/report"
)

// pprofTestSource is the program the generated log pretends to record;
// its line numbers are the stacks' lines, so `pprof -list` and the web UI's
// source view have real text to show.
const pprofTestSource = `package shop

func handle(c *Cart) { // line 3
	addItem(c)         // line 4
	logRequest()       // line 5
}

func addItem(c *Cart) {
	c.items.Load(tx) // ADD-ITEM-READ line 9
}

func flushCart(c *Cart) {
	c.items.Store(tx, nil) // FLUSH-WRITE line 13
}

func logRequest() {
	tx.Inevitable() // LOG-INEVITABLE line 17
}
`

// pprofTestLog writes a native log of three threads into dir, next to the
// source file its stacks point at, and returns the log's path. Thread 1
// (shop.addItem) keeps losing write-read conflicts to thread 2
// (shop.flushCart): 4 aborted attempts of 300ns, one of them after a 100ns
// commit-lock pause; thread 3 waits 200ns twice for thread 1's inevitable
// transaction at shop.logRequest (inevitable conflicts).
func pprofTestLog(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "shop.go")
	if err := os.WriteFile(src, []byte(pprofTestSource), 0o644); err != nil {
		t.Fatal(err)
	}
	frame := func(fn string, line int) logformat.Frame {
		return logtest.Frame("example.com/shop."+fn, src, line)
	}
	const addItem, flush, logReq = 1, 2, 3
	stacks := map[logformat.StackID]*logformat.Stack{
		addItem: logtest.Stack(frame("addItem", 9), frame("handle", 4)),
		flush:   logtest.Stack(frame("flushCart", 13)),
		logReq:  logtest.Stack(frame("logRequest", 17), frame("handle", 5)),
	}

	var evs []logformat.Event
	add := func(e logformat.Event) { evs = append(evs, e) }
	tm := int64(1000)
	for i := range 4 {
		add(logformat.Event{Time: tm, Kind: logformat.KindTxStart, Thread: 1})
		add(logformat.Event{Time: tm + 10, Kind: logformat.KindTxStart, Thread: 2})
		add(logformat.Event{Time: tm + 100, Kind: logformat.KindConflict, Thread: 1, Conflict: logformat.ConflictWriteRead,
			OtherThread: 2, Var: 1, Site: addItem, OtherSite: flush})
		if i == 0 {
			add(logformat.Event{Time: tm + 150, Kind: logformat.KindWaitStart, Thread: 1, Reason: logformat.WaitCommitLock})
			add(logformat.Event{Time: tm + 250, Kind: logformat.KindWaitDone, Thread: 1, Reason: logformat.WaitCommitLock})
			add(logformat.Event{Time: tm + 400, Kind: logformat.KindTxAbort, Thread: 1, Cause: logformat.AbortConflict})
		} else {
			add(logformat.Event{Time: tm + 300, Kind: logformat.KindTxAbort, Thread: 1, Cause: logformat.AbortConflict})
		}
		add(logformat.Event{Time: tm + 410, Kind: logformat.KindTxCommit, Thread: 2})
		add(logformat.Event{Time: tm + 500, Kind: logformat.KindTxStart, Thread: 1})
		add(logformat.Event{Time: tm + 600, Kind: logformat.KindTxCommit, Thread: 1})
		tm += 1000
	}
	for range 2 {
		add(logformat.Event{Time: tm, Kind: logformat.KindTxStart, Thread: 1})
		add(logformat.Event{Time: tm + 10, Kind: logformat.KindBecomeInevitable, Thread: 1, Site: logReq})
		add(logformat.Event{Time: tm + 20, Kind: logformat.KindTxStart, Thread: 3})
		add(logformat.Event{Time: tm + 30, Kind: logformat.KindConflict, Thread: 3, Conflict: logformat.ConflictInevitable,
			OtherThread: 1, Site: logReq, OtherSite: logReq})
		add(logformat.Event{Time: tm + 30, Kind: logformat.KindWaitStart, Thread: 3, Reason: logformat.WaitInevitable})
		add(logformat.Event{Time: tm + 230, Kind: logformat.KindWaitDone, Thread: 3, Reason: logformat.WaitInevitable})
		add(logformat.Event{Time: tm + 240, Kind: logformat.KindTxCommit, Thread: 1})
		add(logformat.Event{Time: tm + 300, Kind: logformat.KindTxCommit, Thread: 3})
		tm += 1000
	}
	path := filepath.Join(dir, "shop.stmlog")
	if err := (&logtest.Source{Events: evs, Stacks: stacks}).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// pprofWantTotals is what analyze says about the logs, in
// report.PprofSampleTypes order: the numbers the profile must reproduce.
func pprofWantTotals(t *testing.T, ao analyze.Options, paths ...string) []int64 {
	t.Helper()
	a := analyze.New(ao)
	for _, p := range paths {
		src, c, err := anylog.Open(p, anylog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = a.AddNamed(p, src)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	s := a.Summary()
	var aborted, paused int64
	for _, g := range s.Groups {
		aborted += int64(g.Aborted)
		paused += int64(g.Paused)
	}
	return []int64{s.Conflicts, aborted, paused, int64(s.Lost())}
}

func pprofReadFile(t *testing.T, path string) *profile.Profile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func pprofRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func pprofSampleNames(s *profile.Sample) []string {
	var out []string
	for _, l := range s.Location {
		for _, ln := range l.Line {
			out = append(out, ln.Function.Name)
		}
	}
	return out
}

func TestPprofCmd(t *testing.T) {
	dir := t.TempDir()
	log := pprofTestLog(t, dir)
	want := pprofWantTotals(t, analyze.Options{}, log)
	// Worked out from pprofTestLog: 4 write-read + 2 inevitable conflicts;
	// aborted 300+300+300+(400-100 paused); paused 100 + 2×200.
	if !slices.Equal(want, []int64{6, 1200, 500, 1700}) {
		t.Fatalf("analyze totals %v, want [6 1200 500 1700]: the test log is not what this test expects", want)
	}
	tests := []struct {
		view, sample string
		top          []string // the heaviest sample's stack (lost), leaf first
	}{
		{"this", "lost", []string{"example.com/shop.addItem", "example.com/shop.handle"}},
		{"other", "aborted", []string{"example.com/shop.flushCart"}},
		{"pair", "conflicts", []string{"example.com/shop.addItem", "example.com/shop.handle",
			"conflict: write-read", "example.com/shop.flushCart"}},
		{"this", "paused", []string{"example.com/shop.addItem", "example.com/shop.handle"}},
	}
	for _, tc := range tests {
		t.Run(tc.view+"-"+tc.sample, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "lost.pb.gz")
			code, _, stderr := pprofRun(t, "pprof", "-o", out, "--view", tc.view, "--sample", tc.sample, log)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, "wrote "+out) {
				t.Errorf("stderr does not say what was written: %q", stderr)
			}
			p := pprofReadFile(t, out)
			if p.DefaultSampleType != tc.sample {
				t.Errorf("default sample type %q, want %q", p.DefaultSampleType, tc.sample)
			}
			if got := report.PprofTotals(p); !slices.Equal(got, want) {
				t.Errorf("profile totals %v, analyze %v", got, want)
			}
			var heaviest *profile.Sample
			for _, s := range p.Sample {
				if heaviest == nil || s.Value[3] > heaviest.Value[3] {
					heaviest = s
				}
			}
			if got := pprofSampleNames(heaviest); !slices.Equal(got, tc.top) {
				t.Errorf("heaviest stack %q, want %q", got, tc.top)
			}
			if k := heaviest.Label["kind"]; !slices.Equal(k, []string{"write-read"}) {
				t.Errorf("kind label %v, want write-read", k)
			}
			wantOther := filepath.Join(dir, "shop.go") + ":13" // the other side's write
			if tc.view == "other" {
				wantOther = filepath.Join(dir, "shop.go") + ":9"
			}
			if o := heaviest.Label["other"]; !slices.Equal(o, []string{wantOther}) {
				t.Errorf("other label %v, want %s", o, wantOther)
			}
		})
	}
}

func TestPprofCmdStdoutAndFilters(t *testing.T) {
	dir := t.TempDir()
	log := pprofTestLog(t, dir)
	tests := []struct {
		name  string
		args  []string
		ao    analyze.Options
		kind  string // every sample's kind label, "" = any
		empty bool   // the filter keeps no conflict
	}{
		{"stdout", nil, analyze.Options{}, "", false},
		{"kind", []string{"--kind", "inevitable"}, analyze.Options{Kind: logformat.ConflictInevitable}, "inevitable", false},
		{"window", []string{"--from", "1us", "--to", "3us"}, analyze.Options{From: 1000, To: 3000}, "", false},
		{"thread", []string{"--thread", "3"}, analyze.Options{Thread: 3}, "inevitable", false},
		// An empty profile is still a valid one (pprof shows "0 total").
		{"nothing kept", []string{"--kind", "write-write"}, analyze.Options{Kind: logformat.ConflictWriteWrite}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := pprofRun(t, append(append([]string{"pprof"}, tc.args...), log)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			p, err := profile.Parse(strings.NewReader(stdout))
			if err != nil {
				t.Fatalf("stdout is not a profile: %v", err)
			}
			want := pprofWantTotals(t, tc.ao, log)
			if got := report.PprofTotals(p); !slices.Equal(got, want) {
				t.Errorf("totals %v, analyze %v", got, want)
			}
			if (want[0] == 0) != tc.empty || (len(p.Sample) == 0) != tc.empty {
				t.Errorf("filter %v: %d conflicts, %d samples; want empty=%v", tc.args, want[0], len(p.Sample), tc.empty)
			}
			if err := p.CheckValid(); err != nil {
				t.Error(err)
			}
			for _, s := range p.Sample {
				if tc.kind != "" && s.Label["kind"][0] != tc.kind {
					t.Errorf("sample of kind %v survived --kind %s", s.Label["kind"], tc.kind)
				}
			}
		})
	}
}

// TestPprofCmdGoTool runs the real `go tool pprof` on what `stmlog pprof`
// wrote: no binary, yet -top names the functions and -list shows the source.
func TestPprofCmdGoTool(t *testing.T) {
	dir := t.TempDir()
	log := pprofTestLog(t, dir)
	out := filepath.Join(dir, "lost.pb.gz")
	if code, _, stderr := pprofRun(t, "pprof", "-o", out, "--view", "pair", log); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	tool := func(args ...string) string {
		cmd := exec.Command(goBin, append([]string{"tool", "pprof"}, args...)...)
		cmd.Dir = t.TempDir() // outside the module: nothing to resolve
		cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir())
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go tool pprof %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	top := tool("-top", out)
	for _, w := range []string{"shop.addItem", "shop.flushCart", "shop.logRequest", "shop.handle",
		"conflict: write-read", "conflict: inevitable", "1700ns total"} {
		if !strings.Contains(top, w) {
			t.Errorf("-top lacks %q:\n%s", w, top)
		}
	}
	list := tool("-list", "shop.addItem", out)
	if !strings.Contains(list, "ADD-ITEM-READ") || !strings.Contains(list, "1.30us") {
		t.Errorf("-list lacks the source line and its time:\n%s", list)
	}
	tagged := tool("-top", "-tagfocus", "kind=inevitable", out)
	if !strings.Contains(tagged, "shop.logRequest") || strings.Contains(tagged, "shop.addItem") {
		t.Errorf("-tagfocus kind=inevitable did not select the inevitable conflicts:\n%s", tagged)
	}
}

// TestPprofCmdPyPy exports PyPy-STM c7 and c8 logs: their markers become
// single-frame stacks.
func TestPprofCmdPyPy(t *testing.T) {
	tests := []struct {
		log  string
		want map[string][]string // view → functions that must appear
	}{
		// c7 records both sides of every conflict.
		{"../../testdata/logs/pypy/small.c7.log", map[string][]string{
			"this":  {"__init__", "compute_etag", "get"},
			"other": {"__init__", "compute_etag"},
		}},
		// c8 records only the writer's side of a write-read conflict (the
		// other side) and only this side of an inevitable one.
		{"../../testdata/logs/pypy/conformance/sample3.c8.log", map[string][]string{
			"this":  {"__init__", "compute_etag", report.UnknownSiteFunc},
			"other": {"add_item", "_run_thread", report.UnknownSiteFunc},
			"pair":  {"add_item", "conflict: write-read", "conflict: inevitable"},
		}},
		{"../../testdata/logs/pypy/small.c8.log", nil},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.log), func(t *testing.T) {
			want := pprofWantTotals(t, analyze.Options{}, tc.log)
			if want[0] == 0 {
				t.Fatalf("%s has no conflicts", tc.log)
			}
			for _, view := range []string{"this", "other", "pair"} {
				out := filepath.Join(t.TempDir(), "p.pb.gz")
				code, _, stderr := pprofRun(t, "pprof", "-o", out, "--view", view, tc.log)
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", view, code, stderr)
				}
				p := pprofReadFile(t, out)
				if got := report.PprofTotals(p); !slices.Equal(got, want) {
					t.Errorf("%s: totals %v, analyze %v", view, got, want)
				}
				names := map[string]bool{}
				for _, s := range p.Sample {
					n := pprofSampleNames(s)
					wantLen := 1
					if view == "pair" {
						wantLen = 3
					}
					if len(n) != wantLen {
						t.Errorf("%s: sample stack %q: want %d frames (markers are single frames)", view, n, wantLen)
					}
					for _, x := range n {
						names[x] = true
					}
				}
				for _, w := range tc.want[view] {
					if !names[w] {
						t.Errorf("%s: no frame %q in %v", view, w, slices.Sorted(maps.Keys(names)))
					}
				}
			}
		})
	}
}

func TestPprofCmdErrors(t *testing.T) {
	dir := t.TempDir()
	log := pprofTestLog(t, dir)
	damaged := filepath.Join(dir, "damaged.stmlog")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(damaged, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "x.pb.gz")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no log", []string{"pprof"}, 2, "requires at least 1 arg"},
		{"view", []string{"pprof", "--view", "both", log}, 2, `unknown view "both"`},
		{"sample", []string{"pprof", "--sample", "bytes", log}, 2, `--sample "bytes"`},
		{"kind", []string{"pprof", "--kind", "read-read", log}, 2, "--kind"},
		{"window", []string{"pprof", "--from", "2s", "--to", "1s", log}, 2, "--from"},
		{"missing", []string{"pprof", "-o", out, filepath.Join(dir, "nope.stmlog")}, 1, "nope.stmlog"},
		{"damaged", []string{"pprof", "-o", out, damaged}, 1, "damaged.stmlog"},
		{"not a log", []string{"pprof", "-o", out, filepath.Join(dir, "shop.go")}, 1, "not an stmlog or PyPy-STM log"},
		{"unwritable", []string{"pprof", "-o", filepath.Join(dir, "no", "dir", "x.pb.gz"), log}, 1, "x.pb.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := pprofRun(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.msg)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("error is not one line: %q", stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed run left %s behind", out)
			}
		})
	}
}
