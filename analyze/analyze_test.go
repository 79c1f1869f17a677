package analyze

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	lf "github.com/stmlog/stmlog/logformat"
	lt "github.com/stmlog/stmlog/logformat/logtest"
)

func stack(fn string, line int) *lf.Stack { return lt.Stack(lt.Frame(fn, "/src/app.go", line)) }

// basicLog: thread 1 aborts once on a write-write conflict (A vs B, 30ns
// lost) then commits; thread 2 commits, then waits 20ns on an inevitable
// conflict (C vs D) and commits; thread 1 then backs off 10ns (no conflict).
func basicLog() *lt.Source {
	return &lt.Source{
		Stacks: map[lf.StackID]*lf.Stack{1: stack("main.a", 10), 2: stack("main.b", 20), 3: stack("main.c", 30), 4: stack("main.d", 40)},
		Vars:   map[uint64]string{7: "counter"},
		Stat:   lf.Stats{Format: "stmlog/1", CleanEnd: true},
		Events: []lf.Event{
			lt.Start(0, 1), lt.Start(0, 2),
			lt.Conflict(10, 1, lf.ConflictWriteWrite, 1, 2, 2, 7),
			lt.Abort(30, 1, lf.AbortConflict),
			lt.Start(40, 1),
			lt.Commit(50, 2),
			lt.Start(60, 2),
			lt.Conflict(70, 2, lf.ConflictInevitable, 3, 4, 1, 0),
			lt.Wait(70, 2, lf.WaitInevitable),
			lt.WaitDone(90, 2),
			lt.Commit(100, 1),
			lt.Commit(120, 2),
			lt.Start(200, 1), lt.Wait(210, 1, lf.WaitBackoff), lt.WaitDone(220, 1), lt.Commit(230, 1),
		},
	}
}

func TestBasicAttribution(t *testing.T) {
	a := New(Options{})
	if err := a.Add(basicLog()); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	checks := []struct {
		name      string
		got, want int64
	}{
		{"wall", int64(s.Wall), 230},
		{"committed", int64(s.Committed), 60 + 50 + 40 + 20},
		{"aborted", int64(s.Aborted), 30},
		{"paused", int64(s.Paused), 30},
		{"commits", s.Commits, 4},
		{"aborts", s.Aborts, 1},
		{"conflicts", s.Conflicts, 2},
		{"unattributed paused", int64(s.UnattributedPaused), 10},
		{"unattributed aborted", int64(s.UnattributedAborted), 0},
		{"groups", int64(len(s.Groups)), 2},
		{"threads", int64(len(s.Threads)), 2},
		{"lost", int64(s.Lost()), 50},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %q", s.Warnings)
	}
	g := s.Groups[0]
	if g.Kind != lf.ConflictWriteWrite || g.Site.Leaf().Line != 10 || g.OtherSite.Leaf().Line != 20 ||
		g.Aborted != 30 || g.Paused != 0 || g.Count != 1 || g.Aborts != 1 || g.Max != 30 || g.VarName != "counter" {
		t.Errorf("group 0 = %+v", g)
	}
	if !slices.Equal(g.Threads, []uint32{1}) || !slices.Equal(g.OtherThreads, []uint32{2}) {
		t.Errorf("group 0 threads %v others %v", g.Threads, g.OtherThreads)
	}
	g = s.Groups[1]
	if g.Kind != lf.ConflictInevitable || g.Site.Leaf().Line != 30 || g.Paused != 20 || g.Aborted != 0 || g.Avg != 20 {
		t.Errorf("group 1 = %+v", g)
	}
	th1 := s.Threads[0]
	if th1.ID != 1 || th1.Committed != 80 || th1.Aborted != 30 || th1.Paused != 10 || th1.Commits != 2 || th1.Aborts != 1 {
		t.Errorf("thread 1 = %+v", th1)
	}
	if len(s.PauseReasons) != 2 || s.PauseReasons[0].Reason != lf.WaitInevitable || s.PauseReasons[0].Time != 20 {
		t.Errorf("pause reasons %+v", s.PauseReasons)
	}
	if len(s.AbortCauses) != 1 || s.AbortCauses[0].Cause != lf.AbortConflict || s.AbortCauses[0].Count != 1 {
		t.Errorf("abort causes %+v", s.AbortCauses)
	}
}

// TestBackoffAfterConflictAbort: the contention manager's backoff between a
// conflict abort and the re-run is charged to that conflict; other pauses
// there (PyPy's wait for a free segment) and backoffs after a commit are not.
func TestBackoffAfterConflictAbort(t *testing.T) {
	src := &lt.Source{
		Stacks: map[lf.StackID]*lf.Stack{1: stack("main.a", 10), 2: stack("main.b", 20)},
		Stat:   lf.Stats{Format: "stmlog/1", CleanEnd: true},
		Events: []lf.Event{
			lt.Start(0, 1),
			lt.Conflict(10, 1, lf.ConflictWriteRead, 1, 2, 2, 7),
			lt.Abort(20, 1, lf.AbortConflict),
			lt.Wait(25, 1, lf.WaitBackoff), lt.WaitDone(40, 1), // 15: the conflict's
			lt.Wait(40, 1, lf.WaitFreeSegment), lt.WaitDone(45, 1), // 5: not the conflict's
			lt.Start(50, 1), lt.Commit(60, 1),
			lt.Wait(60, 1, lf.WaitBackoff), lt.WaitDone(70, 1), // 10: after a commit, no conflict
			lt.Start(70, 1), lt.Commit(80, 1),
		},
	}
	a := New(Options{})
	if err := a.Add(src); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	if len(s.Groups) != 1 {
		t.Fatalf("%d groups, want 1", len(s.Groups))
	}
	g := s.Groups[0]
	if g.Aborted != 20 || g.Paused != 15 || g.Lost != 35 || g.Count != 1 || g.Max != 35 {
		t.Errorf("group: aborted %d paused %d lost %d count %d max %d, want 20 15 35 1 35", g.Aborted, g.Paused, g.Lost, g.Count, g.Max)
	}
	if s.UnattributedPaused != 15 || s.Paused != 30 {
		t.Errorf("paused %d, unattributed %d; want 30, 15", s.Paused, s.UnattributedPaused)
	}
}

// TestSelfAbortNotCharged: an attempt that waited for an inevitable
// transaction and then called Retry lost its pause to the conflict, but its
// run time to its own Retry.
func TestSelfAbortNotCharged(t *testing.T) {
	src := &lt.Source{
		Stacks: map[lf.StackID]*lf.Stack{1: stack("main.a", 10), 2: stack("main.b", 20)},
		Stat:   lf.Stats{Format: "stmlog/1", CleanEnd: true},
		Events: []lf.Event{
			lt.Start(0, 1),
			lt.Conflict(10, 1, lf.ConflictInevitable, 1, 2, 2, 0),
			lt.Wait(10, 1, lf.WaitInevitable), lt.WaitDone(30, 1),
			lt.Abort(40, 1, lf.AbortRetry),
			lt.Wait(40, 1, lf.WaitRetry), lt.WaitDone(60, 1),
			lt.Start(60, 1), lt.Commit(70, 1),
		},
	}
	a := New(Options{})
	if err := a.Add(src); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	g := s.Groups[0]
	if g.Paused != 20 || g.Aborted != 0 || g.Aborts != 0 || g.Lost != 20 {
		t.Errorf("group: paused %d aborted %d aborts %d lost %d; want 20 0 0 20", g.Paused, g.Aborted, g.Aborts, g.Lost)
	}
	if s.UnattributedAborted != 20 || s.UnattributedPaused != 20 {
		t.Errorf("unattributed aborted %d paused %d; want 20 20", s.UnattributedAborted, s.UnattributedPaused)
	}
}

func TestGroupBy(t *testing.T) {
	tests := []struct {
		by     string
		groups int
		top    int64 // lost of the first group
	}{
		{"", 2, 30}, {"conflict", 2, 30}, {"site", 2, 30}, {"other", 2, 30},
		{"pair", 2, 30}, {"kind", 2, 30}, {"thread", 2, 30}, {"var", 2, 30},
	}
	for _, tc := range tests {
		by, err := ParseGroupBy(tc.by)
		if err != nil {
			t.Fatal(err)
		}
		a := New(Options{By: by})
		if err := a.Add(basicLog()); err != nil {
			t.Fatal(err)
		}
		s := a.Summary()
		if len(s.Groups) != tc.groups || int64(s.Groups[0].Lost) != tc.top {
			t.Errorf("by %q: %d groups, top lost %d", tc.by, len(s.Groups), s.Groups[0].Lost)
		}
		if tc.by == "thread" && s.Groups[0].Thread != 1 {
			t.Errorf("by thread: top thread %d", s.Groups[0].Thread)
		}
		if tc.by == "var" && s.Groups[0].VarName != "counter" {
			t.Errorf("by var: top var %q", s.Groups[0].VarName)
		}
	}
	if _, err := ParseGroupBy("bogus"); err == nil {
		t.Error("ParseGroupBy(bogus) succeeded")
	}
}

func TestFilters(t *testing.T) {
	tests := []struct {
		name                     string
		opt                      Options
		commits, conflicts, wall int64
		committed, paused        int64
		groups                   int
	}{
		{"all", Options{}, 4, 2, 230, 170, 30, 2},
		{"kind", Options{Kind: lf.ConflictInevitable}, 4, 1, 230, 170, 30, 1},
		{"thread 2", Options{Thread: 2}, 2, 1, 120, 90, 20, 1},
		// [65, 95): thread 2 runs 65..70, pauses 70..90, runs 90..95;
		// thread 1 runs 65..95 (its commit at 100 is outside: the time
		// counts, the commit does not).
		{"window", Options{From: 65, To: 95}, 0, 1, 30, 40, 20, 1},
		// [0, 100): only the commit at 50 is inside; run time up to 100
		// counts: 50 (thread 2) + 60 (thread 1, 40..100) + 20 (thread 2,
		// 60..70 and 90..100).
		{"window to", Options{To: 100}, 1, 2, 100, 130, 20, 2},
	}
	for _, tc := range tests {
		a := New(tc.opt)
		if err := a.Add(basicLog()); err != nil {
			t.Fatal(err)
		}
		s := a.Summary()
		if s.Commits != tc.commits || s.Conflicts != tc.conflicts || int64(s.Wall) != tc.wall ||
			int64(s.Paused) != tc.paused || len(s.Groups) != tc.groups {
			t.Errorf("%s: commits %d conflicts %d wall %d paused %d groups %d", tc.name,
				s.Commits, s.Conflicts, s.Wall, s.Paused, len(s.Groups))
		}
		if int64(s.Committed) != tc.committed {
			t.Errorf("%s: committed %d, want %d", tc.name, s.Committed, tc.committed)
		}
	}
}

func TestMergeMatchesStacksByContent(t *testing.T) {
	l1 := basicLog()
	l2 := basicLog()
	// Same stacks under other IDs, and a different time base (a PyPy log
	// starts at its first record).
	l2.Stat.Format = "pypy-c8"
	l2.Stacks = map[lf.StackID]*lf.Stack{11: stack("main.a", 10), 12: stack("main.b", 20), 13: stack("main.c", 30), 14: stack("main.d", 40)}
	for i := range l2.Events {
		e := &l2.Events[i]
		e.Time += 1_000_000
		if e.Site != 0 {
			e.Site += 10
			e.OtherSite += 10
		}
	}
	a := New(Options{})
	if err := a.AddNamed("one", l1); err != nil {
		t.Fatal(err)
	}
	if err := a.AddNamed("two", l2); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	if len(s.Groups) != 2 || s.Groups[0].Count != 2 || s.Groups[0].Lost != 60 || s.Groups[1].Lost != 40 {
		t.Fatalf("merged groups: %+v", s.Groups)
	}
	if s.Wall != 230 || s.Commits != 8 || len(s.Logs) != 2 || len(s.Threads) != 4 || s.Logs[1].Name != "two" {
		t.Errorf("merged: wall %d commits %d logs %d threads %d", s.Wall, s.Commits, len(s.Logs), len(s.Threads))
	}
}

func TestWarnings(t *testing.T) {
	src := &lt.Source{
		Stat: lf.Stats{Format: "stmlog/1", TruncatedBytes: 12, Dropped: 3},
		Events: []lf.Event{
			lt.Start(100, 1), lt.Commit(90, 1), // out of order
			lt.Wait(100, 2, lf.WaitRetry), // never done
			lt.Start(150, 3),              // never ends
			{Time: 160, Kind: lf.KindTxStart},
		},
	}
	a := New(Options{})
	if err := a.Add(src); err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	all := strings.Join(s.Warnings, "\n")
	for _, want := range []string{"cut off", "12 bytes", "3 events were dropped",
		"out of time order", "pauses without end", "without commit or abort", "thread 0"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	// The open pause is charged up to the last event (150 - 100 relative 50).
	if s.Paused != 50 {
		t.Errorf("paused %d, want 50", s.Paused)
	}

	// A reader's own warnings are passed on (named once); the analyzer's
	// stand-ins are used only when the reader gives none.
	tests := []struct {
		stats lf.Stats
		want  []string
	}{
		{lf.Stats{Format: "stmlog/1"}, []string{"x.log: no end marker: recording was not stopped cleanly (StopLog not called, or the program was killed)"}},
		{lf.Stats{Format: "stmlog/1", Warnings: []string{"x.log: no end marker: crashed"}}, []string{"x.log: no end marker: crashed"}},
		{lf.Stats{Format: "pypy-c8", Warnings: []string{"odd record"}}, []string{"x.log: odd record"}},
		{lf.Stats{Format: "stmlog/1", CleanEnd: true}, nil},
	}
	for _, tc := range tests {
		a := New(Options{})
		if err := a.AddNamed("x.log", &lt.Source{Stat: tc.stats, Events: []lf.Event{lt.Start(0, 1), lt.Commit(5, 1)}}); err != nil {
			t.Fatal(err)
		}
		if got := a.Summary().Warnings; !slices.Equal(got, tc.want) {
			t.Errorf("stats %+v: warnings %q, want %q", tc.stats, got, tc.want)
		}
	}
}

func TestAddReturnsReadError(t *testing.T) {
	bad := errors.New("log.bin: corrupt chunk at byte 42")
	src := basicLog()
	src.Err = bad
	a := New(Options{})
	if err := a.Add(src); err != bad {
		t.Fatalf("Add error %v, want %v", err, bad)
	}
	if s := a.Summary(); s.Commits != 4 {
		t.Errorf("events before the error lost: commits %d", s.Commits)
	}
}

func TestSketchQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 10, 1000, 50000} {
		var sk sketch
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = int64(r.ExpFloat64() * 1e6)
			sk.add(vals[i])
		}
		slices.Sort(vals)
		want := vals[(9*n+9)/10-1]
		got := sk.quantile(0.9)
		if d := float64(got-want) / float64(max(want, 1)); d > 1.0/16 || d < -1.0/16 {
			t.Errorf("n=%d: p90 %d, exact %d", n, got, want)
		}
		if sk.max != vals[n-1] {
			t.Errorf("n=%d: max %d, want %d", n, sk.max, vals[n-1])
		}
	}
	for i := range bucketOf(1<<63 - 1) {
		lo, hi := bucketRange(i)
		if bucketOf(lo) != i || bucketOf(hi-1) != i || hi <= lo {
			t.Fatalf("bucket %d: [%d,%d) maps to %d,%d", i, lo, hi, bucketOf(lo), bucketOf(hi-1))
		}
	}
}

// TestSketchAddFast checks that addFast, where it takes a sample, leaves
// the sketch as add would, on values around every bucket's bounds, and
// that it takes the samples of buckets the counts have.
func TestSketchAddFast(t *testing.T) {
	var vals []int64
	for i := range bucketOf(1<<63 - 1) {
		lo, hi := bucketRange(i)
		vals = append(vals, lo, hi-1, lo+(hi-lo)/2)
	}
	var fast, slow sketch
	for _, v := range append(vals, vals...) { // the second time, every bucket is there
		if !fast.addFast(v) {
			fast.add(v)
		} else if len(fast.counts) == 0 {
			t.Fatalf("addFast took %d into an empty sketch", v)
		}
		slow.add(v)
		if !slices.Equal(fast.counts, slow.counts) || fast.n != slow.n || fast.min != slow.min || fast.max != slow.max {
			t.Fatalf("after %d: addFast's sketch %+v, add's %+v", v, fast, slow)
		}
	}
	for _, v := range vals {
		if !fast.addFast(v) {
			t.Fatalf("addFast did not take %d (bucket %d of %d)", v, bucketOf(v), len(fast.counts))
		}
	}
}

// TestTimelineMatchesExact puts conflicts at cell centres of a known span,
// in random order and with a log that starts before and after them, and
// checks the streamed 60 cells equal an exact count.
func TestTimelineMatchesExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, span := range []int64{60, 6000, 123_456_789, 3_600_000_000_000} {
		var want [TimelineCells]int64
		var evs []lf.Event
		for i := range 500 {
			c := r.IntN(TimelineCells)
			tm := int64((float64(c) + 0.5) * float64(span) / TimelineCells)
			want[c]++
			th := uint32(i + 1) // one thread each: order within a thread holds
			evs = append(evs, lt.Conflict(tm, th, lf.ConflictWriteRead, 0, 0, 0, 0))
		}
		r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		// Thread 99 fixes the range: first event at 0, last at span.
		evs = append([]lf.Event{lt.Start(0, 99)}, evs...)
		evs = append(evs, lt.Commit(span, 99))
		a := New(Options{})
		if err := a.Add(&lt.Source{Events: evs}); err != nil {
			t.Fatal(err)
		}
		s := a.Summary()
		if s.Timeline != want {
			t.Errorf("span %d:\n got %v\nwant %v", span, s.Timeline, want)
		}
		if len(s.Groups) != 1 || s.Groups[0].Timeline != want {
			t.Errorf("span %d: group timeline differs", span)
		}
	}
}

func TestDurationsAreDurations(t *testing.T) {
	// Guard: Summary durations are nanoseconds (time.Duration).
	var s Summary
	s.Wall = time.Second
	s.Commits = 10
	if s.TxPerSecond() != 10 || s.Percent(time.Second/2) != 50 {
		t.Errorf("TxPerSecond %v Percent %v", s.TxPerSecond(), s.Percent(time.Second/2))
	}
}

// TestNativeBatchOrder: a native log's per-thread batches are not in global
// time order; events earlier than the first one read must count fully.
func TestNativeBatchOrder(t *testing.T) {
	src := &lt.Source{
		Stat: lf.Stats{Format: "stmlog/1", CleanEnd: true},
		Events: []lf.Event{
			lt.Start(1000, 1), lt.Commit(1100, 1), // thread 1's batch first
			lt.Start(500, 2), lt.Commit(600, 2), lt.Start(700, 2), lt.Commit(900, 2),
		},
	}
	for _, opt := range []Options{{}, {From: 550, To: 2000}} {
		a := New(opt)
		if err := a.Add(src); err != nil {
			t.Fatal(err)
		}
		src.Rewind()
		s := a.Summary()
		wantCommits, wantWall := int64(3), time.Duration(600)
		if opt.From != 0 {
			wantCommits, wantWall = 3, 550 // commits at 600, 900, 1100; window 550..1100
		}
		if s.Commits != wantCommits || s.Wall != wantWall || len(s.Warnings) != 0 {
			t.Errorf("%+v: commits %d wall %d warnings %q", opt, s.Commits, s.Wall, s.Warnings)
		}
	}
}

// randomStream is n random events, often nonsensical: bad threads, unknown
// kinds, time going back, unmatched pauses, fields a kind does not have.
// With runs, a thread's events come in runs and most are starts and
// commits, as in real logs.
func randomStream(r *rand.Rand, n int, runs bool) []lf.Event {
	evs := make([]lf.Event, n)
	tm := int64(r.IntN(1000)) - 500
	th := uint32(1)
	for i := range evs {
		tm += int64(r.IntN(100)) - 10
		var kind lf.Kind
		if runs {
			if r.IntN(20) == 0 {
				th = uint32(r.IntN(5))
			}
			kind = lf.Kind(r.IntN(16))
			if r.IntN(3) > 0 {
				kind = lf.KindTxStart + lf.Kind(r.IntN(2))
			}
		} else {
			kind, th = lf.Kind(r.IntN(16)), uint32(r.IntN(5))
		}
		evs[i] = lf.Event{
			Time: tm, Kind: kind, Thread: th,
			Conflict: lf.ConflictKind(r.IntN(5)), Cause: lf.AbortCause(r.IntN(7)),
			Reason: lf.WaitReason(r.IntN(10)), OtherThread: uint32(r.IntN(4)), Var: uint64(r.IntN(3)),
			Site: lf.StackID(r.IntN(5)), OtherSite: lf.StackID(r.IntN(5)),
		}
	}
	return evs
}

// randomOptions cycles through every grouping, with a filter (kind,
// thread, window) on three iterations of five.
func randomOptions(r *rand.Rand, iter int) Options {
	opt := Options{By: GroupBy(iter % int(numGroupBy))}
	switch iter % 5 {
	case 1:
		opt.Kind = lf.ConflictKind(1 + r.IntN(3))
	case 2:
		opt.Thread = uint32(1 + r.IntN(4))
	case 3:
		opt.From, opt.To = time.Duration(r.IntN(2000)), time.Duration(2000+r.IntN(4000))
	}
	return opt
}

// randomStats alternates a native and a PyPy-STM format.
func randomStats(iter int) lf.Stats {
	if iter%2 == 0 {
		return lf.Stats{Format: "pypy-c8"}
	}
	return lf.Stats{Format: "stmlog/1"}
}

// TestRandomStreams feeds random, often nonsensical event streams (bad
// threads, unknown kinds, time going back, unmatched pauses) under every
// grouping and filter, and checks the invariants that must hold whatever
// the input: no panic, no negative time, groups add up.
func TestRandomStreams(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	stacks := map[lf.StackID]*lf.Stack{1: stack("f", 1), 2: stack("g", 2), 3: stack("h", 3)}
	for iter := range 300 {
		evs := randomStream(r, r.IntN(400), false)
		opt := randomOptions(r, iter)
		a := New(opt)
		if err := a.Add(&lt.Source{Events: evs, Stacks: stacks, Stat: randomStats(iter)}); err != nil {
			t.Fatal(err)
		}
		s := a.Summary()
		for name, d := range map[string]time.Duration{"wall": s.Wall, "committed": s.Committed,
			"aborted": s.Aborted, "paused": s.Paused, "unattributed": s.UnattributedAborted + s.UnattributedPaused} {
			if d < 0 {
				t.Fatalf("iter %d: %s = %d", iter, name, d)
			}
		}
		var count int64
		var lost time.Duration
		for _, g := range s.Groups {
			if g.Lost != g.Aborted+g.Paused || g.Aborted < 0 || g.Paused < 0 || g.Max < g.P90 || g.P90 < 0 {
				t.Fatalf("iter %d: group %+v", iter, g)
			}
			var tl int64
			for _, c := range g.Timeline {
				tl += c
			}
			if tl != g.Count {
				t.Fatalf("iter %d: timeline holds %d events, count %d", iter, tl, g.Count)
			}
			count += g.Count
			lost += g.Lost
		}
		if count != s.Conflicts {
			t.Fatalf("iter %d: groups count %d conflicts, summary %d", iter, count, s.Conflicts)
		}
		// Lost time is part of aborted + paused time.
		if lost > s.Aborted+s.Paused {
			t.Fatalf("iter %d: lost %d > aborted %d + paused %d", iter, lost, s.Aborted, s.Paused)
		}
	}
}

// TestTimelineNearExact checks the streamed timelines of a generated log
// against an exact count from all conflict times: an event may move to a
// neighbouring cell only if it lies within a quarter cell of the boundary.
func TestTimelineNearExact(t *testing.T) {
	for _, cfg := range []analyzetest.Config{
		{Threads: 3, Tx: 300, Seed: 1},
		{Threads: 5, Tx: 2000, Seed: 2, Start: 3e9}, // recording began long before
	} {
		var buf bytes.Buffer
		if _, err := analyzetest.Generate(&buf, cfg); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		r, err := lf.NewReader(bytes.NewReader(data), lf.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var times []int64
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			lo, hi = min(lo, ev.Time), max(hi, ev.Time)
			if ev.Kind == lf.KindConflict {
				times = append(times, ev.Time)
			}
		}
		r, _ = lf.NewReader(bytes.NewReader(data), lf.ReaderOptions{})
		a := New(Options{})
		if err := a.Add(r); err != nil {
			t.Fatal(err)
		}
		s := a.Summary()
		if int64(s.Start) != lo || int64(s.End) != hi {
			t.Fatalf("range [%d,%d], want [%d,%d]", s.Start, s.End, lo, hi)
		}
		span := float64(hi - lo)
		var cumGot, cumWant int64
		for k := range TimelineCells {
			cumGot += s.Timeline[k]
			boundary := float64(lo) + span*float64(k+1)/TimelineCells
			var near int64
			cumWant = 0
			for _, tm := range times {
				x := float64(tm)
				if x < boundary {
					cumWant++
				}
				if math.Abs(x-boundary) <= span/TimelineCells/4 {
					near++
				}
			}
			if d := cumGot - cumWant; d > near || -d > near {
				t.Errorf("seed %d: after cell %d, %d events streamed vs %d exact (%d near the boundary)", cfg.Seed, k, cumGot, cumWant, near)
			}
		}
		if cumGot != int64(len(times)) {
			t.Errorf("timeline holds %d of %d conflicts", cumGot, len(times))
		}
	}
}

// A named Var is one Var across logs (and across ids with the same name):
// grouped by name, its groups keep the name when several logs merge.
func TestMergeKeepsVarName(t *testing.T) {
	for _, by := range []GroupBy{ByConflict, ByVar} {
		l2 := basicLog()
		l2.Vars = map[uint64]string{9: "counter"}
		for i := range l2.Events {
			if l2.Events[i].Var == 7 {
				l2.Events[i].Var = 9
			}
		}
		a := New(Options{By: by})
		for _, l := range []*lt.Source{basicLog(), l2} {
			if err := a.Add(l); err != nil {
				t.Fatal(err)
			}
		}
		s := a.Summary()
		g := s.Groups[0]
		if g.Count != 2 || g.VarName != "counter" || g.Var != 0 {
			t.Errorf("by %v: top group count %d var %d %q, want 2 conflicts on var 0 (ids differ) %q",
				by, g.Count, g.Var, g.VarName, "counter")
		}
	}
}

// A filter that keeps nothing says so, rather than that the log is empty,
// and lists no threads with nothing to show.
func TestFilterKeepsNothing(t *testing.T) {
	tests := []struct {
		name    string
		opt     Options
		warning string
	}{
		{"no log events", Options{}, ""},
		{"thread", Options{Thread: 9}, "x.log: no events of thread 9 (the log has 16)"},
		{"window after the end", Options{From: 1000}, "x.log: nothing in the window (1.000µs to the end): the log's events run from 0s to 230ns"},
		{"window before the start", Options{From: 1, To: 5}, ""},
	}
	for _, tc := range tests {
		a := New(tc.opt)
		if err := a.AddNamed("x.log", basicLog()); err != nil {
			t.Fatal(err)
		}
		s := a.Summary()
		if tc.warning == "" {
			if len(s.Warnings) != 0 {
				t.Errorf("%s: warnings %q", tc.name, s.Warnings)
			}
		} else if !slices.Equal(s.Warnings, []string{tc.warning}) {
			t.Errorf("%s: warnings %q, want %q", tc.name, s.Warnings, tc.warning)
		}
		for _, th := range s.Threads {
			if th == (Thread{Log: th.Log, ID: th.ID}) {
				t.Errorf("%s: thread %d listed with nothing in it", tc.name, th.ID)
			}
		}
	}
}

// By var, conflicts on no Var (inevitable ones) are one group whatever the
// log, and an unnamed Var's group says which log its id belongs to.
func TestByVarAcrossLogs(t *testing.T) {
	l2 := basicLog()
	l2.Vars = nil // Var 7 unnamed in the second log
	a := New(Options{By: ByVar})
	for _, l := range []*lt.Source{basicLog(), l2} {
		if err := a.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	s := a.Summary()
	type row struct {
		name  string
		v     uint64
		log   int
		count int64
	}
	var got []row
	for _, g := range s.Groups {
		got = append(got, row{g.VarName, g.Var, g.Log, g.Count})
	}
	want := []row{{"", 0, 0, 2}, {"", 7, 1, 1}, {"counter", 7, 0, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("groups by var %+v, want %+v", got, want)
	}
}
