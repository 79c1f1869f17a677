package analyze

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	lf "github.com/stmlog/stmlog/logformat"
	lt "github.com/stmlog/stmlog/logformat/logtest"
)

// batchSource is a logtest.Source that also hands out its events in
// batches of random sizes (logformat.BatchSource), so the analyzer takes
// its batch path.
type batchSource struct {
	*lt.Source
	r *rand.Rand
}

func (b batchSource) NextBatch() ([]lf.Event, error) { return b.NextN(1 + b.r.IntN(50)) }

// The batch path (batch) computes what the event-at-a-time path computes,
// on random streams of every kind (bad threads, invalid kinds, times going
// back) under every option.
func TestBatchSameAsEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	stacks := map[lf.StackID]*lf.Stack{1: stack("f", 1), 2: stack("g", 2), 3: stack("h", 3)}
	for iter := range 400 {
		evs := randomStream(r, r.IntN(600), true)
		opt := randomOptions(r, iter)
		format := randomStats(iter)
		one := New(opt)
		if err := one.Add(&lt.Source{Events: evs, Stacks: stacks, Stat: format}); err != nil {
			t.Fatal(err)
		}
		batched := New(opt)
		src := batchSource{&lt.Source{Events: evs, Stacks: stacks, Stat: format}, rand.New(rand.NewPCG(uint64(iter), 1))}
		if err := batched.Add(src); err != nil {
			t.Fatal(err)
		}
		if got, want := batched.Summary(), one.Summary(); !reflect.DeepEqual(got, want) {
			t.Fatalf("iter %d: batched\n%+v\nwant\n%+v", iter, got, want)
		}
	}
}

// Reading a generated log event by event, a batch at a time and in
// parallel (ReaderOptions.Jobs) gives the same analysis.
func TestReaderPathsSameSummary(t *testing.T) {
	var buf bytes.Buffer
	if _, err := analyzetest.Generate(&buf, analyzetest.Config{Threads: 5, Tx: 3000, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{}, {By: ByThread}, {From: 100 * time.Microsecond, To: 3 * time.Millisecond}, {Thread: 2}} {
		var want *Summary
		for _, jobs := range []int{0, 1, 2, 4} {
			r, err := lf.NewReader(bytes.NewReader(buf.Bytes()), lf.ReaderOptions{Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			var src lf.Source = r
			if jobs == 0 {
				src = struct { // Next only (and Meta, which the summary reports)
					lf.Source
					MetaSource
				}{r, r}
			}
			a := New(opt)
			if err := a.Add(src); err != nil {
				t.Fatal(err)
			}
			s := a.Summary()
			if want == nil {
				want = s
			} else if !reflect.DeepEqual(s, want) {
				t.Fatalf("%+v, jobs %d: summary differs from the one read event by event", opt, jobs)
			}
		}
	}
}

// hideTee hands out a tee's batches without being the tee, so that the
// Analyzer reading it does not recognise the tee (the tee then does the
// schedule's steps itself, in its NextBatch).
type hideTee struct {
	lf.Source
	bs lf.BatchSource
}

func (h hideTee) NextBatch() ([]lf.Event, error) { return h.bs.NextBatch() }
func (h hideTee) Aggregate() lf.Aggregate {
	return h.Source.(lf.AggregateSource).Aggregate()
}
func (h hideTee) Meta() lf.Meta { return h.Source.(MetaSource).Meta() }

// An Analyzer reading a Schedule's tee directly takes the schedule's steps
// past its Limit in its own loop (addEvents): the same Summary and WhatIf
// as the tee doing them, and as the event-at-a-time path, on random
// streams under every option and Limit, and on encoded logs with
// aggregate records (read by a Reader, with batches, in parallel too).
func TestTeeFoldedSame(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	stacks := map[lf.StackID]*lf.Stack{1: stack("f", 1), 2: stack("g", 2), 3: stack("h", 3)}
	type input struct {
		name string
		src  func(variant int) lf.Source
	}
	var inputs []input
	for iter := range 300 {
		evs := randomStream(r, r.IntN(600), true)
		format := randomStats(iter)
		inputs = append(inputs, input{"random", func(variant int) lf.Source {
			src := &lt.Source{Events: evs, Stacks: stacks, Stat: format}
			if variant == 2 {
				return src // Next only
			}
			return batchSource{src, rand.New(rand.NewPCG(uint64(iter), 2))}
		}})
	}
	for iter := range 20 {
		var aggs []lf.Aggregate
		for i := range 1 + r.IntN(3) {
			s := int64(r.IntN(5000))
			aggs = append(aggs, lf.Aggregate{Thread: uint32(1 + r.IntN(4)), Start: s, End: s + int64(r.IntN(3000)),
				Commits: uint64(1 + i), Sampled: 1, SampledNs: 100})
		}
		src := &lt.Source{Events: randomStream(r, 50+r.IntN(900), true), Stacks: stacks, Aggregates: aggs,
			Meta: lf.Meta{Level: lf.LevelProfile}}
		for i := range src.Events {
			ev := &src.Events[i]
			if i > 0 {
				ev.Time = max(ev.Time, src.Events[i-1].Time) // the writer wants them in order
			}
			ev.Time = max(ev.Time, 0)
			ev.Kind = max(min(ev.Kind, lf.KindGCMajorDone), lf.KindTxStart)
			ev.Thread = max(ev.Thread, 1)
			ev.Conflict = 1 + ev.Conflict%3
			ev.Cause %= 6
			ev.Reason %= 8
		}
		var buf bytes.Buffer
		if err := src.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		inputs = append(inputs, input{"encoded", func(variant int) lf.Source {
			rd, err := lf.NewReader(bytes.NewReader(data), lf.ReaderOptions{Jobs: 1 + iter%2})
			if err != nil {
				t.Fatal(err)
			}
			if variant == 2 {
				return eventsOnly{rd}
			}
			return rd
		}})
	}
	for i, in := range inputs {
		opt := randomOptions(r, i)
		limit := []int{1, 3, 20, 0}[i%4]
		var sums [3]*Summary
		var ws [3]*WhatIf
		for v := range 3 {
			sums[v], ws[v] = teeWhatIf(t, opt, limit, in.src(v), v == 1)
		}
		for v := 1; v < 3; v++ {
			if !reflect.DeepEqual(sums[0], sums[v]) {
				t.Fatalf("%s %d, Limit %d: summary folded\n%+v\nvariant %d\n%+v", in.name, i, limit, sums[0], v, sums[v])
			}
			if !reflect.DeepEqual(ws[0], ws[v]) {
				t.Fatalf("%s %d, Limit %d: what-if folded\n%+v\nvariant %d\n%+v", in.name, i, limit, ws[0], v, ws[v])
			}
		}
	}
}

// Past the Limit, the loop keeps the schedule's state of a thread in the
// Analyzer's while the thread's events are of the kinds whose steps keep
// them alike (sharedState): the same Summary and WhatIf as the tee doing
// the schedule's steps, on encoded logs of those kinds with the odd other
// one (detach, GC), orphan ends, aborts of every cause and waits inside
// and outside attempts.
func TestTeeSharedSame(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	stacks := map[lf.StackID]*lf.Stack{1: stack("f", 1), 2: stack("g", 2), 3: stack("h", 3)}
	for iter := range 300 {
		evs := make([]lf.Event, 100+r.IntN(900))
		tm, th := int64(0), uint32(1)
		for i := range evs {
			tm += int64(r.IntN(50))
			if r.IntN(30) == 0 {
				th = uint32(1 + r.IntN(3))
			}
			kind := lf.KindTxStart + lf.Kind(r.IntN(7))
			if r.IntN(60) == 0 {
				kind = lf.KindDetach + lf.Kind(r.IntN(6))
			}
			evs[i] = lf.Event{Time: tm, Kind: kind, Thread: th,
				Conflict: lf.ConflictKind(1 + r.IntN(3)), Cause: lf.AbortCause(r.IntN(6)),
				Reason: lf.WaitReason(r.IntN(8)), OtherThread: uint32(r.IntN(4)), Var: uint64(r.IntN(3)),
				Site: lf.StackID(r.IntN(4)), OtherSite: lf.StackID(r.IntN(4))}
		}
		var flush []int // chunks of a few events: many runs, each shared anew
		for i := 1 + r.IntN(20); i < len(evs); i += 1 + r.IntN(20) {
			flush = append(flush, i)
		}
		var buf bytes.Buffer
		if err := (&lt.Source{Events: evs, Stacks: stacks, FlushAt: flush}).Encode(&buf); err != nil {
			t.Fatal(err)
		}
		var opt Options
		if iter%3 == 1 {
			opt.Kind = lf.ConflictKind(1 + r.IntN(3))
		}
		opt.By = GroupBy(iter % int(numGroupBy))
		var sums [2]*Summary
		var ws [2]*WhatIf
		for v := range 2 {
			rd, err := lf.NewReader(bytes.NewReader(buf.Bytes()), lf.ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sums[v], ws[v] = teeWhatIf(t, opt, 1+iter%7, rd, v == 1)
		}
		if !reflect.DeepEqual(sums[0], sums[1]) {
			t.Fatalf("iter %d: summary folded\n%+v\nby the tee\n%+v", iter, sums[0], sums[1])
		}
		if !reflect.DeepEqual(ws[0], ws[1]) {
			t.Fatalf("iter %d: what-if folded\n%+v\nby the tee\n%+v", iter, ws[0], ws[1])
		}
	}
}

// teeWhatIf analyzes src through a schedule's tee of limit segments and
// predicts; hide keeps the Analyzer from reading the tee directly (the
// schedule then takes its own steps).
func teeWhatIf(t *testing.T, opt Options, limit int, src lf.Source, hide bool) (*Summary, *WhatIf) {
	t.Helper()
	a, s := New(opt), NewSchedule(opt)
	s.Limit = limit
	src = s.Tee("log", src)
	if hide {
		tb := src.(*teeBatches)
		src = hideTee{tb, tb}
	}
	if err := a.Add(src); err != nil {
		t.Fatal(err)
	}
	sum := a.Summary()
	w, err := s.WhatIf(sum, WhatIfOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sum, w
}
