package analyze

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	lf "github.com/stmlog/stmlog/logformat"
	lt "github.com/stmlog/stmlog/logformat/logtest"
)

// A profile-level log: commits counted in aggregate records go into the
// totals and the thread rows, their time is estimated from the sample and
// marked as an estimate; a log whose aggregates are all timed is exact.
func TestAggregatesInTotals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		agg       lf.Aggregate
		committed time.Duration
		estimated bool
	}{
		// 10 commits: 4 sampled (100 ns each), 6 untimed -> 1000 ns, plus the logged one (100 ns).
		{"sampled", lf.Aggregate{Thread: 1, Start: 0, End: 2000, Commits: 10, Sampled: 4, SampledNs: 400, SampledSq: 40000}, 1100, true},
		{"all timed", lf.Aggregate{Thread: 1, Start: 0, End: 2000, Commits: 10, Timed: 10, TimedNs: 700}, 800, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := lf.NewWriterMeta(&buf, lf.Meta{Level: lf.LevelProfile})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range []lf.Event{lt.Start(1000, 1), lt.Commit(1100, 1)} {
				w.Write(&ev)
			}
			if err := w.Aggregate(tc.agg); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := lf.NewReader(bytes.NewReader(buf.Bytes()), lf.ReaderOptions{Name: "p.log"})
			if err != nil {
				t.Fatal(err)
			}
			a := New(Options{})
			if err := a.AddNamed("p.log", r); err != nil {
				t.Fatal(err)
			}
			s := a.Summary()
			if s.Commits != 11 || s.Committed != tc.committed || s.Estimated != tc.estimated || s.Wall != 2000 {
				t.Fatalf("commits %d, committed %v, estimated %v, wall %v; want 11, %v, %v, 2µs",
					s.Commits, s.Committed, s.Estimated, s.Wall, tc.committed, tc.estimated)
			}
			if tc.estimated && s.CommittedErr != 0 {
				t.Fatalf("no variance in the sample, yet an error of %v", s.CommittedErr)
			}
			if len(s.Threads) != 1 || s.Threads[0].Commits != 11 || s.Threads[0].Committed != tc.committed || s.Threads[0].Estimated != tc.estimated {
				t.Fatalf("threads %+v", s.Threads)
			}
		})
	}
}

// An aggregate record's Retry waits count as the events a full-level log
// holds for them: the same totals, causes, reasons and thread row as
// start, abort (retry), pause (retry), start, commit.
func TestAggregatedRetryWaits(t *testing.T) {
	summary := func(evs []lf.Event, agg *lf.Aggregate) *Summary {
		t.Helper()
		var buf bytes.Buffer
		w, err := lf.NewWriterMeta(&buf, lf.Meta{Level: lf.LevelProfile})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			w.Write(&ev)
		}
		if agg != nil {
			if err := w.Aggregate(*agg); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := lf.NewReader(bytes.NewReader(buf.Bytes()), lf.ReaderOptions{Name: "p.log"})
		if err != nil {
			t.Fatal(err)
		}
		a := New(Options{})
		if err := a.AddNamed("p.log", r); err != nil {
			t.Fatal(err)
		}
		return a.Summary()
	}
	// Two calls each way: one that waited once, one that waited twice.
	full := summary([]lf.Event{
		lt.Start(0, 1), lt.Abort(100, 1, lf.AbortRetry), lt.Wait(100, 1, lf.WaitRetry), lt.WaitDone(600, 1),
		lt.Start(600, 1), lt.Commit(700, 1),
		lt.Start(1000, 1), lt.Abort(1050, 1, lf.AbortRetry), lt.Wait(1050, 1, lf.WaitRetry), lt.WaitDone(1250, 1),
		lt.Start(1250, 1), lt.Abort(1280, 1, lf.AbortRetry), lt.Wait(1280, 1, lf.WaitRetry), lt.WaitDone(2000, 1),
		lt.Start(2000, 1), lt.Commit(2100, 1),
	}, nil)
	prof := summary(nil, &lf.Aggregate{Thread: 1, Start: 0, End: 2100, Commits: 2, Timed: 2, TimedNs: 200,
		RetryWaits: 3, RetryPausedNs: 500 + 200 + 720, RetryAbortedNs: 100 + 50 + 30})
	if prof.Commits != full.Commits || prof.Committed != full.Committed || prof.Aborts != full.Aborts ||
		prof.Aborted != full.Aborted || prof.Paused != full.Paused ||
		prof.UnattributedAborted != full.UnattributedAborted || prof.UnattributedPaused != full.UnattributedPaused {
		t.Errorf("aggregated: %+v\nevents: %+v", *prof, *full)
	}
	if fmt.Sprint(prof.AbortCauses, prof.PauseReasons) != fmt.Sprint(full.AbortCauses, full.PauseReasons) {
		t.Errorf("causes and reasons: aggregated %v %v, events %v %v", prof.AbortCauses, prof.PauseReasons, full.AbortCauses, full.PauseReasons)
	}
	if len(prof.Threads) != 1 || len(full.Threads) != 1 || prof.Threads[0] != full.Threads[0] {
		t.Errorf("thread rows: aggregated %+v, events %+v", prof.Threads, full.Threads)
	}
	if full.Aborts != 3 || full.Paused != 1420 || full.Aborted != 180 {
		t.Fatalf("the events' own summary: %d aborts, %v paused, %v aborted", full.Aborts, full.Paused, full.Aborted)
	}
}
