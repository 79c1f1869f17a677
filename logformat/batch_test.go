package logformat

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"
)

// TestNextBatchMatchesNext reads one log with Next and with NextBatch and
// wants the same events, aggregates and stacks in the same order, and the
// same Stats, on a whole log and on the same log cut short.
func TestNextBatchMatchesNext(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriterMeta(&buf, Meta{Level: LevelProfile, GOMAXPROCS: 2, NumCPU: 2})
	if err != nil {
		t.Fatal(err)
	}
	var sites []StackID
	for i := range 5 {
		sites = append(sites, w.Stack(Stack{Frames: []Frame{{Func: "main.f", File: "/m.go", Line: i + 1}}}))
	}
	now := map[uint32]int64{}
	for i := range 3000 {
		th := uint32(1 + i%3)
		now[th] += int64(10 + i%7)
		ev := Event{Time: now[th], Kind: KindTxStart, Thread: th}
		if i%5 == 0 {
			ev = Event{Time: now[th], Kind: KindConflict, Thread: th, Conflict: ConflictWriteWrite,
				OtherThread: 1 + th%3, Var: uint64(i % 11), Site: sites[i%5], OtherSite: sites[(i+1)%5]}
		}
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
		if i%700 == 0 {
			w.NameVar(uint64(i%11), "v")
			if err := w.Aggregate(Aggregate{Thread: th, Start: 0, End: now[th], Commits: uint64(i)}); err != nil {
				t.Fatal(err)
			}
			if err := w.Aggregate(Aggregate{Thread: th + 1, Start: 0, End: now[th], Commits: 1}); err != nil {
				t.Fatal(err)
			}
			w.Flush()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	type item struct {
		ev    Event
		agg   Aggregate
		site  *Stack
		vname string
	}
	read := func(data []byte, batch bool) ([]item, Stats) {
		r, err := NewReader(bytes.NewReader(data), ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []item
		add := func(ev Event, last bool) {
			it := item{ev: ev, site: r.Stack(ev.Site), vname: r.VarName(ev.Var)}
			if last {
				it.agg = r.Aggregate()
			}
			out = append(out, it)
		}
		for {
			if batch {
				evs, err := r.NextBatch()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) == 0 {
					t.Fatal("NextBatch returned no events and no error")
				}
				for i, ev := range evs {
					if ev.Kind == KindAggregate && i != len(evs)-1 {
						t.Fatalf("aggregate event %d of a batch of %d", i, len(evs))
					}
					add(ev, i == len(evs)-1)
				}
				continue
			}
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			add(ev, true)
		}
		return out, r.Stats()
	}
	data := buf.Bytes()
	for _, n := range []int{len(data), len(data) * 2 / 3} {
		want, wst := read(data[:n], false)
		got, gst := read(data[:n], true)
		if len(want) < 3000*n/len(data)/2 {
			t.Fatalf("%d bytes: only %d events read", n, len(want))
		}
		for i := range want {
			if want[i].ev.Kind != KindAggregate {
				want[i].agg, got[i].agg = Aggregate{}, Aggregate{} // only answered for a batch's last event
			}
		}
		if !slices.EqualFunc(want, got, func(a, b item) bool {
			return a.ev == b.ev && a.agg == b.agg && reflect.DeepEqual(a.site, b.site) && a.vname == b.vname
		}) {
			t.Errorf("%d bytes: NextBatch read %d items, Next %d, or they differ", n, len(got), len(want))
			for i := range min(len(got), len(want)) {
				if a, b := want[i], got[i]; a.ev != b.ev || a.agg != b.agg || !reflect.DeepEqual(a.site, b.site) || a.vname != b.vname {
					t.Fatalf("item %d: %+v, want %+v", i, b, a)
				}
			}
		}
		if gst.Events != wst.Events || gst.Chunks != wst.Chunks || gst.TruncatedBytes != wst.TruncatedBytes || !slices.Equal(gst.Warnings, wst.Warnings) {
			t.Errorf("%d bytes: Stats %+v, want %+v", n, gst, wst)
		}
	}
}
