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

// walkLog writes a log shaped like a recording's: per thread, runs of
// starts and commits with no field between conflicts, aborts and waits,
// with some long deltas and a few lone starts and commits, flushed now and
// then so that batches end anywhere.
func walkLog(t *testing.T, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	site := w.Stack(Stack{Frames: []Frame{{Func: "main.f", File: "/src/a.go", Line: 3}}})
	const threads = 3
	now := [threads + 1]int64{}
	write := func(ev Event) {
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	for range 4000 {
		th := uint32(1 + rng.IntN(threads))
		step := func() int64 {
			if rng.IntN(40) == 0 {
				now[th] += 1<<21 + rng.Int64N(1<<30) // longer than PlainPairs reads
			} else if rng.IntN(5) != 0 {
				now[th] += rng.Int64N(1 << 17)
			}
			return now[th]
		}
		switch p := rng.IntN(20); {
		case p < 12:
			for range 1 + rng.IntN(6) {
				write(Event{Time: step(), Kind: KindTxStart, Thread: th})
				write(Event{Time: step(), Kind: KindTxCommit, Thread: th})
			}
		case p < 14:
			write(Event{Time: step(), Kind: KindTxStart, Thread: th})
			write(Event{Time: step(), Kind: KindConflict, Thread: th, Conflict: ConflictWriteWrite, Var: 9, OtherThread: 2, Site: site, OtherSite: site})
			write(Event{Time: step(), Kind: KindTxAbort, Thread: th, Cause: AbortConflict})
		case p < 16:
			write(Event{Time: step(), Kind: KindWaitStart, Thread: th, Reason: WaitBackoff})
			write(Event{Time: step(), Kind: KindWaitDone, Thread: th, Reason: WaitBackoff})
		case p < 18:
			write(Event{Time: step(), Kind: KindTxStart + Kind(rng.IntN(2)), Thread: th})
		default:
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// walkTrace reads data as a consumer of raw batches that takes every
// event through Fields, and traces what each call returned (each run with
// its sums and events), with the events NextBatch returned, the error and
// Stats, and where each raw batch was left; it counts the raw batches and
// the Fields calls a worker's walk answered (one a batch at most).
func walkTrace(data []byte, opt ReaderOptions) (tr []string, batches, walked int, err error) {
	rd, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		return nil, 0, 0, err
	}
	defer rd.Close()
	for {
		if b, ok := rd.Raw(); ok {
			for b.Left > 0 {
				w := b.walk
				evs := b.Fields()
				if len(evs) == 0 {
					break
				}
				if w != nil && len(evs) == w.wk && &evs[0] == &w.events[0] {
					walked++
				}
				for _, ev := range evs {
					if ev.Kind == KindInvalid {
						r := &b.Runs[ev.Var]
						revs := b.RunEvents(r)
						if d := checkRun(r, revs); d != "" {
							return nil, 0, 0, fmt.Errorf("run %+v: %s", *r, d)
						}
						tr = append(tr, fmt.Sprintf("run %+v %v", *r, revs))
					} else {
						tr = append(tr, fmt.Sprint(ev))
					}
				}
			}
			tr = append(tr, fmt.Sprintf("took %d %d %d", b.I, b.Left, b.T))
			batches++
			rd.Took(&b)
			continue
		}
		evs, err := rd.NextBatch()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				tr = append(tr, err.Error())
			}
			break
		}
		tr = append(tr, fmt.Sprintf("batch %v", evs))
	}
	return append(tr, fmt.Sprintf("stats %+v", rd.Stats())), batches, walked, nil
}

// The parallel reader's workers decode the batches for a consumer of raw
// batches: what Fields returns (each run's sums checked against its
// events) is the same as with no worker, on whole, cut and damaged logs,
// and the walk answers most raw batches; also with a walk's buffer that
// starts at one entry, so that it grows in every batch.
func TestWalkSame(t *testing.T) {
	t.Run("first4096", testWalkSame)
	defer func(n int) { walkFirst = n }(walkFirst)
	walkFirst = 1
	t.Run("first1", testWalkSame)
}

func testWalkSame(t *testing.T) {
	for seed := range uint64(3) {
		data := walkLog(t, seed)
		spans := chunksOf(t, data)
		if len(spans) < 5 {
			t.Fatalf("seed %d: %d chunks, want several", seed, len(spans))
		}
		logs := [][]byte{data, data[:len(data)/2]}
		for _, at := range []int{len(data) / 3, len(data) * 2 / 3} {
			d := bytes.Clone(data)
			d[at] ^= 0x10
			logs = append(logs, d)
		}
		for li, d := range logs {
			for _, salvage := range []bool{false, true} {
				want, _, _, err := walkTrace(d, ReaderOptions{Salvage: salvage})
				got, batches, walked, err2 := walkTrace(d, ReaderOptions{Salvage: salvage, Jobs: 3})
				if fmt.Sprint(err) != fmt.Sprint(err2) {
					t.Fatalf("seed %d log %d: NewReader: %v with jobs 3, %v without", seed, li, err2, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d log %d salvage %v: with jobs 3\n%q\nwant\n%q", seed, li, salvage, got, want)
				}
				if li == 0 && walked < batches/2 {
					t.Fatalf("seed %d: the walk answered %d raw batches of %d", seed, walked, batches)
				}
			}
		}
	}
}
