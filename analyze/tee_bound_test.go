package analyze

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	lf "github.com/stmlog/stmlog/logformat"
	lt "github.com/stmlog/stmlog/logformat/logtest"
)

// A BoundFirst schedule counts the segments a schedule would keep exactly
// (NeedsSegments is whether the schedule stays within its Limit), and when
// they are past it gives the same WhatIf as the schedule; the Summary is
// the same either way. Encoded logs of many threads' runs, waits, aborts of
// every cause, out-of-order and equal times, detach and GC events, in small
// chunks, read by a Reader (in parallel too), under every grouping and
// Limits around their segment counts; with aggregate records, and read
// event by event, the count is unknown.
func TestBoundFirstSame(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	stacks := map[lf.StackID]*lf.Stack{1: stack("f", 1), 2: stack("g", 2), 3: stack("h", 3)}
	over, under := 0, 0
	for iter := range 400 {
		evs := make([]lf.Event, 50+r.IntN(600))
		tm, th := int64(0), uint32(1)
		for i := range evs {
			if r.IntN(3) > 0 { // equal times end no segment
				tm += int64(r.IntN(50))
			}
			if r.IntN(20) == 0 {
				th = uint32(1 + r.IntN(4))
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
		var flush []int
		for i := 1 + r.IntN(40); i < len(evs); i += 1 + r.IntN(40) {
			flush = append(flush, i)
		}
		src := &lt.Source{Events: evs, Stacks: stacks, FlushAt: flush}
		aggs := iter%10 == 9
		if aggs {
			src.Aggregates = []lf.Aggregate{{Thread: 2, Start: 10, End: 900, Commits: 3, Sampled: 1, SampledNs: 100}}
			src.Meta = lf.Meta{Level: lf.LevelProfile}
		}
		var buf bytes.Buffer
		if err := src.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		read := func() lf.Source {
			rd, err := lf.NewReader(bytes.NewReader(buf.Bytes()), lf.ReaderOptions{Jobs: 1 + iter%2})
			if err != nil {
				t.Fatal(err)
			}
			if iter%10 == 4 {
				return eventsOnly{rd}
			}
			return rd
		}
		var opt Options
		if iter%3 == 1 {
			opt.Kind = lf.ConflictKind(1 + r.IntN(3))
		}
		opt.By = GroupBy(iter % int(numGroupBy))
		limit := 1 + r.IntN(len(evs))
		sum, w, s := teeSchedule(t, opt, limit, read(), false)
		sumB, wB, sB := teeSchedule(t, opt, limit, read(), true)
		if !reflect.DeepEqual(sum, sumB) {
			t.Fatalf("iter %d: summary\n%+v\nBoundFirst\n%+v", iter, sum, sumB)
		}
		known := !sB.segsUnknown
		if want := aggs || iter%10 == 4; known == want {
			t.Fatalf("iter %d: count known %v (aggregates %v)", iter, known, aggs)
		}
		if known && sB.NeedsSegments() == s.over {
			t.Fatalf("iter %d, Limit %d: %d segments counted, NeedsSegments %v, the schedule over %v", iter, limit, sB.segs, sB.NeedsSegments(), s.over)
		}
		if sB.NeedsSegments() {
			under++
			continue
		}
		over++
		if !reflect.DeepEqual(w, wB) {
			t.Fatalf("iter %d, Limit %d: what-if\n%+v\nBoundFirst\n%+v", iter, limit, w, wB)
		}
	}
	if over < 50 || under < 50 {
		t.Fatalf("%d logs over their Limit, %d under: want both", over, under)
	}
}

// teeSchedule analyzes src through a schedule's tee of limit segments,
// BoundFirst if bf, and predicts.
func teeSchedule(t *testing.T, opt Options, limit int, src lf.Source, bf bool) (*Summary, *WhatIf, *Schedule) {
	t.Helper()
	a, s := New(opt), NewSchedule(opt)
	s.Limit = limit
	if bf {
		s.BoundFirst()
	}
	if err := a.Add(s.Tee("log", src)); err != nil {
		t.Fatal(err)
	}
	sum := a.Summary()
	w, err := s.WhatIf(sum, WhatIfOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sum, w, s
}
