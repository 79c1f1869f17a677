package analyze

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	lf "github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
)

// prefixWhatIf is whatIfOf with a schedule of limit segments that replays
// the log's first part past it.
func prefixWhatIf(t *testing.T, data []byte, limit int, opt WhatIfOptions) (*Summary, *WhatIf) {
	t.Helper()
	s := NewSchedule(Options{})
	s.Limit, s.Prefix = limit, true
	return whatIfWith(t, data, s, opt)
}

// handPart is TestWhatIfHandBuilt's two threads, from time at (µs), in
// time order.
func handPart(at int64) []lf.Event {
	evs := []lf.Event{
		wiEv(2, 0, lf.KindTxStart),
		wiEv(1, 0, lf.KindTxStart),
		wiConflict(2, 5, lf.ConflictWriteWrite, 2, 1),
		wiAbort(2, 10),
		wiEv(2, 10, lf.KindTxStart),
		{Thread: 2, Time: 10 * us, Kind: lf.KindBecomeInevitable, Site: 1},
		wiConflict(1, 12, lf.ConflictInevitable, 1, 2),
		wiWait(1, 12, lf.KindWaitStart),
		wiEv(2, 30, lf.KindTxCommit),
		wiWait(1, 30, lf.KindWaitDone),
		wiEv(1, 35, lf.KindTxCommit),
	}
	for i := range evs {
		evs[i].Time += at * us
	}
	return evs
}

// Past its Limit, the replay is of the log's first part: the same
// predictions as for the log cut where the part ends. Here the part's
// six segments fill the Limit, each thread's next event (at 100µs) ends
// the part, and the cut log is the part and those two events.
func TestWhatIfPrefixKnown(t *testing.T) {
	whole := append(handPart(0), handPart(100)...)
	cut := append(handPart(0), wiEv(2, 100, lf.KindTxStart), wiEv(1, 100, lf.KindTxStart))
	for i := range whole {
		whole[i].OtherSite = whole[i].Site
	}
	// the parts in chunks of their own, as a recording flushes them
	data := encode(t, &logtest.Source{Events: whole, FlushAt: []int{len(whole) / 2},
		Meta: lf.Meta{Level: lf.LevelFull, GOMAXPROCS: 2, NumCPU: 2}})
	_, w := prefixWhatIf(t, data, 6, WhatIfOptions{})
	_, want := whatIfOf(t, handLog(t, 2, cut), WhatIfOptions{})
	if !w.Replayed || w.Part != time.Duration(100*us) {
		t.Fatalf("replayed %v (%s), part %v: want the first 100µs", w.Replayed, w.Reason, w.Part)
	}
	if w.ReplayWall != want.ReplayWall || len(w.Groups) != len(want.Groups) {
		t.Fatalf("replay wall %v, %d groups; the cut log's %v, %d", w.ReplayWall, len(w.Groups), want.ReplayWall, len(want.Groups))
	}
	for i, p := range append(w.Groups, w.All) {
		q := append(want.Groups, want.All)[i]
		if p != q {
			t.Errorf("prediction %d: %+v, the cut log's %+v", i, p, q)
		}
	}
	// and removing the write-write abort gains what the cut log says:
	// both threads end at 90µs instead of 100µs
	if g := w.Groups[1]; math.Abs(g.Speedup-100.0/90) > 1e-9 {
		t.Errorf("write-write: %.6fx, want %.6fx", g.Speedup, 100.0/90)
	}
}

// On any log and Limit, the replay of the first part keeps the
// replay's properties: unchanged it takes the part's recorded time, it
// never exceeds its bound, and two groups gain at least either.
func TestWhatIfPrefixProperties(t *testing.T) {
	logs := testLogs(t)
	for name := range logs {
		if strings.HasPrefix(name, "gen-") {
			delete(logs, name) // one chunk per thread: nothing before the first past the Limit
		}
	}
	logs["gen-4-flushed"] = generated(t, analyzetest.Config{Seed: 1, FlushEvery: 10})
	logs["gen-8-flushed"] = generated(t, analyzetest.Config{Seed: 2, Threads: 8, Tx: 50, FlushEvery: 5})
	for name, data := range logs {
		_, whole := whatIfOf(t, data, WhatIfOptions{})
		nseg := segmentsOf(t, data)
		for _, frac := range []float64{0.2, 0.5, 0.9} {
			limit := max(int(frac*float64(nseg)), 1)
			sum, w := prefixWhatIf(t, data, limit, WhatIfOptions{})
			if !w.Replayed {
				t.Errorf("%s, Limit %d of %d: not replayed: %s", name, limit, nseg, w.Reason)
				continue
			}
			t.Logf("%s, Limit %d of %d: the first %v of %v", name, limit, nseg, w.Part, sum.Wall)
			if w.Part <= 0 || w.Part > sum.Wall {
				t.Errorf("%s, Limit %d: part %v of %v", name, limit, w.Part, sum.Wall)
			}
			if d := math.Abs(float64(w.ReplayWall-w.Part)) / float64(w.Part); d > 0.02 {
				t.Errorf("%s, Limit %d: unchanged replay %v, part %v (%.1f%% off)", name, limit, w.ReplayWall, w.Part, 100*d)
			}
			for i, p := range append(w.Groups, w.All) {
				if p.BoundSpeedup < p.Speedup-1e-9 {
					t.Errorf("%s, Limit %d, prediction %d: bound %.4f below the replay %.4f", name, limit, i, p.BoundSpeedup, p.Speedup)
				}
				if p.Lost == 0 && len(w.Groups) > 0 && i < len(w.Groups) && p.Speedup != 1 {
					t.Errorf("%s, Limit %d: group #%d lost nothing in the part but predicts %.4fx", name, limit, p.Rank, p.Speedup)
				}
			}
			if len(w.Groups) > 1 && w.All.Speedup < max(w.Groups[0].Speedup, w.Groups[1].Speedup)-1e-9 {
				t.Errorf("%s, Limit %d: all %.4fx, below #1 %.4fx or #2 %.4fx", name, limit, w.All.Speedup, w.Groups[0].Speedup, w.Groups[1].Speedup)
			}
		}
		// a Limit the log is within replays it whole, as without Prefix
		_, w := prefixWhatIf(t, data, nseg, WhatIfOptions{})
		if w.Part != 0 || w.ReplayWall != whole.ReplayWall {
			t.Errorf("%s: within its Limit, part %v and replay %v, want 0 and %v", name, w.Part, w.ReplayWall, whole.ReplayWall)
		}
	}
}

// segmentsOf is how many segments the schedule of a log has.
func segmentsOf(t *testing.T, data []byte) int {
	t.Helper()
	s := NewSchedule(Options{})
	s.Limit = math.MaxInt
	scheduleOf(t, data, s)
	return s.nseg
}

// windowWhatIf is whatIfOf for the analysis window [from, to).
func windowWhatIf(t *testing.T, data []byte, from, to time.Duration, limit int) (*Summary, *WhatIf) {
	t.Helper()
	s := NewSchedule(Options{From: from, To: to})
	s.Limit, s.Prefix = limit, true
	return whatIfWith(t, data, s, WhatIfOptions{})
}

// A window replays what happens in it: the window from the second part
// on predicts what the second part alone does.
func TestWhatIfWindowKnown(t *testing.T) {
	whole := handLog(t, 2, append(handPart(0), handPart(100)...))
	second := handLog(t, 2, handPart(100))
	sum, w := windowWhatIf(t, whole, 100*time.Microsecond, 0, 0)
	want, wantW := whatIfOf(t, second, WhatIfOptions{})
	if !w.Replayed || w.Part != 0 {
		t.Fatalf("replayed %v (%s), part %v", w.Replayed, w.Reason, w.Part)
	}
	if sum.Wall != want.Wall || w.ReplayWall != wantW.ReplayWall {
		t.Errorf("wall %v, replay %v; the second part alone %v, %v", sum.Wall, w.ReplayWall, want.Wall, wantW.ReplayWall)
	}
	for i, p := range append(w.Groups, w.All) {
		if q := append(wantW.Groups, wantW.All)[i]; p != q {
			t.Errorf("prediction %d: %+v, the second part alone %+v", i, p, q)
		}
	}
}

// On any log, a window's replay keeps the replay's properties, and its
// time removed is the windowed report's lost time, group by group.
func TestWhatIfWindowProperties(t *testing.T) {
	for name, data := range testLogs(t) {
		full, _ := whatIfOf(t, data, WhatIfOptions{})
		for _, win := range [][2]float64{{0.2, 0.7}, {0.5, 0}, {0, 0.3}} {
			from := time.Duration(win[0] * float64(full.End))
			to := time.Duration(win[1] * float64(full.End))
			sum, w := windowWhatIf(t, data, from, to, 0)
			if !w.Replayed {
				t.Errorf("%s, window %v-%v: not replayed: %s", name, from, to, w.Reason)
				continue
			}
			if d := math.Abs(float64(w.ReplayWall-sum.Wall)) / float64(sum.Wall); d > 0.02 {
				t.Errorf("%s, window %v-%v: unchanged replay %v, window's wall %v (%.1f%% off)", name, from, to, w.ReplayWall, sum.Wall, 100*d)
			}
			for i, p := range append(w.Groups, w.All) {
				if p.BoundSpeedup < p.Speedup-1e-9 {
					t.Errorf("%s, window %v-%v, prediction %d: bound %.4f below the replay %.4f", name, from, to, i, p.BoundSpeedup, p.Speedup)
				}
				if i < len(w.Groups) && p.Lost != sum.Groups[p.Rank-1].Lost {
					t.Errorf("%s, window %v-%v, group #%d: removes %v, the report says it lost %v", name, from, to, p.Rank, p.Lost, sum.Groups[p.Rank-1].Lost)
				}
			}
		}
	}
}
