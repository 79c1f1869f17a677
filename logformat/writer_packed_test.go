package logformat

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestWritePackedSameBytes writes one sequence of events twice: through
// Write only, and with WritePacked over runs of one thread's events, Write
// for those it stops at (as runtime/stm's recorder does); and compares the
// logs byte for byte: several threads interleaved, batches started by
// either method, times that repeat or jump, and events WritePacked must
// leave to Write (invalid kinds, times that go back).
func TestWritePackedSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type step struct{ ev Event }
	var steps []step
	times := map[uint32]int64{}
	for i := range 20000 {
		th := uint32(1 + rng.IntN(3))
		if rng.IntN(4) != 0 && i > 0 {
			th = steps[i-1].ev.Thread // runs of one thread, as the recorder hands them over
		}
		times[th] += int64(rng.IntN(3)) * int64(1+rng.IntN(1<<uint(rng.IntN(40))))
		ev := Event{Thread: th, Time: times[th]}
		switch rng.IntN(6) {
		case 0:
			ev.Kind = KindTxStart
		case 1:
			ev.Kind = KindTxCommit
		case 2:
			ev.Kind, ev.Cause = KindTxAbort, AbortCause(rng.IntN(int(numAbortCauses)))
		case 3:
			ev.Kind, ev.Reason = KindWaitStart, WaitReason(rng.IntN(int(numWaitReasons)))
		case 4:
			ev.Kind, ev.Reason = KindWaitDone, WaitReason(rng.IntN(int(numWaitReasons)))
		default:
			ev.Kind, ev.Conflict, ev.OtherThread, ev.Var = KindConflict, ConflictWriteRead, th+1, uint64(i)
		}
		if rng.IntN(500) == 0 {
			ev.Time -= 5 // refused by both
		}
		if rng.IntN(700) == 0 {
			ev.Kind = numKinds // refused by both
		}
		steps = append(steps, step{ev})
	}
	write := func(mode int) []byte {
		var buf bytes.Buffer
		w, err := NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		var refused int
		var run []PackedEvent
		for i := 0; i < len(steps); i++ {
			ev := steps[i].ev
			switch {
			case mode == 2:
				// The run of this thread's events up to the next flush.
				run = run[:0]
				for j := i; j < len(steps) && steps[j].ev.Thread == ev.Thread && (j == i || j%3000 != 0); j++ {
					e := steps[j].ev
					run = append(run, PackedEvent{Time: e.Time, A: PackKind(e.Kind, e.Conflict, e.Cause, e.Reason)})
					if e.OtherThread != 0 || e.Var != 0 || j%53 == 7 {
						run[len(run)-1].B = 1 // has fields (or says so): Write's
					}
				}
				n, werr := w.WritePacked(ev.Thread, run)
				if werr != nil {
					t.Fatal(werr)
				}
				if n > 0 {
					i += n - 1
					if i%3000 == 2999 || (i+1 < len(steps) && (i+1)%3000 == 0) {
						w.Flush()
					}
					continue
				}
				err = w.Write(&ev)
			default:
				err = w.Write(&ev)
			}
			if err != nil {
				refused++
			}
			if i%3000 == 2999 {
				w.Flush()
			}
		}
		if refused == 0 {
			t.Fatal("no event refused: the test does not cover WriteKind's fallback")
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, c := write(0), write(2)
	if !bytes.Equal(a, c) {
		t.Fatalf("Write and WritePacked logs differ (%d and %d bytes)", len(a), len(c))
	}
	if _, _, err := readAll(c, ReaderOptions{Name: "kind.stmlog"}); err != nil {
		t.Fatal(err)
	}
}

// packedPayload writes a start at time 100 with Write, then evs with
// WritePacked (all of them, or the test fails), and returns the batch's
// payload after the start's event (its header and the start are fixed:
// thread 1, base 100, the count, delta 0 and head 1).
func packedPayload(t *testing.T, evs []PackedEvent) (events []byte, n uint64) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Event{Thread: 1, Time: 100, Kind: KindTxStart}); err != nil {
		t.Fatal(err)
	}
	if k, err := w.WritePacked(1, evs); err != nil || k != len(evs) {
		t.Fatalf("WritePacked wrote %d of %d events (%v)", k, len(evs), err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	p := buf.Bytes()[headerSize+chunkHeaderSize:]
	if p[0] != 1 || p[1] != 0xc8 || p[2] != 0x01 { // thread 1, varint 100
		t.Fatalf("batch header % x", p[:3])
	}
	n, i := uvarint(p, 3)
	if p[i] != 0 || p[i+1] != 1 {
		t.Fatalf("first event % x", p[i:i+2])
	}
	return p[i+2:], n
}

// TestWritePackedEncoding checks the bytes WritePacked writes for each
// event it writes itself, pairs of a start and a commit in particular
// (appendPacked puts a pair together in one word when both deltas take at
// most two bytes): deltas at the lengths' bounds, a pair that follows
// another event, and events with a cause or a reason.
func TestWritePackedEncoding(t *testing.T) {
	start, commit := PackKind(KindTxStart, 0, 0, 0), PackKind(KindTxCommit, 0, 0, 0)
	abort := PackKind(KindTxAbort, 0, AbortRetry, 0)
	wait := PackKind(KindWaitStart, 0, 0, WaitBackoff)
	cases := []struct {
		name string
		evs  []PackedEvent // after the start at 100 (its commit first)
		want []byte
	}{
		{"commit", []PackedEvent{{Time: 100, A: commit}}, []byte{0, 2}},
		{"pair 0 0", []PackedEvent{{Time: 100, A: commit}, {Time: 100, A: start}, {Time: 100, A: commit}},
			[]byte{0, 2, 0, 1, 0, 2}},
		{"pair 127 127", []PackedEvent{{Time: 101, A: commit}, {Time: 228, A: start}, {Time: 355, A: commit}},
			[]byte{1, 2, 0x7f, 1, 0x7f, 2}},
		{"pair 128 1", []PackedEvent{{Time: 101, A: commit}, {Time: 229, A: start}, {Time: 230, A: commit}},
			[]byte{1, 2, 0x80, 0x01, 1, 1, 2}},
		{"pair 1 128", []PackedEvent{{Time: 101, A: commit}, {Time: 102, A: start}, {Time: 230, A: commit}},
			[]byte{1, 2, 1, 1, 0x80, 0x01, 2}},
		{"pair 16383 16383", []PackedEvent{{Time: 101, A: commit}, {Time: 101 + 16383, A: start}, {Time: 101 + 2*16383, A: commit}},
			[]byte{1, 2, 0xff, 0x7f, 1, 0xff, 0x7f, 2}},
		{"pair 16384 0", []PackedEvent{{Time: 101, A: commit}, {Time: 101 + 16384, A: start}, {Time: 101 + 16384, A: commit}},
			[]byte{1, 2, 0x80, 0x80, 0x01, 1, 0, 2}},
		{"pair 0 16384", []PackedEvent{{Time: 101, A: commit}, {Time: 101, A: start}, {Time: 101 + 16384, A: commit}},
			[]byte{1, 2, 0, 1, 0x80, 0x80, 0x01, 2}},
		{"start then abort", []PackedEvent{{Time: 101, A: commit}, {Time: 102, A: start}, {Time: 300, A: abort}},
			[]byte{1, 2, 1, 1, 0xc6, 0x01, 0x23, 2}},
		{"wait, pair", []PackedEvent{{Time: 101, A: abort}, {Time: 101, A: wait}, {Time: 1 << 40, A: start}, {Time: 1<<40 + 5, A: commit}},
			[]byte{1, 0x23, 2, 0, 0x45, 3, 0x9b, 0xff, 0xff, 0xff, 0xff, 0x1f, 1, 5, 2}},
	}
	for _, c := range cases {
		got, n := packedPayload(t, c.evs)
		if !bytes.Equal(got, c.want) || n != uint64(len(c.evs)+1) {
			t.Errorf("%s: % x (%d events), want % x (%d)", c.name, got, n, c.want, len(c.evs)+1)
		}
	}
}

// TestWritePackedPairsSameBytes writes long runs of mostly start and commit
// pairs, as a full-level recording hands them over, through WritePacked
// (Write for the events it stops at), as two events each or as one
// PackedQuiet entry, and through Write alone, and
// compares the logs byte for byte: deltas around the bounds of one, two
// and three bytes, pairs broken by an abort or by an event with a site,
// times that go back (refused by both), and batches cut at the size
// target wherever it falls, between a start and its commit too.
func TestWritePackedPairsSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	deltas := []int64{0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x1fffff, 0x200000}
	delta := func() int64 {
		if rng.IntN(2) == 0 {
			return deltas[rng.IntN(len(deltas))]
		}
		return int64(rng.IntN(300))
	}
	// run has each pair as two events, quiet as one PackedQuiet entry.
	var run, quiet []PackedEvent
	tm := int64(0)
	pair := func(start, commit int64) {
		run = append(run, PackedEvent{Time: start, A: PackKind(KindTxStart, 0, 0, 0)},
			PackedEvent{Time: commit, A: PackKind(KindTxCommit, 0, 0, 0)})
		quiet = append(quiet, PackedEvent{Time: start, A: PackedQuiet, B: uint32(commit - start)})
	}
	one := func(e PackedEvent) {
		run = append(run, e)
		quiet = append(quiet, e)
	}
	for range 200000 {
		tm += delta()
		switch r := rng.IntN(100); {
		case r < 90:
			start := tm
			tm += delta()
			pair(start, tm)
		case r < 95:
			one(PackedEvent{Time: tm, A: PackKind(KindTxAbort, 0, AbortConflict, 0)})
		case r < 97:
			one(PackedEvent{Time: tm, A: PackKind(KindTxStart, 0, 0, 0), B: 1})
		case r < 98:
			pair(tm-1, tm) // a start that goes back: refused, its commit not
		default:
			one(PackedEvent{Time: tm - 1, A: PackKind(KindTxCommit, 0, 0, 0)})
		}
	}
	write := func(run []PackedEvent, packed bool) []byte {
		var buf bytes.Buffer
		w, err := NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		refused := 0
		for i := 0; i < len(run); i++ {
			if packed {
				n, err := w.WritePacked(7, run[i:])
				if err != nil {
					t.Fatal(err)
				}
				if i += n; i == len(run) {
					break
				}
			}
			e := run[i]
			ev := Event{Thread: 7, Time: e.Time, Kind: Kind(e.A), Cause: AbortCause(e.A >> 16)}
			if e.A == PackedQuiet {
				// One WritePacked stopped at: its two events.
				ev.Kind = KindTxStart
				if w.Write(&ev) != nil {
					refused++
				}
				ev.Time, ev.Kind = e.Time+int64(e.B), KindTxCommit
			}
			if e.B != 0 && e.A != PackedQuiet {
				ev.Var = 1
			}
			if w.Write(&ev) != nil {
				refused++
			}
		}
		if refused == 0 {
			t.Fatal("no event refused")
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a := write(run, false)
	for _, c := range []struct {
		name string
		b    []byte
	}{{"pairs", write(run, true)}, {"quiet entries", write(quiet, true)}} {
		if b := c.b; !bytes.Equal(a, b) {
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			t.Fatalf("Write and WritePacked (%s) logs differ (%d and %d bytes), first at byte %d", c.name, len(a), len(b), i)
		}
	}
	b := a
	evs, _, err := readAll(b, ReaderOptions{Name: "pairs.stmlog"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < len(run)*9/10 {
		t.Fatalf("%d events read of %d written", len(evs), len(run))
	}
}
