package analyze

import (
	"bytes"
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
