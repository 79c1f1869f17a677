package logformat

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []genOpts{
		{seed: 1, threads: 1, events: 1, stacks: 1},
		{seed: 2, threads: 3, events: 500, stacks: 20, flushes: 5},
		{seed: 3, threads: 8, events: 20000, stacks: 300, flushes: 20},
		{seed: 4, threads: 2, events: 200000, stacks: 5}, // several cut batches per thread
		{seed: 5, threads: 4, events: 300, stacks: 0, noClose: true},
		{seed: 6, threads: 1, events: 0, stacks: 3},
	}
	for _, o := range tests {
		g := makeLog(t, o)
		evs, r, err := readAll(g.data, ReaderOptions{Name: "rt.stmlog"})
		if err != nil {
			t.Fatalf("seed %d: %v", o.seed, err)
		}
		if len(evs) != len(g.events) {
			t.Fatalf("seed %d: read %d events, wrote %d", o.seed, len(evs), len(g.events))
		}
		got, want := byThread(evs), byThread(g.events)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: per-thread event sequences differ", o.seed)
		}
		for _, ev := range evs {
			for _, id := range []StackID{ev.Site, ev.OtherSite} {
				if id == 0 {
					continue
				}
				if s := r.Stack(id); s == nil || !reflect.DeepEqual(*s, *g.stacks[id]) {
					t.Fatalf("seed %d: stack %d resolves to %+v, want %+v", o.seed, id, s, g.stacks[id])
				}
			}
		}
		for v, name := range g.vars {
			if got := r.VarName(v); got != name {
				t.Errorf("seed %d: VarName(%d) = %q, want %q", o.seed, v, got, name)
			}
		}
		st := r.Stats()
		wantStats := Stats{
			Format:   "stmlog/2",
			Bytes:    int64(len(g.data)),
			Chunks:   int64(len(chunksOf(t, g.data))),
			Events:   int64(len(g.events)),
			CleanEnd: !o.noClose,
			Dropped:  g.dropped,
		}
		if o.noClose {
			if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "no end marker") {
				t.Errorf("seed %d: warnings %q, want one about the missing end marker", o.seed, st.Warnings)
			}
		} else if len(st.Warnings) != 0 {
			t.Errorf("seed %d: warnings %q on a clean log", o.seed, st.Warnings)
		}
		st.Warnings = nil
		if !reflect.DeepEqual(st, wantStats) {
			t.Errorf("seed %d: stats\n got %+v\nwant %+v", o.seed, st, wantStats)
		}
	}
}

// Within one thread, events come back in Write order even across cut
// batches and flushes, and Offset points at the chunk holding each event.
func TestOffsetAndOrder(t *testing.T) {
	g := makeLog(t, genOpts{seed: 7, threads: 3, events: 50000, stacks: 10, flushes: 10})
	spans := chunksOf(t, g.data)
	r, err := NewReader(bytes.NewReader(g.data), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	si := 0
	left := 0
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			for spans[si].typ != chunkEvents {
				si++
			}
			left = spans[si].events
			si++
		}
		if r.Offset() != spans[si-1].start {
			t.Fatalf("event %d: Offset %d, want %d", len(evs), r.Offset(), spans[si-1].start)
		}
		left--
		evs = append(evs, ev)
	}
	if !reflect.DeepEqual(byThread(evs), byThread(g.events)) {
		t.Fatal("per-thread sequences differ")
	}
}

func TestWriterRejects(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	site := w.Stack(Stack{Frames: []Frame{{Func: "f", File: "f.go", Line: 1}}})
	if err := w.Write(&Event{Time: 100, Kind: KindTxStart, Thread: 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Time: 100, Kind: KindTxStart}, "thread 0"},
		{Event{Time: 100, Kind: KindInvalid, Thread: 1}, "invalid kind"},
		{Event{Time: 100, Kind: numKinds, Thread: 1}, "invalid kind"},
		{Event{Time: 100, Kind: KindConflict, Thread: 1, Conflict: numConflictKinds}, "invalid conflict"},
		{Event{Time: 100, Kind: KindTxAbort, Thread: 1, Cause: numAbortCauses}, "invalid abort cause"},
		{Event{Time: 100, Kind: KindWaitStart, Thread: 1, Reason: numWaitReasons}, "invalid wait reason"},
		{Event{Time: 100, Kind: KindConflict, Thread: 1, Site: site + 1}, "stack"},
		{Event{Time: 100, Kind: KindConflict, Thread: 1, OtherSite: site + 1}, "stack"},
		{Event{Time: 99, Kind: KindTxCommit, Thread: 1}, "before the thread's previous event"},
	}
	for _, tt := range tests {
		err := w.Write(&tt.ev)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Write(%+v) = %v, want error containing %q", tt.ev, err, tt.want)
		}
	}
	// Refused events leave the log as it was.
	if err := w.Write(&Event{Time: 100, Kind: KindTxCommit, Thread: 1, Site: site}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Event{Time: 200, Kind: KindTxStart, Thread: 1}); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want the first Close's result (nil)", err)
	}
	evs, _, err := readAll(buf.Bytes(), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Time: 100, Kind: KindTxStart, Thread: 1}, {Time: 100, Kind: KindTxCommit, Thread: 1, Site: site}}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("read %+v, want %+v", evs, want)
	}
}

// Stack dedups by content, not by slice identity, and copies the frames.
func TestWriterStackDedup(t *testing.T) {
	w, err := NewWriter(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	frames := []Frame{{Func: "a", File: "a.go", Line: 1}, {Func: "b", File: "b.go", Line: 2}}
	id1 := w.Stack(Stack{Frames: frames})
	frames[0].Line = 3 // caller reuses its slice
	id2 := w.Stack(Stack{Frames: frames})
	id3 := w.Stack(Stack{Frames: []Frame{{Func: "a", File: "a.go", Line: 3}, {Func: "b", File: "b.go", Line: 2}}})
	id4 := w.Stack(Stack{Frames: []Frame{{Func: "a", File: "a.go", Line: 1}, {Func: "b", File: "b.go", Line: 2}}})
	id5 := w.Stack(Stack{Label: "x", Frames: []Frame{{Func: "a", File: "a.go", Line: 1}, {Func: "b", File: "b.go", Line: 2}}})
	if id1 == 0 || id1 == id2 || id2 != id3 || id4 != id1 || id5 == id1 || id5 == id2 {
		t.Errorf("ids %d %d %d %d %d: want 1st=4th, 2nd=3rd, 5th distinct, none 0", id1, id2, id3, id4, id5)
	}
	if id := w.Stack(Stack{}); id != 0 {
		t.Errorf("empty stack got id %d, want 0", id)
	}
}

// Long strings and deep stacks are cut to the documented limits.
func TestWriterLimits(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	long := strings.Repeat("x", MaxStringLen+10)
	deep := make([]Frame, MaxFrames+5)
	for i := range deep {
		deep[i] = Frame{Func: long, File: "f.go", Line: i}
	}
	id := w.Stack(Stack{Frames: deep})
	w.NameVar(1, long)
	if err := w.Write(&Event{Time: 1, Kind: KindBecomeInevitable, Thread: 1, Site: id}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, r, err := readAll(buf.Bytes(), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stack(id)
	if s == nil || len(s.Frames) != MaxFrames || s.Frames[MaxFrames-1].Line != MaxFrames-1 ||
		s.Frames[0].Func != long[:MaxStringLen] {
		t.Errorf("deep stack not cut to %d innermost frames of %d-byte names", MaxFrames, MaxStringLen)
	}
	if got := r.VarName(1); got != long[:MaxStringLen] {
		t.Errorf("var name has %d bytes, want %d", len(got), MaxStringLen)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriterIOError(t *testing.T) {
	if _, err := NewWriter(&failWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("NewWriter on a failing writer = %v, want the write error", err)
	}
	w, err := NewWriter(&failWriter{n: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Event{Time: 1, Kind: KindTxStart, Thread: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Flush = %v, want the write error", err)
	}
	if err := w.Write(&Event{Time: 2, Kind: KindTxCommit, Thread: 1}); err == nil {
		t.Error("Write after a failed Flush succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed Flush succeeded")
	}
}

// Write allocates nothing per event once the thread buffers exist, even
// across chunk cuts and flushes (the benchmark shows the same; this keeps it
// from regressing unnoticed).
func TestWriteDoesNotAllocate(t *testing.T) {
	w, err := NewWriter(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	site := w.Stack(Stack{Frames: []Frame{{Func: "f", File: "f.go", Line: 1}}})
	var now int64
	write := func() {
		for th := uint32(1); th <= 4; th++ {
			now += 100
			ev := Event{Time: now, Kind: KindConflict, Thread: th, Conflict: ConflictWriteRead, OtherThread: 2, Var: 9, Site: site, OtherSite: site}
			if err := w.Write(&ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 50000 { // warm up: buffers at full size, several cuts
		write()
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20000, func() {
		write()
		if now%(100*4*5000) == 0 {
			w.Flush()
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 4 events, want 0", allocs)
	}
}

// Thread numbers of any size work (small ones take a faster path), and many
// threads interleaved round-trip.
func TestWriterThreadNumbers(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	threads := []uint32{1, 2, denseThreads - 1, denseThreads, denseThreads + 1, 1 << 31, ^uint32(0)}
	var want []Event
	for i := range 3000 {
		ev := Event{Time: int64(i), Kind: KindTxStart, Thread: threads[i%len(threads)]}
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
		want = append(want, ev)
		if i%1000 == 999 {
			w.Flush()
		}
	}
	w.Close()
	got, _, err := readAll(buf.Bytes(), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byThread(got), byThread(want)) {
		t.Error("events differ after the round trip")
	}
}

// The worked example in the package doc is what the Writer writes.
func TestSpecExample(t *testing.T) {
	const want = "89 53 54 4d 4c 4f 47 0a 02 00 04 0a 00 00 00 55 f5 84 97 2c 65 dc 44 01 d0 0f 02 00 01 ac 02 23 02 " +
		"06 00 00 00 00 00 00 00 00 f1 70 bb 88"
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	w.Write(&Event{Time: 1000, Kind: KindTxStart, Thread: 1})
	w.Write(&Event{Time: 1300, Kind: KindTxAbort, Thread: 1, Cause: AbortRetry})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("% x", buf.Bytes()); got != want {
		t.Errorf("writer output\n%s\nwant (package doc example)\n%s", got, want)
	}
	if got := crc32.Checksum([]byte("123456789"), castagnoli); got != 0xe3069283 {
		t.Errorf("CRC-32C check value %#x, want 0xe3069283 (package doc)", got)
	}
}

// The package doc lists the numeric values of the enumerations; this fails
// when event.go changes them, so that the spec is updated too (and, since
// version-1 readers reject unknown values, the format version considered).
func TestSpecEnumerations(t *testing.T) {
	var kinds, conflicts, causes, reasons []string
	for k := Kind(1); k < numKinds; k++ {
		kinds = append(kinds, fmt.Sprint(int(k), " ", k))
	}
	for c := ConflictKind(1); c < numConflictKinds; c++ {
		conflicts = append(conflicts, fmt.Sprint(int(c), " ", c))
	}
	for c := AbortCause(0); c < numAbortCauses; c++ {
		causes = append(causes, fmt.Sprint(int(c), " ", c))
	}
	for r := WaitReason(0); r < numWaitReasons; r++ {
		reasons = append(reasons, fmt.Sprint(int(r), " ", r))
	}
	got := strings.Join([]string{
		strings.Join(kinds, ", "), strings.Join(conflicts, ", "),
		strings.Join(causes, ", "), strings.Join(reasons, ", "),
	}, "\n")
	want := `1 start, 2 commit, 3 abort, 4 conflict, 5 wait, 6 wait-done, 7 become-inevitable, 8 detach, 9 reattach, 10 gc-minor-start, 11 gc-minor-done, 12 gc-major-start, 13 gc-major-done
1 write-write, 2 write-read, 3 inevitable
0 unknown, 1 conflict, 2 retry, 3 error, 4 panic, 5 inevitable
0 unknown, 1 inevitable, 2 retry, 3 backoff, 4 commit-lock, 5 free-segment, 6 syncing, 7 sync-pause, 8 contention`
	if got != want {
		t.Errorf("enumerations changed; update the package doc's table:\n%s", got)
	}
	if numKinds > kindMask+1 {
		t.Errorf("%d kinds do not fit the %d-bit kind of the event head", numKinds, kindBits)
	}
}

// Stack dedups by a content hash; on a hash collision it must still tell the
// stacks apart. Collisions are forced here by planting one.
func TestWriterStackHashCollision(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	a := Stack{Frames: []Frame{{Func: "a", File: "a.go", Line: 1}}}
	b := Stack{Frames: []Frame{{Func: "b", File: "b.go", Line: 2}}}
	idA := w.Stack(a)
	w.stackHash[w.hashStack(&b)] = idA // b now "collides" with a
	idB := w.Stack(b)
	if idB == idA || w.Stack(b) != idB || w.Stack(a) != idA {
		t.Fatalf("ids a=%d b=%d (b again %d): colliding stacks not told apart", idA, idB, w.Stack(b))
	}
	w.Write(&Event{Time: 1, Kind: KindConflict, Thread: 1, Site: idA, OtherSite: idB})
	w.Close()
	_, r, err := readAll(buf.Bytes(), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*r.Stack(idA), a) || !reflect.DeepEqual(*r.Stack(idB), b) {
		t.Errorf("stacks read back as %+v, %+v", r.Stack(idA), r.Stack(idB))
	}
}
