package logformat

import (
	"bytes"
	"io"
	"reflect"
	"slices"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the Reader, with and without salvage.
// It must never panic, every event it returns must obey the model's rules,
// and whatever it reads completely must survive a write/read round trip.
func FuzzReader(f *testing.F) {
	for _, o := range []genOpts{
		{seed: 1, threads: 2, events: 20, stacks: 3, flushes: 2},
		{seed: 2, threads: 1, events: 5, stacks: 1},
		{seed: 3, threads: 3, events: 40, stacks: 5, flushes: 3, noClose: true},
		{seed: 5, threads: 2, events: 40, stacks: 3, flushes: 3, profile: true},
	} {
		g := makeLog(f, o)
		f.Add(g.data)
		f.Add(g.data[:len(g.data)*2/3])
		flipped := bytes.Clone(g.data)
		flipped[len(flipped)/2] ^= 4
		f.Add(flipped)
	}
	f.Add(header())
	f.Add([]byte(Magic[:4]))
	f.Add(append(header(), rawChunk(chunkEvents, uv(1, 0, 2, 0, 1, 1<<62, 2))...))
	f.Add(append(header(), rawChunk(100, []byte("x"))...))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, salvage := range []bool{false, true} {
			evs, r, err := checkedRead(t, data, salvage)
			if r == nil || err != nil || salvage {
				continue
			}
			checkReencode(t, evs, r)
		}
	})
}

// FuzzChunkPayloads is FuzzReader past the checksums: random mutations
// almost never keep a chunk's CRCs valid, so here the input is a list of
// chunks (type byte, uint16 length, payload) that the test frames with
// correct headers, and the fuzzer explores the payload decoders.
func FuzzChunkPayloads(f *testing.F) {
	g := makeLog(f, genOpts{seed: 4, threads: 2, events: 30, stacks: 4, flushes: 2, profile: true})
	var seed []byte
	for _, c := range chunksOf(f, g.data) {
		p := g.data[c.start+chunkHeaderSize : c.end]
		if len(p) > 0xffff {
			f.Fatal("seed chunk too long")
		}
		seed = append(seed, c.typ, byte(len(p)), byte(len(p)>>8))
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Add([]byte{chunkEvents, 5, 0, 1, 0, 1, 0, 1, chunkEvents, 5, 0, 1, 0, 1, 0, 2})

	f.Fuzz(func(t *testing.T, in []byte) {
		data := header()
		for len(in) >= 3 {
			typ, n := in[0], int(in[1])|int(in[2])<<8
			in = in[3:]
			n = min(n, len(in))
			data = append(data, rawChunk(typ, in[:n])...)
			in = in[n:]
		}
		for _, salvage := range []bool{false, true} {
			evs, r, err := checkedRead(t, data, salvage)
			if err == nil && !salvage {
				checkReencode(t, evs, r)
			}
		}
	})
}

// checkReencode checks that events read completely from r write and read
// back the same, thread by thread, with the same stack contents.
func checkReencode(t *testing.T, evs []Event, r *Reader) {
	evs = slices.DeleteFunc(slices.Clone(evs), func(ev Event) bool { return ev.Kind == KindAggregate })
	again := reencode(t, evs, r)
	evs2, r2, err := readAll(again, ReaderOptions{})
	if err != nil {
		t.Fatalf("re-encoded log does not read back: %v", err)
	}
	if len(evs) != len(evs2) {
		t.Fatalf("re-encoded log has %d events, want %d", len(evs2), len(evs))
	}
	// Re-encoding regroups batches, so compare thread by thread.
	t1, t2 := byThread(evs), byThread(evs2)
	for th, seq := range t1 {
		seq2 := t2[th]
		if len(seq) != len(seq2) {
			t.Fatalf("thread %d: %d events after re-encoding, want %d", th, len(seq2), len(seq))
		}
		for k := range seq {
			a, b := seq[k], seq2[k]
			if !stacksSame(r.Stack(a.Site), r2.Stack(b.Site)) || !stacksSame(r.Stack(a.OtherSite), r2.Stack(b.OtherSite)) {
				t.Fatalf("thread %d event %d: stacks differ after re-encoding", th, k)
			}
			a.Site, a.OtherSite, b.Site, b.OtherSite = 0, 0, 0, 0
			if a != b {
				t.Fatalf("thread %d event %d: %+v after re-encoding, want %+v", th, k, b, a)
			}
		}
	}
}

// checkedRead reads data like readAll, checking every event and the stats as
// it goes.
func checkedRead(t *testing.T, data []byte, salvage bool) ([]Event, *Reader, error) {
	if d := sameParallel(data, ReaderOptions{Name: "fuzz", Salvage: salvage}); d != "" {
		t.Fatalf("parallel reader differs: %s", d)
	}
	if d := sameRaw(data, ReaderOptions{Name: "fuzz", Salvage: salvage}, uint64(len(data))); d != "" {
		t.Fatalf("raw batches differ: %s", d)
	}
	r, err := NewReader(bytes.NewReader(data), ReaderOptions{Name: "fuzz", Salvage: salvage})
	if err != nil {
		return nil, nil, err
	}
	var evs []Event
	var aggs []Aggregate
	last := map[uint32]int64{}
	for {
		ev, err := r.Next()
		if err != nil {
			st := r.Stats()
			if st.Events != int64(len(evs)) {
				t.Fatalf("Stats.Events = %d after %d events", st.Events, len(evs))
			}
			if err == io.EOF {
				if st.Bytes != int64(len(data)) {
					t.Fatalf("io.EOF after %d of %d bytes", st.Bytes, len(data))
				}
				return evs, r, nil
			}
			if _, err2 := r.Next(); err2 != err {
				t.Fatalf("error not sticky: %v, then %v", err, err2)
			}
			return evs, r, err
		}
		if ev.Kind == KindAggregate {
			a := r.Aggregate()
			if a.Thread != ev.Thread || a.End != ev.Time || a.End < a.Start || a.Timed+a.Sampled > a.Commits || a.TimedNs < 0 || a.SampledNs < 0 || !(a.SampledSq >= 0) {
				t.Fatalf("invalid aggregate %+v for event %+v", a, ev)
			}
			aggs = append(aggs, a)
			evs = append(evs, ev)
			continue
		}
		if !ev.Kind.Valid() || ev.Thread == 0 || !ev.Cause.Valid() || !ev.Reason.Valid() || ev.Conflict >= numConflictKinds {
			t.Fatalf("invalid event %+v", ev)
		}
		if (ev.Site != 0 && r.Stack(ev.Site) == nil) || (ev.OtherSite != 0 && r.Stack(ev.OtherSite) == nil) {
			t.Fatalf("event %+v refers to an unresolvable stack", ev)
		}
		if l, ok := last[ev.Thread]; ok && ev.Time < l {
			t.Fatalf("thread %d goes back in time: %d after %d", ev.Thread, ev.Time, l)
		}
		last[ev.Thread] = ev.Time
		evs = append(evs, ev)
	}
}

// reencode writes events read from r (with r's stacks and var names) to a
// new log.
func reencode(t *testing.T, evs []Event, r *Reader) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[StackID]StackID{0: 0}
	mapID := func(id StackID) StackID {
		n, ok := ids[id]
		if !ok {
			n = w.Stack(*r.Stack(id))
			ids[id] = n
		}
		return n
	}
	for v, name := range r.vars {
		w.NameVar(v, name)
	}
	for _, ev := range evs {
		if ev.Kind == KindAggregate {
			continue // reencode compares events; aggregates are checked by checkedRead
		}
		ev.Site, ev.OtherSite = mapID(ev.Site), mapID(ev.OtherSite)
		if err := w.Write(&ev); err != nil {
			t.Fatalf("re-encoding %+v: %v", ev, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func stacksSame(a, b *Stack) bool {
	if a == nil || b == nil {
		return a == b || (a == nil && len(b.Frames) == 0 && b.Label == "") || (b == nil && len(a.Frames) == 0 && a.Label == "")
	}
	if len(a.Frames) == 0 && len(b.Frames) == 0 {
		return a.Label == b.Label
	}
	return reflect.DeepEqual(a, b)
}
