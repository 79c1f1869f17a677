package report

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
)

// Sites of the synthetic primes-like server (leaf first).
var (
	wlNow     = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Handler).serve", File: "server/handler.go", Line: 455}, {Func: "net/http.serverHandler.ServeHTTP", File: "net/http/server.go", Line: 3210}}}
	wlETag    = logformat.Stack{Frames: []logformat.Frame{{Func: "main.etag", File: "server/etag.go", Line: 31}, {Func: "main.(*Handler).serve", File: "server/handler.go", Line: 470}}}
	wlHitsR   = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Stats).hit", File: "server/stats.go", Line: 18}}}
	wlHitsW   = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Stats).hit", File: "server/stats.go", Line: 19}}}
	wlCacheW  = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Cache).put", File: "server/cache.go", Line: 57}}}
	wlPrimesR = logformat.Stack{Frames: []logformat.Frame{{Func: "main.isPrime", File: "server/primes.go", Line: 12}}}
)

// syntheticLog writes a native log of a primes-server-like workload: four
// worker threads handling requests, each as one transaction. The naive
// version becomes inevitable for time.Now() and for ETag hashing (so workers
// pause for each other) and bumps a shared hit counter (write-read aborts);
// the fixed one has only rare counter conflicts and a new, small cache
// conflict. Deterministic for a given seed.
func syntheticLog(t testing.TB, fixed bool, seed int64) []byte {
	var buf bytes.Buffer
	w, err := logformat.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	now, etag := w.Stack(wlNow), w.Stack(wlETag)
	hitsR, hitsW := w.Stack(wlHitsR), w.Stack(wlHitsW)
	cacheW, primesR := w.Stack(wlCacheW), w.Stack(wlPrimesR)
	w.NameVar(1, "stats.hits")
	w.NameVar(2, "cache")
	r := rand.New(rand.NewSource(seed))
	const threads, requests = 4, 150
	write := func(e logformat.Event) {
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
	}
	for th := uint32(1); th <= threads; th++ {
		// Thread 1 starts first: analyze counts from the first event read.
		tm := int64(th-1) * 40_000
		step := func(mean int) int64 { tm += int64(mean/2 + r.Intn(mean)); return tm }
		other := func() uint32 { return 1 + (th+uint32(r.Intn(threads-1)))%threads }
		for req := 0; req < requests; req++ {
			for attempt := 0; ; attempt++ {
				write(logformat.Event{Time: step(20_000), Thread: th, Kind: logformat.KindTxStart})
				if !fixed {
					if r.Intn(3) == 0 { // another worker is inevitable: wait for it
						write(logformat.Event{Time: step(5_000), Thread: th, Kind: logformat.KindConflict,
							Conflict: logformat.ConflictInevitable, OtherThread: other(), Site: now, OtherSite: now})
						write(logformat.Event{Time: tm, Thread: th, Kind: logformat.KindWaitStart, Reason: logformat.WaitInevitable})
						write(logformat.Event{Time: step(80_000), Thread: th, Kind: logformat.KindWaitDone, Reason: logformat.WaitInevitable})
					}
					write(logformat.Event{Time: step(2_000), Thread: th, Kind: logformat.KindBecomeInevitable, Site: now})
					if r.Intn(8) == 0 {
						write(logformat.Event{Time: step(5_000), Thread: th, Kind: logformat.KindConflict,
							Conflict: logformat.ConflictInevitable, OtherThread: other(), Site: etag, OtherSite: now})
						write(logformat.Event{Time: tm, Thread: th, Kind: logformat.KindWaitStart, Reason: logformat.WaitInevitable})
						write(logformat.Event{Time: step(40_000), Thread: th, Kind: logformat.KindWaitDone, Reason: logformat.WaitInevitable})
					}
				}
				abortEvery := 3
				if fixed {
					abortEvery = 50
				}
				if attempt < 3 && r.Intn(abortEvery) == 0 {
					write(logformat.Event{Time: step(30_000), Thread: th, Kind: logformat.KindConflict,
						Conflict: logformat.ConflictWriteRead, OtherThread: other(), Var: 1, Site: hitsR, OtherSite: hitsW})
					write(logformat.Event{Time: step(1_000), Thread: th, Kind: logformat.KindTxAbort, Cause: logformat.AbortConflict})
					continue
				}
				if fixed && attempt < 3 && r.Intn(50) == 0 {
					write(logformat.Event{Time: step(25_000), Thread: th, Kind: logformat.KindConflict,
						Conflict: logformat.ConflictWriteWrite, OtherThread: other(), Var: 2, Site: cacheW, OtherSite: cacheW})
					write(logformat.Event{Time: step(1_000), Thread: th, Kind: logformat.KindTxAbort, Cause: logformat.AbortConflict})
					continue
				}
				if !fixed && r.Intn(40) == 0 {
					// A rare conflict that the fix does not touch.
					write(logformat.Event{Time: step(10_000), Thread: th, Kind: logformat.KindConflict,
						Conflict: logformat.ConflictWriteRead, OtherThread: other(), Site: primesR, OtherSite: cacheW})
					write(logformat.Event{Time: step(1_000), Thread: th, Kind: logformat.KindTxAbort, Cause: logformat.AbortConflict})
					continue
				}
				write(logformat.Event{Time: step(30_000), Thread: th, Kind: logformat.KindTxCommit})
				break
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// analyzeBytes analyzes a log held in memory, as the CLI analyzes a file.
func analyzeBytes(t testing.TB, name string, log []byte, opt analyze.Options) *analyze.Summary {
	t.Helper()
	src, err := anylog.New(bytes.NewReader(log), name, anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(opt)
	if err := a.AddNamed(name, src); err != nil {
		t.Fatal(err)
	}
	return a.Summary()
}

func analyzeFile(t testing.TB, path string) *analyze.Summary {
	t.Helper()
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return analyzeBytes(t, filepath.Base(path), log, analyze.Options{})
}

func TestDiffGoldenSynthetic(t *testing.T) {
	oldS := analyzeBytes(t, "naive.stmlog", syntheticLog(t, false, 1), analyze.Options{})
	newS := analyzeBytes(t, "fixed.stmlog", syntheticLog(t, true, 1), analyze.Options{})
	d, err := analyze.NewDiff(oldS, newS)
	if err != nil {
		t.Fatal(err)
	}
	var txt, js bytes.Buffer
	if err := WriteDiffText(&txt, d, 10); err != nil {
		t.Fatal(err)
	}
	if err := WriteDiffJSON(&js, d, 0); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "diff/synthetic.txt", txt.Bytes())
	checkGolden(t, "diff/synthetic.json", js.Bytes())

	// Independent of the golden files: the joins and totals are right.
	checkDiffAgainstSummaries(t, d, oldS, newS)
	statuses := map[string]int{}
	for _, g := range d.Groups {
		statuses[g.Status()]++
	}
	if statuses["new"] != 1 || statuses["gone"] != 3 || statuses[""] != 1 {
		t.Errorf("statuses = %v, want 1 new (cache), 3 gone (now, etag, primes), 1 on both (hits)", statuses)
	}
	if d.Groups[0].Kind != logformat.ConflictInevitable || d.Groups[0].Delta >= 0 {
		t.Errorf("top change = %v %v, want the time.Now() inevitable conflict, improved", d.Groups[0].Kind, d.Groups[0].Delta)
	}
}

// checkDiffAgainstSummaries recomputes what a diff must say from the two
// summaries directly.
func checkDiffAgainstSummaries(t *testing.T, d *analyze.Diff, oldS, newS *analyze.Summary) {
	t.Helper()
	byKey := func(s *analyze.Summary) map[string]analyze.Group {
		m := map[string]analyze.Group{}
		for _, g := range s.Groups {
			m[g.Key] = g
		}
		return m
	}
	om, nm := byKey(oldS), byKey(newS)
	keys := map[string]bool{}
	for k := range om {
		keys[k] = true
	}
	for k := range nm {
		keys[k] = true
	}
	if len(d.Groups) != len(keys) {
		t.Fatalf("%d diff groups, want %d (union of keys)", len(d.Groups), len(keys))
	}
	var sumDelta time.Duration
	for i, g := range d.Groups {
		o, n := om[g.Key], nm[g.Key]
		if g.Old.Lost != o.Lost || g.New.Lost != n.Lost || g.Delta != n.Lost-o.Lost || g.Old.Count != o.Count || g.New.Count != n.Count {
			t.Errorf("group %q: diff %+v, summaries old %v new %v", g.Key, g, o.Lost, n.Lost)
		}
		if i > 0 && absDur(g.Delta) > absDur(d.Groups[i-1].Delta) {
			t.Errorf("group %d ranked after a smaller change", i)
		}
		sumDelta += g.Delta
	}
	for _, tot := range d.Totals {
		if tot.Name == "lost" && tot.Delta != int64(sumDelta) {
			t.Errorf("lost total delta %d != sum of group deltas %d", tot.Delta, sumDelta)
		}
		if tot.Name == "commits" && (tot.Old != oldS.Commits || tot.New != newS.Commits) {
			t.Errorf("commits %d/%d, summaries %d/%d", tot.Old, tot.New, oldS.Commits, newS.Commits)
		}
	}
}

// Real logs: two runs of examples/primes (see testdata/README.md), when
// they have been recorded.
func TestDiffGoldenPrimes(t *testing.T) {
	naive, fixed := filepath.Join("testdata", "primes-naive.stmlog"), filepath.Join("testdata", "primes-fixed.stmlog")
	if _, err := os.Stat(naive); err != nil {
		t.Skipf("no recorded primes logs yet (%v)", err)
	}
	oldS, newS := analyzeFile(t, naive), analyzeFile(t, fixed)
	d, err := analyze.NewDiff(oldS, newS)
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	if err := WriteDiffText(&txt, d, 10); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "diff/primes.txt", txt.Bytes())
	checkDiffAgainstSummaries(t, d, oldS, newS)
	if d.NewLostPct >= d.OldLostPct {
		t.Errorf("fixed server loses %.1f%% of CPU time, naive %.1f%%: the fix should lose less", d.NewLostPct, d.OldLostPct)
	}
}

func stack(file string, line int) *logformat.Stack {
	return &logformat.Stack{Frames: []logformat.Frame{{Func: "main.f", File: file, Line: line}}}
}

// The JSON of a diff cut by top: the percentage of a new group is null.
func TestDiffJSON(t *testing.T) {
	g := func(key string, lost time.Duration, count int64) analyze.Group {
		return analyze.Group{Key: key, Kind: logformat.ConflictWriteWrite, Site: stack(key, 1), OtherSite: stack(key, 2),
			Count: count, Aborted: lost, Lost: lost}
	}
	oldS := &analyze.Summary{Logs: []analyze.Log{{Name: "a"}}, Commits: 10, Committed: 900, Aborted: 100,
		Groups: []analyze.Group{g("same", 50, 5), g("better", 40, 4), g("gone", 10, 1)}}
	newS := &analyze.Summary{Logs: []analyze.Log{{Name: "b"}}, Commits: 12, Committed: 800, Aborted: 200,
		Groups: []analyze.Group{g("new", 30, 3), g("better", 10, 1), g("same", 50, 5), g("worse", 0, 2)}}
	d, err := analyze.NewDiff(oldS, newS)
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteDiffJSON(&js, d, 2); err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Schema     string
		GroupCount int `json:"group_count"`
		Groups     []struct {
			Key      string
			Status   string
			DeltaPct *float64 `json:"delta_pct"`
			DeltaNs  int64    `json:"delta_ns"`
		}
	}
	if err := json.Unmarshal(js.Bytes(), &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.Schema != DiffSchema || parsed.GroupCount != 5 || len(parsed.Groups) != 2 ||
		parsed.Groups[0].DeltaPct != nil || parsed.Groups[1].DeltaPct == nil || *parsed.Groups[1].DeltaPct != -75 ||
		parsed.Groups[1].DeltaNs != -30 || parsed.Groups[0].Status != "new" {
		t.Errorf("json = %s", js.Bytes())
	}

}

// Grouped by var or kind, a row says which Var or kind it is, as the report
// does, and not only sites that several rows may share.
func TestDiffTextNamesNonSiteGroups(t *testing.T) {
	site := stack("main.f", 1)
	g := func(key, name string, v uint64, lost time.Duration) analyze.Group {
		return analyze.Group{Key: key, Kind: logformat.ConflictWriteWrite, Site: site, OtherSite: site,
			Var: v, VarName: name, Count: 1, Aborted: lost, Lost: lost}
	}
	opt := analyze.Options{By: analyze.ByVar}
	oldS := &analyze.Summary{Options: opt, Logs: []analyze.Log{{Name: "a"}},
		Groups: []analyze.Group{g("var\x00balance", "balance", 3, 50), g("var\x000:9", "", 9, 40)}}
	newS := &analyze.Summary{Options: opt, Logs: []analyze.Log{{Name: "b"}},
		Groups: []analyze.Group{g("var\x00balance", "balance", 4, 20), {Key: "var\x000:0", Kind: logformat.ConflictInevitable, Count: 1, Paused: 5, Lost: 5}}}
	d, err := analyze.NewDiff(oldS, newS)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteDiffText(&b, d, 0); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"\n    var #9\n    this:  main.f:1 in main.f\n", "\n    var balance\n", "\n    var (none)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff text lacks %q:\n%s", want, out)
		}
	}
}

// Grouped by one side's site, a row shows that side only (the other side
// is not part of the group and is often mixed), as the report does.
func TestDiffTextShowsTheGroupedSide(t *testing.T) {
	for _, tc := range []struct {
		by         analyze.GroupBy
		want, lack string
	}{
		{analyze.BySite, "    this:  a:1 in main.f\n", "other:"},
		{analyze.ByOther, "    other: b:2 in main.f\n", "this:"},
	} {
		g := analyze.Group{Key: "k", Kind: logformat.ConflictInevitable, Count: 1, Paused: 5, Lost: 5}
		if tc.by == analyze.BySite {
			g.Site = stack("a", 1)
		} else {
			g.OtherSite = stack("b", 2)
		}
		s := &analyze.Summary{Options: analyze.Options{By: tc.by}, Groups: []analyze.Group{g}}
		d, err := analyze.NewDiff(s, s)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := WriteDiffText(&b, d, 0); err != nil {
			t.Fatal(err)
		}
		if out := b.String(); !strings.Contains(out, tc.want) || strings.Contains(out, tc.lack) {
			t.Errorf("by %v: want %q and no %q in:\n%s", tc.by, tc.want, tc.lack, out)
		}
	}
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// Fewer, longer transactions (batching, a fixed version that does more per
// transaction) drop commits/s without being slower: the diff says so, in
// the text and in the JSON.
func TestDiffShapeChanged(t *testing.T) {
	sum := func(commits int64, committed time.Duration) *analyze.Summary {
		return &analyze.Summary{Wall: time.Second, Commits: commits, Committed: committed}
	}
	for _, tc := range []struct {
		name     string
		old, new *analyze.Summary
		changed  bool
		note     string
		shape    string // the JSON's
	}{
		{"fewer, longer", sum(1000, 100*time.Millisecond), sum(482, 150*time.Millisecond), true, "fewer, longer: run time per commit 100.000µs -> 311.203µs, 3.1x", "fewer-longer"},
		{"more, shorter", sum(482, 150*time.Millisecond), sum(1000, 100*time.Millisecond), true, "more, shorter", "more-shorter"},
		{"just slower", sum(1000, 100*time.Millisecond), sum(482, 50*time.Millisecond), false, "", ""},
		{"same shape, slower", sum(1000, 100*time.Millisecond), sum(900, 95*time.Millisecond), false, "", ""},
	} {
		d, err := analyze.NewDiff(tc.old, tc.new)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteDiffText(&b, d, 0); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if d.ShapeChanged != tc.changed || strings.Contains(out, "changed shape") != tc.changed || !strings.Contains(out, tc.note) {
			t.Errorf("%s: ShapeChanged %v, want %v; text:\n%s", tc.name, d.ShapeChanged, tc.changed, out)
		}
		b.Reset()
		if err := WriteDiffJSON(&b, d, 0); err != nil {
			t.Fatal(err)
		}
		var j struct {
			OldPer  int64  `json:"old_run_per_commit_ns"`
			NewPer  int64  `json:"new_run_per_commit_ns"`
			Changed bool   `json:"shape_changed"`
			Shape   string `json:"shape"`
		}
		if err := json.Unmarshal(b.Bytes(), &j); err != nil {
			t.Fatal(err)
		}
		if j.Changed != tc.changed || j.Shape != tc.shape ||
			j.OldPer != int64(tc.old.Committed)/tc.old.Commits || j.NewPer != int64(tc.new.Committed)/tc.new.Commits {
			t.Errorf("%s: JSON shape_changed %v shape %q run per commit %d -> %d; want %v %q", tc.name, j.Changed, j.Shape, j.OldPer, j.NewPer, tc.changed, tc.shape)
		}
	}
}
