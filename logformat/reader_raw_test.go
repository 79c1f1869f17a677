package logformat

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// traceRaw reads data with opt through Raw, RawBatch.Fields and Took,
// leaving each raw batch after a random number of Fields calls and
// mixing in NextBatch and Next, as a consumer may; only events, the error,
// Stats and Meta are traced (seen is blank).
func traceRaw(data []byte, opt ReaderOptions, r *rand.Rand) (readTrace, error) {
	var tr readTrace
	rd, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		return tr, err
	}
	defer rd.Close()
	for {
		if b, ok := rd.Raw(); ok {
			for n := r.IntN(6); n > 0; n-- {
				evs := b.Fields()
				if len(evs) == 0 {
					break
				}
				if evs[0].Kind == KindAggregate {
					panic("an aggregate in a raw batch")
				}
				tr.events = expandRuns(tr.events, &b, evs)
			}
			rd.Took(&b)
			if r.IntN(4) != 0 {
				continue
			}
		}
		var evs []Event
		var err error
		if r.IntN(2) == 0 {
			evs, err = rd.NextBatch()
		} else {
			var ev Event
			ev, err = rd.Next()
			evs = []Event{ev}
		}
		if err != nil {
			tr.err = err.Error()
			break
		}
		tr.events = append(tr.events, evs...)
	}
	tr.seen = make([]string, len(tr.events))
	tr.stats, tr.meta = rd.Stats(), rd.Meta()
	return tr, nil
}

// expandRuns appends evs, which b.Fields returned, to to, each run's
// events (RunEvents) in its place; it panics if a run's sums are not its
// events'.
func expandRuns(to []Event, b *RawBatch, evs []Event) []Event {
	for _, ev := range evs {
		if ev.Kind != KindInvalid {
			to = append(to, ev)
			continue
		}
		r := &b.Runs[ev.Var]
		revs := b.RunEvents(r)
		if d := checkRun(r, revs); d != "" {
			panic(fmt.Sprintf("run %+v: %s; events %v", *r, d, revs))
		}
		to = append(to, revs...)
	}
	return to
}

// checkRun compares run's fields with its events: "" if they agree.
func checkRun(r *PlainRun, evs []Event) string {
	if len(evs) == 0 || len(evs) != r.N {
		return fmt.Sprintf("%d events", len(evs))
	}
	lead, committed, moves, lastRun := int64(-1), int64(0), int64(0), int64(-1)
	t := r.T
	for i, ev := range evs {
		want := KindTxStart
		if (i%2 == 1) == (evs[0].Kind == KindTxStart) {
			want = KindTxCommit
		}
		if ev.Kind != want || ev != (Event{Time: ev.Time, Kind: ev.Kind, Thread: ev.Thread}) {
			return fmt.Sprintf("event %d is %+v, want a %v with no field", i, ev, want)
		}
		dt := ev.Time - t
		t = ev.Time
		if dt != 0 {
			moves++
		}
		switch {
		case i == 0 && ev.Kind == KindTxCommit:
			lead = dt
		case ev.Kind == KindTxCommit:
			committed += dt
			lastRun = dt
		}
	}
	if got := [...]int64{r.End, r.Lead, r.Committed, r.Moves, r.LastRun}; got != [...]int64{t, lead, committed, moves, lastRun} {
		return fmt.Sprintf("end, lead, committed, moves, last run %v, want %v", got, [...]int64{t, lead, committed, moves, lastRun})
	}
	return ""
}

// sameRaw checks that reading data through raw batches gives exactly the
// events, error and Stats reading it through Next gives; "" if so.
func sameRaw(data []byte, opt ReaderOptions, seed uint64) string {
	want, err := traceRead(data, opt, false)
	if err == nil { // as traceRaw's, which has no seen when NewReader fails
		want.seen = make([]string, len(want.events))
	}
	for v := range uint64(3) {
		got, err2 := traceRaw(data, opt, rand.New(rand.NewPCG(seed, v)))
		if fmt.Sprint(err) != fmt.Sprint(err2) {
			return fmt.Sprintf("NewReader: %v, want %v", err2, err)
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("variant %d: read\n%s\nwant\n%s", v, traceText(got), traceText(want))
		}
	}
	return ""
}

// Raw batches on whole, cut, damaged and salvaged logs, sequential and
// parallel: the same events, errors and Stats as Next; and a consumer
// that takes every event through Fields does take them all raw.
func TestRawSame(t *testing.T) {
	for _, o := range sameLogs {
		g := makeLog(t, o)
		spans := chunksOf(t, g.data)
		for _, salvage := range []bool{false, true} {
			for _, jobs := range []int{1, 3} {
				opt := ReaderOptions{Name: "r.log", Salvage: salvage, Jobs: jobs}
				if d := sameRaw(g.data, opt, o.seed); d != "" {
					t.Fatalf("seed %d jobs %d whole: %s", o.seed, jobs, d)
				}
				for ci, c := range spans {
					for _, at := range []int64{c.start + 1, (c.start + c.end) / 2, c.end - 1} {
						if at >= int64(len(g.data)) {
							continue
						}
						data := bytes.Clone(g.data)
						data[at] ^= 0x10
						if d := sameRaw(data, opt, uint64(at)); d != "" {
							t.Fatalf("seed %d jobs %d chunk %d flipped at %d, salvage %v: %s", o.seed, jobs, ci, at, salvage, d)
						}
						if d := sameRaw(g.data[:at], opt, uint64(at)); d != "" {
							t.Fatalf("seed %d jobs %d cut at %d, salvage %v: %s", o.seed, jobs, at, salvage, d)
						}
					}
				}
			}
		}
		rd, err := NewReader(bytes.NewReader(g.data), ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw, other := 0, 0
		for {
			if b, ok := rd.Raw(); ok {
				for evs := b.Fields(); len(evs) > 0; evs = b.Fields() {
					raw += len(evs)
				}
				rd.Took(&b)
				continue
			}
			evs, err := rd.NextBatch()
			if err != nil {
				break
			}
			for _, ev := range evs {
				if ev.Kind != KindAggregate {
					other++
				}
			}
		}
		if raw == 0 || other != 0 {
			t.Fatalf("seed %d: %d events taken raw, %d events not", o.seed, raw, other)
		}
	}
}

// Conflicts whose fields RawBatch.Fields reads inline (one-byte fields,
// a Var of one or two bytes) and the ones next to them it leaves to
// readFields: the events written, at every length the inline read
// distinguishes.
func TestRawConflictFields(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	s1 := w.Stack(Stack{Frames: []Frame{{Func: "f", File: "a.go", Line: 1}}})
	s2 := w.Stack(Stack{Frames: []Frame{{Func: "g", File: "a.go", Line: 2}}})
	var want []Event
	tm := int64(0)
	for _, v := range []uint64{0, 1, 127, 128, 300, 1<<14 - 1, 1 << 14, 1 << 40} {
		for _, o := range []uint32{0, 3, 127, 128} {
			for _, s := range [][2]StackID{{s1, s2}, {s2, 0}, {0, s1}, {0, 0}} {
				tm += 5
				want = append(want, Event{Time: tm, Kind: KindConflict, Thread: 2, Conflict: ConflictKind(1 + v%uint64(numConflictKinds-1)),
					OtherThread: o, Var: v, Site: s[0], OtherSite: s[1]})
			}
		}
		tm += 200 // a two-byte delta
		want = append(want, Event{Time: tm, Kind: KindTxStart, Thread: 2})
	}
	for i := range want {
		if err := w.Write(&want[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(bytes.NewReader(buf.Bytes()), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	for {
		b, ok := rd.Raw()
		if !ok {
			if _, err := rd.NextBatch(); err == nil {
				t.Fatal("events not handed out raw")
			}
			break
		}
		for evs := b.Fields(); len(evs) > 0; evs = b.Fields() {
			got = expandRuns(got, &b, evs)
		}
		rd.Took(&b)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read through Fields\n%+v\nwant\n%+v", got, want)
	}
	if d := sameRaw(buf.Bytes(), ReaderOptions{Name: "c.log", Jobs: 3}, 1); d != "" {
		t.Fatal(d)
	}
}
