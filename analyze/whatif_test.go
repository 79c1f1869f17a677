package analyze

import (
	"bytes"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	lf "github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
)

// whatIfOf analyzes a native log held in data and predicts for opt.
func whatIfOf(t *testing.T, data []byte, opt WhatIfOptions) (*Summary, *WhatIf) {
	t.Helper()
	return whatIfWith(t, data, NewSchedule(Options{}), opt)
}

// scheduleOf reads a native log held in data into s and an Analyzer with
// s's options.
func scheduleOf(t *testing.T, data []byte, s *Schedule) *Summary {
	t.Helper()
	r, err := lf.NewReader(bytes.NewReader(data), lf.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := New(s.opt)
	if err := a.Add(s.Tee("log", r)); err != nil {
		t.Fatal(err)
	}
	return a.Summary()
}

// whatIfWith is whatIfOf through the schedule s (its Limit and Prefix).
func whatIfWith(t *testing.T, data []byte, s *Schedule, opt WhatIfOptions) (*Summary, *WhatIf) {
	t.Helper()
	sum := scheduleOf(t, data, s)
	w, err := s.WhatIf(sum, opt)
	if err != nil {
		t.Fatal(err)
	}
	return sum, w
}

func generated(t *testing.T, cfg analyzetest.Config) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := analyzetest.Generate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testLogs are full-level logs: generated ones and the recorded primes
// logs of report/testdata.
func testLogs(t *testing.T) map[string][]byte {
	logs := map[string][]byte{
		"gen-4":  generated(t, analyzetest.Config{Seed: 1}),
		"gen-8":  generated(t, analyzetest.Config{Seed: 2, Threads: 8, Tx: 50}),
		"gen-2":  generated(t, analyzetest.Config{Seed: 3, Threads: 2, Tx: 200}),
		"small":  nil,
		"primes": nil,
	}
	for name, path := range map[string]string{"small": "../testdata/logs/small.stmlog", "primes": "../report/testdata/primes-naive.stmlog"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		logs[name] = b
	}
	return logs
}

// The replay of the unchanged schedule takes the recorded wall time.
func TestWhatIfReplayUnchanged(t *testing.T) {
	for name, data := range testLogs(t) {
		sum, w := whatIfOf(t, data, WhatIfOptions{})
		if !w.Replayed {
			t.Fatalf("%s: not replayed: %s", name, w.Reason)
		}
		if d := math.Abs(float64(w.ReplayWall-sum.Wall)) / float64(sum.Wall); d > 0.02 {
			t.Errorf("%s: replay wall %v, recorded %v (%.1f%% off)", name, w.ReplayWall, sum.Wall, 100*d)
		}
	}
}

// The time a prediction removes is the group's lost time in the report,
// and the bound is never below the replay.
func TestWhatIfLostMatchesReport(t *testing.T) {
	for name, data := range testLogs(t) {
		sum, w := whatIfOf(t, data, WhatIfOptions{})
		if len(w.Groups) != len(sum.Groups) {
			t.Fatalf("%s: %d predictions for %d groups", name, len(w.Groups), len(sum.Groups))
		}
		for i, p := range w.Groups {
			g := sum.Groups[i]
			if p.Rank != i+1 || p.Key != g.Key {
				t.Errorf("%s: prediction %d is rank %d key %q, want rank %d key %q", name, i, p.Rank, p.Key, i+1, g.Key)
			}
			if p.Lost != g.Lost {
				t.Errorf("%s #%d: removes %v, the report charges %v", name, p.Rank, p.Lost, g.Lost)
			}
			if p.Speedup < 1-1e-9 || p.BoundSpeedup < p.Speedup-1e-9 {
				t.Errorf("%s #%d: speedup %.4f, bound %.4f", name, p.Rank, p.Speedup, p.BoundSpeedup)
			}
		}
		if w.All.Lost != sum.Lost() {
			t.Errorf("%s: all removes %v, report lost %v", name, w.All.Lost, sum.Lost())
		}
	}
}

// Removing two groups predicts at least as much as removing either.
func TestWhatIfTwoGroupsAtLeastEither(t *testing.T) {
	for name, data := range testLogs(t) {
		sum, w := whatIfOf(t, data, WhatIfOptions{})
		n := min(len(sum.Groups), 4)
		for a := 1; a <= n; a++ {
			for b := a + 1; b <= n; b++ {
				_, pair := whatIfOf(t, data, WhatIfOptions{Groups: []int{a, b}})
				pa, pb := w.Groups[a-1], w.Groups[b-1]
				if pair.All.Speedup < max(pa.Speedup, pb.Speedup)-1e-9 {
					t.Errorf("%s: removing #%d and #%d predicts %.4fx, #%d alone %.4fx, #%d alone %.4fx",
						name, a, b, pair.All.Speedup, a, pa.Speedup, b, pb.Speedup)
				}
				if pair.All.Wall > min(pa.Wall, pb.Wall) {
					t.Errorf("%s: removing #%d and #%d predicts wall %v, alone %v and %v", name, a, b, pair.All.Wall, pa.Wall, pb.Wall)
				}
			}
		}
	}
}

// handLog writes a full-level log of the given events, recorded on procs
// processors; site 1 and 2 are two distinct stacks, and each event's other
// site is its own.
func handLog(t *testing.T, procs int, evs []lf.Event) []byte {
	t.Helper()
	for i := range evs {
		evs[i].OtherSite = evs[i].Site
	}
	return encode(t, &logtest.Source{Events: evs, Meta: lf.Meta{Level: lf.LevelFull, GOMAXPROCS: procs, NumCPU: procs}})
}

// encode is src as a native log, with site 1 and 2 as two stacks.
func encode(t *testing.T, src *logtest.Source) []byte {
	t.Helper()
	src.Stacks = map[lf.StackID]*lf.Stack{
		1: logtest.Stack(logtest.Frame("main.a", "/src/a.go", 1)),
		2: logtest.Stack(logtest.Frame("main.b", "/src/b.go", 2)),
	}
	var buf bytes.Buffer
	if err := src.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const us = int64(time.Microsecond)

func wiEv(th uint32, t int64, k lf.Kind) lf.Event { return lf.Event{Thread: th, Time: t * us, Kind: k} }

func wiConflict(th uint32, t int64, kind lf.ConflictKind, site lf.StackID, other uint32) lf.Event {
	e := wiEv(th, t, lf.KindConflict)
	e.Conflict, e.Site, e.OtherThread, e.Var = kind, site, other, 1
	if kind == lf.ConflictInevitable {
		e.Var = 0
	}
	return e
}

func wiAbort(th uint32, t int64) lf.Event {
	e := wiEv(th, t, lf.KindTxAbort)
	e.Cause = lf.AbortConflict
	return e
}

func wiWait(th uint32, t int64, k lf.Kind) lf.Event {
	e := wiEv(th, t, k)
	e.Reason = lf.WaitInevitable
	return e
}

// Two threads on two processors, known answers. Thread 2 is aborted once
// by a write-write conflict (group B), then commits an inevitable
// transaction; thread 1 waits for that transaction (group A) and then
// runs 5µs. Removing B lets thread 2 commit 10µs earlier, and thread 1's
// pause, which waited for that commit, ends 10µs earlier with it.
func TestWhatIfHandBuilt(t *testing.T) {
	data := handLog(t, 2, []lf.Event{
		wiEv(2, 0, lf.KindTxStart),
		wiConflict(2, 5, lf.ConflictWriteWrite, 2, 1),
		wiAbort(2, 10),
		wiEv(2, 10, lf.KindTxStart),
		{Thread: 2, Time: 10 * us, Kind: lf.KindBecomeInevitable, Site: 1},
		wiEv(2, 30, lf.KindTxCommit),

		wiEv(1, 0, lf.KindTxStart),
		wiConflict(1, 12, lf.ConflictInevitable, 1, 2),
		wiWait(1, 12, lf.KindWaitStart),
		wiWait(1, 30, lf.KindWaitDone),
		wiEv(1, 35, lf.KindTxCommit),
	})
	sum, w := whatIfOf(t, data, WhatIfOptions{})
	if len(sum.Groups) != 2 {
		t.Fatalf("%d groups, want 2", len(sum.Groups))
	}
	// #1 is the inevitable pause (18µs), #2 the abort (10µs).
	if sum.Groups[0].Kind != lf.ConflictInevitable || sum.Groups[1].Kind != lf.ConflictWriteWrite {
		t.Fatalf("groups %v, %v", sum.Groups[0].Kind, sum.Groups[1].Kind)
	}
	if w.Procs[0].Procs != 2 || w.Procs[0].Assumed {
		t.Errorf("procs %+v, want the recorded 2", w.Procs[0])
	}
	rate := func(spans ...int64) float64 {
		var r float64
		for _, s := range spans {
			r += 1 / float64(s)
		}
		return r
	}
	base := rate(35, 30)
	tests := []struct {
		name    string
		p       Prediction
		speedup float64
		wall    int64
	}{
		// Without the inevitable pause, thread 1 runs 0..12 and 12..17.
		{"inevitable", w.Groups[0], rate(17, 30) / base, 30},
		// Without the abort, thread 2 commits at 20, thread 1 resumes at
		// 20 and commits at 25.
		{"write-write", w.Groups[1], rate(25, 20) / base, 25},
		// Both: thread 1 at 17, thread 2 at 20.
		{"all", w.All, rate(17, 20) / base, 20},
	}
	for _, tt := range tests {
		if math.Abs(tt.p.Speedup-tt.speedup) > 1e-9 || tt.p.Wall != time.Duration(tt.wall*us) {
			t.Errorf("%s: speedup %.6f wall %v, want %.6f and %v", tt.name, tt.p.Speedup, tt.p.Wall, tt.speedup, time.Duration(tt.wall*us))
		}
		// two threads on two processors share none: the bound, the
		// replay on unlimited processors, is the replay
		if math.Abs(tt.p.BoundSpeedup-tt.p.Speedup) > 1e-9 {
			t.Errorf("%s: bound %.6f, want the replay's %.6f", tt.name, tt.p.BoundSpeedup, tt.p.Speedup)
		}
	}
}

// A conflict that cost nothing (met, then the attempt committed without
// pausing) predicts no gain; so does asking for it alongside nothing else.
func TestWhatIfGroupThatLostNothing(t *testing.T) {
	data := handLog(t, 2, []lf.Event{
		wiEv(1, 0, lf.KindTxStart),
		wiConflict(1, 3, lf.ConflictWriteRead, 1, 2),
		wiEv(1, 10, lf.KindTxCommit),
		wiEv(1, 10, lf.KindTxStart),
		wiConflict(1, 12, lf.ConflictWriteWrite, 2, 2),
		wiAbort(1, 15),
		wiEv(1, 15, lf.KindTxStart),
		wiEv(1, 25, lf.KindTxCommit),
		wiEv(2, 0, lf.KindTxStart),
		wiEv(2, 20, lf.KindTxCommit),
	})
	sum, w := whatIfOf(t, data, WhatIfOptions{})
	var found bool
	for i, g := range sum.Groups {
		if g.Lost != 0 {
			continue
		}
		found = true
		p := w.Groups[i]
		if p.Speedup != 1 || p.BoundSpeedup != 1 || p.Wall != w.ReplayWall {
			t.Errorf("group #%d lost nothing: speedup %v, bound %v, wall %v (replay %v)", i+1, p.Speedup, p.BoundSpeedup, p.Wall, w.ReplayWall)
		}
	}
	if !found {
		t.Fatal("no group that lost nothing")
	}
	if w.Groups[0].Speedup <= 1 {
		t.Errorf("the abort's group predicts %v, want a gain", w.Groups[0].Speedup)
	}
}

// sharingEvents are two threads that shared one processor, so each ran at
// half speed while both ran: thread 1 aborts once.
func sharingEvents() []lf.Event {
	return []lf.Event{
		wiEv(1, 0, lf.KindTxStart),
		wiConflict(1, 5, lf.ConflictWriteWrite, 1, 2),
		wiAbort(1, 20), // 10µs of work at half speed
		wiEv(1, 20, lf.KindTxStart),
		wiEv(1, 40, lf.KindTxCommit), // 10µs of work at half speed
		wiEv(2, 0, lf.KindTxStart),
		wiEv(2, 60, lf.KindTxCommit), // 20µs at half speed, then 20µs alone
	}
}

// More threads than processors: the recording shared 1 processor between
// two threads, so each ran at half speed; without the abort, thread 1's
// 10µs of work are gone and thread 2 gets the processor to itself sooner.
func TestWhatIfProcessorSharing(t *testing.T) {
	_, w := whatIfOf(t, handLog(t, 1, sharingEvents()), WhatIfOptions{})
	if w.ReplayWall != 60*time.Microsecond {
		t.Fatalf("replay wall %v, want 60µs", w.ReplayWall)
	}
	// Without the abort: both share 0..20 (thread 1's 10µs done at 20),
	// thread 2 has 30µs left alone: ends at 50.
	p := w.Groups[0]
	want := (1.0/20 + 1.0/50) / (1.0/40 + 1.0/60)
	if math.Abs(p.Speedup-want) > 1e-9 || p.Wall != 50*time.Microsecond {
		t.Errorf("speedup %.6f wall %v, want %.6f and 50µs", p.Speedup, p.Wall, want)
	}
	// The bound: on unlimited processors thread 1 would do its 10µs by
	// 10 and thread 2 its 40µs by 40, which no replay on fewer beats.
	if bound := (1.0/10 + 1.0/40) / (1.0/40 + 1.0/60); math.Abs(p.BoundSpeedup-bound) > 1e-9 {
		t.Errorf("bound %.6f, want %.6f", p.BoundSpeedup, bound)
	}
}

// A profile-level log gets the bound and the reason, no replay.
func TestWhatIfProfileLevel(t *testing.T) {
	data := encode(t, &logtest.Source{
		Meta: lf.Meta{Level: lf.LevelProfile, GOMAXPROCS: 2, NumCPU: 2},
		Events: []lf.Event{
			wiEv(1, 100, lf.KindTxStart),
			{Thread: 1, Time: 105 * us, Kind: lf.KindConflict, Conflict: lf.ConflictWriteWrite, Site: 1, OtherSite: 1, OtherThread: 2, Var: 1},
			wiAbort(1, 110),
			wiEv(1, 110, lf.KindTxStart),
			wiEv(1, 120, lf.KindTxCommit),
		},
		Aggregates: []lf.Aggregate{{Thread: 1, Start: 0, End: 100 * us, Commits: 10, Timed: 10, TimedNs: 90 * us}},
	})
	_, wi := whatIfOf(t, data, WhatIfOptions{})
	if wi.Replayed || wi.Reason == "" {
		t.Fatalf("replayed %v, reason %q", wi.Replayed, wi.Reason)
	}
	p := wi.Groups[0]
	// 11 commits over 120µs; without the 10µs abort, at most over 110µs.
	if p.Speedup != 0 || math.Abs(p.BoundSpeedup-120.0/110) > 1e-9 {
		t.Errorf("speedup %v bound %.6f, want 0 and %.6f", p.Speedup, p.BoundSpeedup, 120.0/110)
	}
}

// Group ranks out of range are an error.
func TestWhatIfBadGroup(t *testing.T) {
	_, w := whatIfOf(t, generated(t, analyzetest.Config{Seed: 1}), WhatIfOptions{})
	r, _ := lf.NewReader(bytes.NewReader(generated(t, analyzetest.Config{Seed: 1})), lf.ReaderOptions{})
	a := New(Options{})
	s := NewSchedule(Options{})
	if err := a.Add(s.Tee("log", r)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WhatIf(a.Summary(), WhatIfOptions{Groups: []int{len(w.Groups) + 1}}); err == nil {
		t.Error("no error for a rank past the last group")
	}
}

// A waker stamps its event after waking the waiter (commit-lock waits end
// when the holder unlocks, and its commit event comes after). Here each
// thread's pause is followed, within the slack, by the other's commit;
// tying each pause to that later commit made the two wait for each
// other's future, and the unchanged replay took 60µs instead of 45µs.
func TestWhatIfWakeStampedAfter(t *testing.T) {
	cl := func(th uint32, t int64, k lf.Kind) lf.Event {
		e := wiEv(th, t, k)
		e.Reason = lf.WaitCommitLock
		return e
	}
	data := handLog(t, 2, []lf.Event{
		wiEv(2, 0, lf.KindTxStart),
		wiConflict(2, 10, lf.ConflictWriteRead, 1, 1),
		cl(2, 10, lf.KindWaitStart),
		cl(2, 20, lf.KindWaitDone),
		wiEv(2, 40, lf.KindTxCommit),

		wiEv(1, 0, lf.KindTxStart),
		wiConflict(1, 30, lf.ConflictWriteRead, 2, 2),
		cl(1, 30, lf.KindWaitStart),
		cl(1, 35, lf.KindWaitDone),
		wiEv(1, 45, lf.KindTxCommit),
	})
	sum, w := whatIfOf(t, data, WhatIfOptions{})
	if sum.Wall != 45*time.Microsecond || w.ReplayWall != sum.Wall {
		t.Fatalf("recorded wall %v, unchanged replay %v, want both 45µs", sum.Wall, w.ReplayWall)
	}
}

// Procs replays on other processors than the recording's: the log of
// TestWhatIfProcessorSharing (two threads sharing one processor) replayed
// on two, where each thread runs at full speed.
func TestWhatIfProcs(t *testing.T) {
	_, w := whatIfOf(t, handLog(t, 1, sharingEvents()), WhatIfOptions{Procs: 2})
	if p := w.Procs[0]; p.Procs != 2 || p.Recorded != 1 || p.Assumed {
		t.Fatalf("procs %+v, want 2 replayed, 1 recorded", p)
	}
	// Thread 1's 10µs + 10µs of work end at 20, thread 2's 40µs at 40.
	if w.ReplayWall != 40*time.Microsecond {
		t.Fatalf("replay wall %v on 2 processors, want 40µs", w.ReplayWall)
	}
	// Without the abort thread 1 ends at 10; the ratio is to the replay
	// on two processors, not to the recording.
	p := w.Groups[0]
	want := (1.0/10 + 1.0/40) / (1.0/20 + 1.0/40)
	if math.Abs(p.Speedup-want) > 1e-9 || p.Wall != 40*time.Microsecond {
		t.Errorf("speedup %.6f wall %v, want %.6f and 40µs", p.Speedup, p.Wall, want)
	}
	if p.BoundSpeedup < p.Speedup-1e-9 {
		t.Errorf("bound %.6f below the replay %.6f", p.BoundSpeedup, p.Speedup)
	}
}

// A log whose processor-usage record says the recording had fewer
// processors than its GOMAXPROCS (other processes used the rest) is
// measured and replayed on those: the log of TestWhatIfProcs, recorded
// with GOMAXPROCS 2 but on one processor, replays like it does recorded
// on one. --procs still replays on what it says, with the work measured
// on the one processor the recording had.
func TestWhatIfMeasuredProcs(t *testing.T) {
	withUsage := func(u lf.Usage) []byte {
		src := &logtest.Source{Events: sharingEvents(), Meta: lf.Meta{Level: lf.LevelFull, GOMAXPROCS: 2, NumCPU: 2, Usage: u}}
		for i := range src.Events {
			src.Events[i].OtherSite = src.Events[i].Site
		}
		return encode(t, src)
	}
	// 60 µs of recording: 60 µs of CPU time, no idle time on 2 processors.
	busy := withUsage(lf.Usage{Time: 60 * us, ProcessCPU: 60 * us, Idle: 0, CPUs: 2})
	_, one := whatIfOf(t, handLog(t, 1, sharingEvents()), WhatIfOptions{})
	_, w := whatIfOf(t, busy, WhatIfOptions{})
	if p := w.Procs[0]; p.Procs != 1 || p.Recorded != 2 || !p.Measured || p.Available != 1 {
		t.Fatalf("procs %+v, want 1 measured of GOMAXPROCS 2", p)
	}
	if w.ReplayWall != one.ReplayWall || w.Groups[0].Speedup != one.Groups[0].Speedup {
		t.Errorf("replay wall %v, speedup %.4f; recorded on one processor: %v, %.4f",
			w.ReplayWall, w.Groups[0].Speedup, one.ReplayWall, one.Groups[0].Speedup)
	}
	// --procs 2: each thread's work as measured on one processor, at full
	// speed: thread 1's 10 µs and 10 µs, thread 2's 40 µs (as in
	// TestWhatIfProcs).
	_, w2 := whatIfOf(t, busy, WhatIfOptions{Procs: 2})
	if p := w2.Procs[0]; p.Procs != 2 || p.Measured || p.Available != 1 {
		t.Fatalf("--procs 2: procs %+v, want 2, not measured, 1 available", p)
	}
	if w2.ReplayWall != 40*time.Microsecond {
		t.Errorf("--procs 2: replay wall %v, want 40µs", w2.ReplayWall)
	}
	// Idle time: the recording could have had both processors, and is
	// replayed on its GOMAXPROCS.
	idle := withUsage(lf.Usage{Time: 60 * us, ProcessCPU: 60 * us, Idle: 60 * us, CPUs: 2})
	_, wi := whatIfOf(t, idle, WhatIfOptions{})
	if p := wi.Procs[0]; p.Procs != 2 || p.Measured || p.Available != 2 {
		t.Errorf("with idle time: procs %+v, want GOMAXPROCS 2, 2 available", p)
	}
}

// The bound holds on other processors than the recording's too: there,
// the unchanged replay's processor sharing is not the recording's, and
// the bound must count what sharing took in the replay.
func TestWhatIfBoundOtherProcs(t *testing.T) {
	for name, data := range testLogs(t) {
		for _, procs := range []int{1, 3} {
			_, w := whatIfOf(t, data, WhatIfOptions{Procs: procs})
			for _, p := range append(w.Groups, w.All) {
				if p.BoundSpeedup < p.Speedup-1e-9 {
					t.Errorf("%s on %d processors, #%d: speedup %.4f above its bound %.4f", name, procs, p.Rank, p.Speedup, p.BoundSpeedup)
				}
			}
		}
	}
}

// A replay far from the clock's zero ends: at tens of seconds a float64
// clock moves in steps of microseconds' millionths, and a run's remaining
// work can be too small to move it (the replay used to wait for it
// forever).
func TestWhatIfLateClock(t *testing.T) {
	data := generated(t, analyzetest.Config{Seed: 5, Threads: 8, Tx: 400, Start: 40e9})
	done := make(chan *WhatIf)
	go func() {
		_, w := whatIfOf(t, data, WhatIfOptions{Procs: 1, Top: 1})
		done <- w
	}()
	select {
	case w := <-done:
		if !w.Replayed || w.ReplayWall <= 0 {
			t.Errorf("replayed %v, wall %v", w.Replayed, w.ReplayWall)
		}
	case <-time.After(time.Minute):
		t.Fatal("the replay on one processor of a log 40 s from its start did not end in a minute")
	}
}
