package pypyreport

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/internal/pypygen"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// runBoth runs the report with the c8 analyzer's own loop (scan, reading
// Scanner.Window), with every record read by Next, and both of these on
// two goroutines (Jobs 2: summarizeSplit, in parts of the default size
// and of 997 bytes), and fails if their stdout, stderr or error differ;
// and the same on a pipe (no percentages, no second pass) with Jobs 1 and
// 2 (one goroutine either way: a pipe cannot be read at offsets).
func runBoth(t *testing.T, name string, data []byte, opt Options, budget int) {
	t.Helper()
	defer func() { recordAtATime, splitSize = false, 0 }()
	var outs [10]string
	for i := range outs {
		recordAtATime = i&1 == 1
		opt.Jobs = 1 + min(i>>1&3, 1)
		splitSize = 0
		if i>>1 == 2 {
			splitSize = 997
		}
		var r io.Reader = bytes.NewReader(data)
		if i >= 6 {
			r = onlyReader{r}
			opt.Jobs = 1 + i>>3
		}
		var out, errOut bytes.Buffer
		err := run(&out, &errOut, r, opt, budget)
		outs[i] = fmt.Sprintf("%s\n--- stderr\n%s\n--- error %v", out.String(), errOut.String(), err)
	}
	for i, o := range outs {
		if w := outs[i/6*6]; o != w {
			t.Fatalf("%s (era %c, budget %d): record at a time %v, jobs %d, parts of %d bytes, pipe %v: not the report %s",
				name, opt.Era, budget, i&1 == 1, 1+min(i>>1&3, 1)+i>>3, map[bool]int{true: 997}[i>>1 == 2], i >= 6, firstDiff(w, o))
		}
	}
}

// TestC8SplitSameOutput: the pass in parts on two goroutines
// (summarizeSplit) prints what the one-goroutine pass prints, in parts of
// many sizes (a percentage in a part analyzed ahead or not, threads that
// start no transaction in a part), and merges parts (a part that only
// ever failed its checks would be no test of the merge).
func TestC8SplitSameOutput(t *testing.T) {
	defer func() { splitSize = 0 }()
	for _, cfg := range []pypygen.Config{
		{Seed: 8, Threads: 4, Records: 40_000},
		{Seed: 9, Threads: 300, Records: 40_000},
		{Seed: 10, Threads: 3, Records: progressEvery + 5000},
	} {
		var b bytes.Buffer
		if _, err := pypygen.Write(&b, cfg); err != nil {
			t.Fatal(err)
		}
		data := b.Bytes()
		for _, size := range []int{300, 4099, 65537, 1 << 20, 3 << 20} {
			outs := [2]string{}
			splitMerged.Store(0)
			splitLeft.Store(0)
			for i := range outs {
				splitSize = size
				var out, errOut bytes.Buffer
				err := run(&out, &errOut, bytes.NewReader(data), Options{Jobs: 1 + i, Top: 30}, timestampBudget)
				outs[i] = fmt.Sprintf("%s\n--- stderr\n%s\n--- error %v", out.String(), errOut.String(), err)
			}
			if outs[1] != outs[0] {
				t.Fatalf("%d threads, parts of %d bytes: two goroutines, not one's report %s", cfg.Threads, size, firstDiff(outs[0], outs[1]))
			}
			if parts := len(data) / size / 2; splitMerged.Load() < int64(parts/2) {
				t.Errorf("%d threads, parts of %d bytes: %d parts merged, %d left, of about %d", cfg.Threads, size, splitMerged.Load(), splitLeft.Load(), parts)
			}
		}
	}
}

// firstDiff is a and b around the first byte where they differ.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-300, 0)
	return fmt.Sprintf("at byte %d:\n%s\n--- against\n%s", i, a[lo:min(len(a), i+300)], b[lo:min(len(b), i+300)])
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// TestC8ScanSameAsRecord: the c8 analyzer's loop over the scanner's
// buffer prints what it prints reading each record with Next, on
// generated logs (also with thread numbers past the small table, and
// past a progress percentage), the samples, their cuts, flipped bits and
// every era's event range and order check.
func TestC8ScanSameAsRecord(t *testing.T) {
	inputs := map[string][]byte{}
	for i, cfg := range []pypygen.Config{
		{Seed: 5, Threads: 4, Records: 30_000},
		{Seed: 6, Threads: 300, Records: 20_000},
		{Seed: 7, Threads: 2, Records: progressEvery + 3000},
	} {
		var b bytes.Buffer
		if _, err := pypygen.Write(&b, cfg); err != nil {
			t.Fatal(err)
		}
		inputs[fmt.Sprintf("gen%d", i)] = b.Bytes()
	}
	for _, name := range []string{"sample3.c8.log", "cut.c8.log", "freeseg.c8.log", "strip.c8.log"} {
		inputs[name] = []byte(readFile(t, filepath.Join(pypyDir, "conformance", name)))
	}
	for name, data := range inputs {
		for _, era := range []byte{'a', 'c', 'd', 'e'} {
			runBoth(t, name, data, Options{Era: era, Top: 20}, timestampBudget)
		}
		runBoth(t, name, data, Options{}, 0)
		runBoth(t, name, data, Options{}, 64)
	}
	gen := inputs["gen0"][:20_000]
	for n := 0; n < len(gen); n += 997 {
		runBoth(t, fmt.Sprintf("gen0[:%d]", n), gen[:n], Options{}, timestampBudget)
	}
	for i := pypy.HeaderSize; i < len(gen); i += 211 {
		d := bytes.Clone(gen)
		d[i] ^= 1 << (i % 8)
		runBoth(t, fmt.Sprintf("gen0 flip %d", i), d, Options{Era: 'a' + byte(i%5)}, timestampBudget)
	}
}

// TestC8ScanInevQueue: runs of ends of waits for the inevitable
// transaction longer than scan's queue (pendInev), between
// contentions whose conflicts come after them in file order, from
// interleaved threads, give what reading each record with Next gives.
func TestC8ScanInevQueue(t *testing.T) {
	var recs []pypyRec
	ns := uint32(0)
	add := func(th uint32, ev uint8, m string) {
		ns += 1000 + 37*uint32(len(recs)%7)
		recs = append(recs, pypyRec{ns / 1e9, ns % 1e9, th, ev, m})
	}
	// Markers past markerBuf's head too (copied in two parts).
	long1, long2 := strings.Repeat("l", 60)+"ong (#65)", strings.Repeat("L", 245)+"ong (#255)"
	marks := []string{"inev a (#1)", "inev b (#2)", long1, "inev c (#3)", "x (#4)", "inev-e", long2}
	for i := range 600 {
		th := uint32(i%3) + 1
		add(th, pypy.EvStart, "")
		add(th, pypy.EvBecomeInevitable, marks[(i/7)%len(marks)])
		add(th, pypy.EvWaitOtherInev, "")
		add(th, pypy.EvWaitDone, "")
		if i%150 == 149 {
			add(th, pypy.EvWriteRead, marks[i%len(marks)])
			add(th, pypy.EvAbort, "")
			continue
		}
		add(th, pypy.EvCommit, "")
	}
	data := pypyLog(recs...)
	runBoth(t, "inev runs", data, Options{Top: 50}, timestampBudget)
	runBoth(t, "inev runs, two passes", data, Options{Top: 50}, 0)
	var out, errOut bytes.Buffer
	if err := run(&out, &errOut, bytes.NewReader(data), Options{Top: 50}, timestampBudget); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{long1, long2} {
		if !strings.Contains(out.String(), "x STM_BECOME_INEVITABLE)\n  "+m+"\n") {
			t.Errorf("no inevitable conflict with the %d-byte marker %q\n%s", len(m), m, tail(out.String()))
		}
	}
}

// TestSameMarker: sameMarker finds every differing byte of markers of
// every length it takes (32-255 bytes), the bytes past the marker in its
// second argument's array (the window) do not count, and markers of
// different lengths differ.
func TestSameMarker(t *testing.T) {
	var a, b [pypy.C8MaxRecord - 14]byte
	for i := range a {
		a[i] = byte(i*7 + 3)
	}
	for n := 32; n <= len(a); n++ {
		b = a
		for i := n; i < len(b); i++ {
			b[i] = ^a[i]
		}
		if !sameMarker(a[:n], b[:n]) {
			t.Fatalf("length %d: equal markers compare different", n)
		}
		for i := range n {
			b[i] ^= 0x20
			if sameMarker(a[:n], b[:n]) {
				t.Fatalf("length %d: a difference at byte %d is not seen", n, i)
			}
			b[i] ^= 0x20
		}
		if sameMarker(a[:n], b[:n-1]) || n < len(a) && sameMarker(a[:n], b[:n+1]) {
			t.Fatalf("length %d: a marker one byte shorter or longer compares equal", n)
		}
	}
}

// TestLookupSlotCollision: markers that share recent's slot (same event,
// length and last two bytes) but differ elsewhere are different
// conflicts, looked up alternately.
func TestLookupSlotCollision(t *testing.T) {
	s := newC8Summary(pypy.EraE)
	var x, y [pypy.C8MaxRecord - 14]byte
	copy(x[:], `File "src/app.py", line 7, in add_item (#41)`)
	copy(y[:], `File "src/app.py", line 9, in add_item (#41)`)
	n := len(`File "src/app.py", line 7, in add_item (#41)`)
	if recentSlot(pypy.EvWriteRead, x[:n]) != recentSlot(pypy.EvWriteRead, y[:n]) {
		t.Fatal("the two markers should share a slot")
	}
	for range 3 {
		s.lookup(pypy.EvWriteRead, &x, n)
		s.lookup(pypy.EvWriteRead, &y, n)
		s.lookup(pypy.EvWriteRead, &y, n)
	}
	if len(s.list) != 2 || s.list[0].marker != string(x[:n]) || s.list[0].n != 3 || s.list[1].n != 6 {
		for _, c := range s.list {
			t.Logf("%q %d", c.marker, c.n)
		}
		t.Fatalf("want 2 conflicts, x 3 times and y 6 times")
	}
}

// TestFlushSlotCollision: flush's inline cache hit (markers of 33-64
// bytes) tells apart markers that share recent's slot and differ in one
// byte anywhere but the last two, or in length (a marker and a longer one
// that starts with it), and counts each as reading every record with Next
// does.
func TestFlushSlotCollision(t *testing.T) {
	var recs []pypyRec
	ns := uint32(0)
	add := func(th uint32, ev uint8, m string) {
		ns += 1000
		recs = append(recs, pypyRec{ns / 1e9, ns % 1e9, th, ev, m})
	}
	var marks []string
	for _, n := range []int{32, 33, 48, 64, 65} {
		base := bytes.Repeat([]byte("m"), n-5)
		base = append(base, " (#7)"...)
		marks = append(marks, string(base))
		for _, i := range []int{0, 1, n / 2, n - 33, n - 32, n - 3} {
			if i < 0 || i >= n-2 {
				continue
			}
			m := bytes.Clone(base)
			if m[i] = 'x'; slices.Contains(marks, string(m)) {
				continue
			}
			if recentSlot(pypy.EvWriteRead, m) != recentSlot(pypy.EvWriteRead, base) {
				t.Fatal("the markers should share a slot")
			}
			marks = append(marks, string(m))
		}
	}
	// A longer marker that starts with a shorter one, in its slot.
	short := []byte(marks[slices.IndexFunc(marks, func(m string) bool { return len(m) == 48 })])
find:
	for a := range 256 {
		for b := range 256 {
			long := append(bytes.Clone(short), "  "...)
			long[len(long)-2], long[len(long)-1] = byte(a), byte(b)
			if recentSlot(pypy.EvWriteRead, long) == recentSlot(pypy.EvWriteRead, short) {
				marks = append(marks, string(long))
				break find
			}
		}
	}
	for i := range 3000 {
		th := uint32(i%3) + 1
		add(th, pypy.EvStart, "")
		add(th, pypy.EvWriteRead, marks[(i*7)%len(marks)])
		add(th, pypy.EvAbort, "")
	}
	data := pypyLog(recs...)
	runBoth(t, "slot collisions", data, Options{Top: 100}, timestampBudget)
	var out, errOut bytes.Buffer
	if err := run(&out, &errOut, bytes.NewReader(data), Options{Top: 100}, timestampBudget); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(out.String(), "x STM_CONTENTION_WRITE_READ)"), len(marks); got != want {
		t.Fatalf("%d conflicts printed, want %d (one per marker)\n%s", got, want, tail(out.String()))
	}
}

// TestC8StepAgrees: c8Step (summarizeSplit's check of the records a part
// left) gives every event, from every flags and state, the flags and state
// that record leaves the thread in.
func TestC8StepAgrees(t *testing.T) {
	s := newC8Summary(pypy.EraE)
	raw := map[uint8]uint8{}
	for i, ev := range s.table {
		raw[ev] = uint8(i)
	}
	var b [pypy.C8MaxRecord]byte
	b[8], b[13] = 1, 5 // thread 1, a 5-byte marker
	for st := range 256 {
		for ev, r := range raw {
			th := s.thread(1)
			*th = c8Thread{index: th.index, prevState: uint8(st) & tsState,
				freeSegment: st&tsFreeSeg != 0, inMinor: st&tsMinor != 0, inMajor: st&tsMajor != 0,
				inev: st&tsInev != 0, inevWaiting: st&tsInevWaiting != 0, aborting: st&tsAborting != 0}
			b[12] = r
			s.record(b[:])
			s.pend.n = 0
			if got, want := th.flags(), c8Step(uint8(st), ev); got != want {
				t.Errorf("flags %08b, %s: the record leaves %08b, c8Step says %08b", st, pypy.C8Name(ev), got, want)
			}
		}
	}
}

// TestC8SplitAtAnOffset: a log read from a reader already past other
// bytes (the parts are read at offsets from where the log starts) is
// analyzed in parts as one read from its start.
func TestC8SplitAtAnOffset(t *testing.T) {
	defer func() { splitSize = 0 }()
	splitSize = 4099
	var b bytes.Buffer
	if _, err := pypygen.Write(&b, pypygen.Config{Seed: 12, Threads: 4, Records: 20_000}); err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte("junk"), 1000)
	report := func(jobs int, skip int) string {
		r := bytes.NewReader(append(bytes.Clone(junk[:skip]), b.Bytes()...))
		if _, err := r.Seek(int64(skip), io.SeekStart); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		err := run(&out, &errOut, r, Options{Jobs: jobs}, timestampBudget)
		return fmt.Sprintf("%s\n--- stderr\n%s\n--- error %v", out.String(), errOut.String(), err)
	}
	want := report(1, 0)
	splitMerged.Store(0)
	if got := report(2, 3001); got != want {
		t.Fatalf("read from byte 3001 in parts: not the report %s", firstDiff(want, got))
	}
	if splitMerged.Load() == 0 {
		t.Error("no part merged: the parts were not read where the log is")
	}
}

// TestC8SplitConcurrent: passes in parts running at once (a program that
// writes two reports at a time) share nothing but the pool of parts, and
// each prints what one pass alone prints (go test -race checks the rest).
func TestC8SplitConcurrent(t *testing.T) {
	defer func() { splitSize = 0 }()
	splitSize = 4099
	var b bytes.Buffer
	if _, err := pypygen.Write(&b, pypygen.Config{Seed: 11, Threads: 4, Records: 20_000}); err != nil {
		t.Fatal(err)
	}
	report := func() string {
		var out, errOut bytes.Buffer
		err := run(&out, &errOut, bytes.NewReader(b.Bytes()), Options{Jobs: 2}, timestampBudget)
		return fmt.Sprintf("%s\n--- stderr\n%s\n--- error %v", out.String(), errOut.String(), err)
	}
	want := report()
	got := make(chan string)
	for range 4 {
		go func() { got <- report() }()
	}
	for range 4 {
		if g := <-got; g != want {
			t.Fatalf("a pass run beside others: not the report %s", firstDiff(want, g))
		}
	}
}
