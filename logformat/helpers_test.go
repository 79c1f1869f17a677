package logformat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
)

// genLog is a log made by genLogOpts: the bytes, and what went into them.
type genLog struct {
	data    []byte
	events  []Event            // in Write order
	aggs    []Aggregate        // in Aggregate order (profile logs)
	usage   Usage              // the last processor-usage record (profile logs)
	stacks  map[StackID]*Stack // what each id returned by Writer.Stack stands for
	vars    map[uint64]string  // final var names
	dropped int64
}

type genOpts struct {
	seed    uint64
	threads int
	events  int
	stacks  int
	flushes int  // Flush this many times at random points
	noClose bool // leave out the end marker
	profile bool // version 2, profile level: process info and aggregate records (not in genLog.events)
}

// makeLog writes a random but valid log: events of every kind on several
// threads with non-decreasing per-thread times, random optional fields, stacks
// (some identical in content, to exercise dedup), var names and drops.
func makeLog(t testing.TB, o genOpts) *genLog {
	t.Helper()
	rng := rand.New(rand.NewPCG(o.seed, 42))
	var buf bytes.Buffer
	var meta Meta
	if o.profile {
		meta = Meta{Level: LevelProfile, GOMAXPROCS: 1 + rng.IntN(64), NumCPU: 1 + rng.IntN(64)}
	}
	w, err := NewWriterMeta(&buf, meta)
	if err != nil {
		t.Fatal(err)
	}
	g := &genLog{stacks: map[StackID]*Stack{}, vars: map[uint64]string{}}
	files := []string{"/src/a.go", "/src/b.go", "/src/ünïcode.go", ""}
	funcs := []string{"main.main", "main.(*Server).handle", "pkg.f[...]", ""}
	var ids []StackID
	for i := 0; i < o.stacks; i++ {
		s := Stack{}
		if rng.IntN(4) == 0 {
			s.Label = fmt.Sprintf(`File "x.py", line %d, in f`, rng.IntN(50))
		}
		for range rng.IntN(5) {
			s.Frames = append(s.Frames, Frame{
				Func: funcs[rng.IntN(len(funcs))],
				File: files[rng.IntN(len(files))],
				Line: rng.IntN(300),
			})
		}
		id := w.Stack(s)
		if want := g.stacks[id]; want != nil && !reflect.DeepEqual(*want, s) {
			t.Fatalf("Writer.Stack returned id %d for %+v and for %+v", id, *want, s)
		}
		if id == 0 {
			if len(s.Frames) != 0 || s.Label != "" {
				t.Fatalf("Writer.Stack returned 0 for non-empty %+v", s)
			}
		} else {
			g.stacks[id] = &s
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		ids = []StackID{0}
	}
	now := make([]int64, o.threads+1)
	for i := range now {
		now[i] = rng.Int64N(1e9) - 5e8
	}
	flushAt := map[int]bool{}
	for range o.flushes {
		flushAt[rng.IntN(o.events+1)] = true
	}
	for i := 0; i < o.events; i++ {
		if flushAt[i] {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if o.profile { // a recording writes one at each flush
				g.usage = Usage{Time: 1 + rng.Int64N(1e10), ProcessCPU: rng.Int64N(1e10), Idle: rng.Int64N(1e10), CPUs: rng.IntN(65)}
				if err := w.Usage(g.usage); err != nil {
					t.Fatal(err)
				}
			}
		}
		if rng.IntN(20) == 0 {
			v := rng.Uint64N(30)
			name := fmt.Sprintf("var%d/%d", v, rng.IntN(3))
			w.NameVar(v, name)
			g.vars[v] = name
		}
		if rng.IntN(50) == 0 {
			n := rng.Int64N(10)
			w.Dropped(n)
			g.dropped += n
		}
		th := uint32(1 + rng.IntN(o.threads))
		if o.profile && rng.IntN(8) == 0 {
			c := rng.Uint64N(1 << uint(rng.IntN(40)))
			timed := rng.Uint64N(c + 1)
			sampled := rng.Uint64N(c - timed + 1)
			a := Aggregate{Thread: th, Start: now[th] - rng.Int64N(1e6), End: now[th],
				Commits: c, Timed: timed, TimedNs: int64(timed) * rng.Int64N(1000),
				Sampled: sampled, SampledNs: int64(sampled) * rng.Int64N(1000),
				SampledSq: float64(sampled) * rng.Float64() * 1e6, Estimated: rng.Uint64N(3)}
			if err := w.Aggregate(a); err != nil {
				t.Fatal(err)
			}
			g.aggs = append(g.aggs, a)
		}
		switch rng.IntN(10) {
		case 0:
			now[th] += rng.Int64N(1 << 40) // a long gap: multi-byte delta
		case 1: // same time
		default:
			now[th] += rng.Int64N(1000)
		}
		ev := Event{Time: now[th], Kind: Kind(1 + rng.IntN(int(numKinds)-1)), Thread: th}
		if rng.IntN(2) == 0 {
			ev.Conflict = ConflictKind(rng.IntN(int(numConflictKinds)))
			ev.Cause = AbortCause(rng.IntN(int(numAbortCauses)))
			ev.Reason = WaitReason(rng.IntN(int(numWaitReasons)))
			ev.OtherThread = uint32(rng.IntN(3)) * rng.Uint32()
			ev.Var = uint64(rng.IntN(3)) * rng.Uint64()
			ev.Site = ids[rng.IntN(len(ids))]
			ev.OtherSite = ids[rng.IntN(len(ids))]
		}
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
		g.events = append(g.events, ev)
	}
	if o.noClose {
		err = w.Flush()
	} else {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	g.data = buf.Bytes()
	return g
}

// readAll reads a whole log, returning the events, the reader and the error
// that ended reading (nil for io.EOF).
//
// Unless opt asks for Jobs, it also checks that the parallel reader reads
// data exactly the same (sameParallel), and panics if not: every test of
// the Reader is a test of the parallel reader too.
func readAll(data []byte, opt ReaderOptions) ([]Event, *Reader, error) {
	if opt.Jobs == 0 {
		if d := sameParallel(data, opt); d != "" {
			panic("parallel reader differs: " + d)
		}
	}
	r, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		return nil, nil, err
	}
	var evs []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return evs, r, nil
		}
		if err != nil {
			return evs, r, err
		}
		evs = append(evs, ev)
	}
}

// byThread splits events into per-thread sequences: the order the format
// keeps (batches of different threads interleave in flush order).
func byThread(evs []Event) map[uint32][]Event {
	m := map[uint32][]Event{}
	for _, ev := range evs {
		m[ev.Thread] = append(m[ev.Thread], ev)
	}
	return m
}

// chunkSpan is one chunk of a log as the test sees it, found by walking the
// headers (independently of Reader).
type chunkSpan struct {
	start, end int64
	typ        byte
	events     int // events in the chunk (events chunks only)
}

func chunksOf(t testing.TB, data []byte) []chunkSpan {
	t.Helper()
	var spans []chunkSpan
	off := headerSize
	for off < len(data) {
		if off+chunkHeaderSize > len(data) {
			t.Fatalf("chunk header at %d runs past the end (%d)", off, len(data))
		}
		n := int(uint32(data[off+1]) | uint32(data[off+2])<<8 | uint32(data[off+3])<<16 | uint32(data[off+4])<<24)
		end := off + chunkHeaderSize + n
		s := chunkSpan{start: int64(off), end: int64(end), typ: data[off]}
		if s.typ == chunkAggregates {
			c, _ := uvarint(data[off+chunkHeaderSize:end], 0)
			s.events = int(c)
		}
		if s.typ == chunkEvents {
			p := data[off+chunkHeaderSize : end]
			_, i := uvarint(p, 0)
			_, i = uvarint(p, i)
			c, _ := uvarint(p, i)
			s.events = int(c)
		}
		spans = append(spans, s)
		off = end
	}
	return spans
}

func asCorrupt(err error) *CorruptError {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}
