package logformat

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A version-1 log (the golden log as version 1 wrote it) reads as it did:
// the same events, tables and stats, and Meta says version 1, level
// unknown.
func TestReadsVersion1(t *testing.T) {
	old, err := os.ReadFile(filepath.Join(goldenDir, "small-v1.stmlog"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, "small.events.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(old), ReaderOptions{Name: "small-v1.stmlog"})
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Meta(); m != (Meta{Version: 1}) {
		t.Fatalf("version-1 log: Meta %+v, want version 1 and nothing else", m)
	}
	got, err := dumpText(r)
	if err != nil {
		t.Fatal(err)
	}
	got = strings.Replace(got, "format=stmlog/1", "format=stmlog/2", 1)
	if got != string(want) {
		t.Errorf("version-1 log reads differently from its version-2 twin:\n%s\nwant\n%s", got, want)
	}
}

// Meta and aggregate records go through a write and a read unchanged, and
// an aggregates chunk is refused in a version-1 log.
func TestMetaAndAggregatesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	meta := Meta{Level: LevelProfile, GOMAXPROCS: 3, NumCPU: 5}
	w, err := NewWriterMeta(&buf, meta)
	if err != nil {
		t.Fatal(err)
	}
	aggs := []Aggregate{
		{Thread: 1, Start: -5, End: 1000, Commits: 10, Timed: 2, TimedNs: 300, Sampled: 3, SampledNs: 450, SampledSq: 70000, Estimated: 1},
		{Thread: 2, Start: 0, End: 0},
		{Thread: 1 << 31, Start: 1 << 40, End: 1<<40 + 7, Commits: math.MaxUint64, Sampled: math.MaxUint64},
		// Retry waits: in a type-129 chunk, read after the others.
		{Thread: 3, Start: 1, End: 9, Commits: 4, Timed: 4, TimedNs: 40, Estimated: 1, RetryWaits: 5, RetryPausedNs: 1 << 62, RetryAbortedNs: 77},
	}
	w.Write(&Event{Time: 10, Kind: KindTxStart, Thread: 1})
	for _, a := range aggs {
		if err := w.Aggregate(a); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []Aggregate{{}, {Thread: 1, Start: 5, End: 4}, {Thread: 1, Commits: 1, Timed: 1, Sampled: 1}, {Thread: 1, SampledSq: math.NaN()}, {Thread: 1, RetryPausedNs: -1}} {
		if err := w.Aggregate(bad); err == nil {
			t.Errorf("Aggregate(%+v) accepted", bad)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Meta(); m != (Meta{Version: 2, Level: LevelProfile, GOMAXPROCS: 3, NumCPU: 5}) {
		t.Fatalf("Meta %+v before the first event", m)
	}
	var got []Aggregate
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind == KindAggregate {
			a := r.Aggregate()
			if ev.Thread != a.Thread || ev.Time != a.End {
				t.Fatalf("aggregate event %+v for record %+v", ev, a)
			}
			got = append(got, a)
		} else if r.Aggregate() != (Aggregate{}) {
			t.Fatalf("Aggregate() after a %v event", ev.Kind)
		}
	}
	if len(got) != len(aggs) {
		t.Fatalf("%d records read, want %d", len(got), len(aggs))
	}
	for i := range aggs {
		if got[i] != aggs[i] {
			t.Errorf("record %d: %+v, want %+v", i, got[i], aggs[i])
		}
	}
	var types []byte
	for _, c := range chunksOf(t, buf.Bytes()) {
		if c.typ >= chunkCritical {
			types = append(types, c.typ)
		}
	}
	if !bytes.Equal(types, []byte{chunkAggregates, chunkAggregatesWaits}) {
		t.Errorf("critical chunks %v, want one of type 128 and one of 129", types)
	}
	// The same bytes with a version-1 header: the aggregates chunk is damage.
	v1 := bytes.Clone(buf.Bytes())
	v1[len(Magic)] = 1
	_, _, err = readAll(v1, ReaderOptions{Name: "v1.stmlog"})
	if ce := asCorrupt(err); ce == nil || !strings.Contains(ce.Err.Error(), "not part of format version 1") {
		t.Fatalf("aggregates in a version-1 log: %v", err)
	}
}

// CommittedNs: exact when every commit was timed; the sample mean and its
// standard error otherwise.
func TestAggregateCommittedNs(t *testing.T) {
	a := Aggregate{Commits: 4, Timed: 4, TimedNs: 400}
	if est, se := a.CommittedNs(0); est != 400 || se != 0 {
		t.Fatalf("all timed: %d ± %g, want 400 ± 0", est, se)
	}
	// 2 timed (200 ns), 4 sampled of durations 10, 20, 30, 40, 4 untimed.
	a = Aggregate{Commits: 10, Timed: 2, TimedNs: 200, Sampled: 4, SampledNs: 100, SampledSq: 100 + 400 + 900 + 1600}
	est, se := a.CommittedNs(0)
	wantSE := 4 * math.Sqrt((3000-4*25*25)/3.0/4)
	if est != 200+100+4*25 || math.Abs(se-wantSE) > 1e-9 {
		t.Fatalf("sampled: %d ± %g, want %d ± %g", est, se, 200+100+4*25, wantSE)
	}
	a = Aggregate{Commits: 3}
	if est, se := a.CommittedNs(50); est != 150 || !math.IsInf(se, 1) {
		t.Fatalf("no sample, pooled mean 50: %d ± %g, want 150 ± Inf", est, se)
	}
	if s := a.Add(Aggregate{Commits: 2, Sampled: 1, SampledNs: 7}); s.Commits != 5 || s.Sampled != 1 || s.SampledNs != 7 {
		t.Fatalf("Add: %+v", s)
	}
}
