package pypyreport

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sort"
	"unsafe"

	"github.com/stmlog/stmlog/logformat/pypy"
)

const (
	stStop uint8 = iota
	stRun
	stPause
	stDetached
)

type c8Thread struct {
	// the sums: [0] CPU time of committed transactions, [1] of aborted
	// ones (end's index), [2] minor and [3] major collections
	sums      [4]float64
	nEnded    [2]int64 // committed, aborted
	cpuPaused float64

	// What the thread's records leave for its next ones.

	prevTime  float64
	prevState uint8

	// flags, side by side: START clears the first five with one store
	aborting, freeSegment, inev, inevWaiting, inMinor, inMajor bool

	// the transaction's time by state: tx[stRun] its CPU time, tx[stPause]
	// and tx[stDetached]; tx[stStop] sums what is never read (progress
	// adds without a branch on the state, which records make
	// unpredictable), nor is tx[stDetached]
	tx [4]float64

	// the transaction's first BECOME_INEVITABLE or REATTACH record (inev)
	inevEvent              uint8
	inevLen                uint8     // of its marker,
	inevMarker             markerBuf // which starts here
	inevSec, inevNsec      uint32
	inevWaitStart          float64
	minorStart, majorStart float64

	index uint32 // in c8Summary.threads
}

// c8Term is a term of thread th's sums[k], and p one of its cpuPaused
// (+0 for a collection's: adding +0 leaves a sum that is never -0 as it
// is).
type c8Term struct {
	a, p float64
	th   uint32
	k    uint8
}

func (t *c8Thread) progress(now float64, state uint8) {
	t.tx[t.prevState&3] += now - t.prevTime
	t.prevTime, t.prevState = now, state
}

// What each event does to its thread, but for the conflicts (record).

func (t *c8Thread) start(now float64) {
	t.tx = [4]float64{}
	// The original forgets a free-segment wait here too: one that ended in
	// an ABORT instead of a WAIT_DONE must not turn this transaction's next
	// WAIT_DONE into a stop (docs/pypy-log-format.md §4.1).
	t.aborting, t.freeSegment, t.inev, t.inevWaiting, t.inMinor = false, false, false, false, false
	t.progress(now, stRun)
}

// end is COMMIT (ev EvCommit) and ABORT (EvAbort): one arm of scan's
// switch for both, the sums picked by index, not by a branch (the jump's
// targets are as unpredictable as the threads' interleaving; one target
// fewer is one confusion fewer).
func (t *c8Thread) end(ev uint8, now float64) {
	t.progress(now, stStop)
	k := (ev - pypy.EvCommit) & 1
	t.sums[k] += t.tx[stRun]
	t.cpuPaused += t.tx[stPause]
	t.nEnded[k]++
}

// wait is WAIT_FREE_SEGMENT, WAIT_SYNCING, WAIT_SYNC_PAUSE and
// WAIT_OTHER_INEVITABLE.
func (t *c8Thread) wait(ev uint8, now float64) {
	if ev == pypy.EvWaitFreeSegment {
		t.freeSegment = true
	}
	t.progress(now, stPause)
	if ev == pypy.EvWaitOtherInev && t.inev {
		t.inevWaiting, t.inevWaitStart = true, now
	}
}

// waitDone is WAIT_DONE but for the wait for the inevitable transaction.
func (t *c8Thread) waitDone(now float64) {
	if t.freeSegment {
		// Not in a transaction yet: the final analyzer's fix.
		t.freeSegment = false
		t.progress(now, stStop)
	} else {
		t.progress(now, stRun)
	}
}

func (t *c8Thread) gcMinorStart(now float64) {
	if t.prevState == stDetached {
		t.progress(now, stRun)
	}
	t.inMinor, t.minorStart = true, now
}

func (t *c8Thread) gcMinorDone(now float64) {
	if t.inMinor {
		t.sums[2] += now - t.minorStart
		t.inMinor = false
	}
}

func (t *c8Thread) gcMajorStart(now float64) { t.inMajor, t.majorStart = true, now }

func (t *c8Thread) gcMajorDone(now float64) {
	if t.inMajor {
		t.sums[3] += now - t.majorStart
		t.inMajor = false
	}
}

// noEvent stands for an event number out of the era's range.
const noEvent = 0xff

type c8Summary struct {
	table     []uint8
	events    *[256]uint8     // table, and noEvent past its end
	threads   []*c8Thread     // by first appearance
	small     *[256]*c8Thread // thread number → state, for small numbers
	big       map[uint32]*c8Thread
	conflicts map[string]*conflictSummary
	list      []*conflictSummary
	key       []byte
	recent    [64]*conflictSummary // by recentSlot: most lookups end here, without hashing the key
	cells     timeCells
	pend      *pending // scan's queue (flush)
	jobs      int      // Options.Jobs
	// The input at offsets, for summarizeSplit (nil: not a file): the
	// scanner's offset 0 is at raBase, raLen bytes from it.
	ra            io.ReaderAt
	raBase, raLen int64
}

func newC8Summary(era pypy.Era) *c8Summary {
	s := &c8Summary{table: era.Table(), events: new([256]uint8), pend: new(pending)}
	for i := range s.events {
		s.events[i] = noEvent
		if i < len(s.table) {
			s.events[i] = s.table[i]
		}
	}
	s.reset()
	return s
}

func (s *c8Summary) reset() {
	s.threads = nil
	s.small = new([256]*c8Thread)
	s.big = nil
	s.conflicts = make(map[string]*conflictSummary)
	s.list = nil
	s.recent = [64]*conflictSummary{}
}

func (s *c8Summary) setCells(start, stop float64) {
	s.cells = timeCells{on: true, start: start, span: stop - start, n: 60}
}

func (s *c8Summary) thread(num uint32) *c8Thread {
	if num < uint32(len(s.small)) {
		if t := s.small[num]; t != nil {
			return t
		}
	} else if t := s.big[num]; t != nil {
		return t
	}
	t := &c8Thread{index: uint32(len(s.threads))}
	if num < uint32(len(s.small)) {
		s.small[num] = t
	} else {
		if s.big == nil {
			s.big = make(map[uint32]*c8Thread)
		}
		s.big[num] = t
	}
	s.threads = append(s.threads, t)
	return t
}

// conflict is get_conflict: look up or create the (event, marker) entry.
// A log has few distinct markers, each met over and over: the entry is
// first looked for in recent, a direct-mapped cache indexed by a cheap
// function of the key (its length and last bytes), where it costs one
// comparison of the marker instead of building the map key and hashing it.
func (s *c8Summary) conflict(event uint8, marker []byte) *conflictSummary {
	c := s.find(event, marker)
	c.n++
	return c
}

// find is conflict without the count.
func (s *c8Summary) find(event uint8, marker []byte) *conflictSummary {
	slot := recentSlot(event, marker)
	if c := s.recent[slot]; c != nil && c.event == event && c.marker == string(marker) {
		return c
	}
	s.key = append(append(s.key[:0], event), marker...)
	c := s.conflicts[string(s.key)]
	if c == nil {
		c = &conflictSummary{event: event, marker: string(marker), mk: []byte(string(marker)), order: len(s.list)}
		if s.cells.on {
			c.cells = make([]int64, s.cells.n)
		}
		s.conflicts[string(s.key)] = c
		s.list = append(s.list, c)
	}
	s.recent[slot] = c
	return c
}

// lookup is conflict for the marker of n bytes at the front of mk (the
// bytes past it are whatever follows it): on a hit in recent, the marker
// is compared with the entry's by sameMarker instead of memequal.
func (s *c8Summary) lookup(event uint8, mk *[pypy.C8MaxRecord - 14]byte, n int) *conflictSummary {
	if n >= 32 {
		if c := s.recent[recentHash(event, mk, n)]; c != nil && c.event == event && sameMarker(c.mk, mk[:n]) {
			c.n++
			return c
		}
	}
	return s.conflict(event, mk[:n])
}

// recentHash is recentSlot for the marker of n (2-255) bytes at the front
// of mk, taken as an array (no slice of it to build).
func recentHash(event uint8, mk *[pypy.C8MaxRecord - 14]byte, n int) uint {
	h := uint(event)*0x9e + uint(n)*0x3b + uint(mk[n-1])*0x61 + uint(mk[n-2])*0x1d
	return (h ^ h>>6) & 63
}

// sameMarker compares a and b, of at least 32 bytes, 32 bytes at a time,
// the last 32 bytes overlapping the ones before: for most markers (33-64
// bytes) two blocks and no branch on the length beyond the loop's one,
// where a general comparison branches on the length's size class and its
// remainder, unpredictably when markers of different lengths alternate.
func sameMarker(a, b []byte) bool {
	n := len(a)
	if len(b) != n || n < 32 {
		return false
	}
	var x uint64
	for i := 0; i < n-32; i += 32 {
		x |= block32((*[32]byte)(a[i:i+32]), (*[32]byte)(b[i:i+32]))
	}
	return x|block32((*[32]byte)(a[n-32:]), (*[32]byte)(b[n-32:])) == 0
}

// block32 is nonzero if p and q differ.
func block32(p, q *[32]byte) uint64 {
	le := binary.LittleEndian
	return (le.Uint64(p[0:]) ^ le.Uint64(q[0:])) | (le.Uint64(p[8:]) ^ le.Uint64(q[8:])) |
		(le.Uint64(p[16:]) ^ le.Uint64(q[16:])) | (le.Uint64(p[24:]) ^ le.Uint64(q[24:]))
}

// recentSlot mixes the event, the length and the last two bytes of a
// marker (`… (#41)`: the bytecode offset, or the line and function): the
// markers of a log differ there far more often than in their beginnings.
func recentSlot(event uint8, marker []byte) uint8 {
	h := uint(event)*0x9e + uint(len(marker))*0x3b
	if n := len(marker); n >= 2 {
		h += uint(marker[n-1])*0x61 + uint(marker[n-2])*0x1d
	}
	return uint8((h ^ h>>6) & 63)
}

// markerBuf holds a c8 marker (up to C8MaxRecord-14 bytes) in two fields,
// so that a marker of at most markerHead bytes (most are) is copied as the
// head alone: Go copies an array field of constant size with inline moves
// (four 16-byte ones for the head), where a copy through a slice of the
// whole array is a call to memmove, and the whole array, 255 bytes, a loop.
type markerBuf struct {
	head [markerHead]byte
	tail [pypy.C8MaxRecord - 14 - markerHead]byte
}

const markerHead = 64

// bytes is m as one array (its fields are bytes side by side, no padding).
func (m *markerBuf) bytes() *[pypy.C8MaxRecord - 14]byte {
	return (*[pypy.C8MaxRecord - 14]byte)(unsafe.Pointer(m))
}

// copyFrom copies the first n bytes of the marker in src, and maybe more.
func (m *markerBuf) copyFrom(src *markerBuf, n uint8) {
	m.head = src.head
	if n > markerHead {
		m.tail = src.tail
	}
}

func (s *c8Summary) dropTimestamps(budget int) bool { return dropKept(s.list, s.cells.on, budget) }

// becomeInevitable is BECOME_INEVITABLE and REATTACH for the record b
// (C8MaxRecord bytes). The marker is copied in copies of constant size
// (see markerBuf), which Go makes without a call; binary.LittleEndian, not le32,
// keeps it within Go's inlining budget, for scan's loop (a call there
// makes Go spill the loop's registers on every record).
func (t *c8Thread) becomeInevitable(ev uint8, b []byte, now float64) {
	t.progress(now, stRun)
	if !t.inev {
		t.inev, t.inevWaiting, t.inevEvent = true, false, ev
		t.inevMarker.head = [markerHead]byte(b[14 : 14+markerHead])
		if t.inevLen = b[13]; t.inevLen > markerHead {
			t.inevMarker.tail = [len(markerBuf{}.tail)]byte(b[14+markerHead : pypy.C8MaxRecord])
		}
		t.inevSec, t.inevNsec = binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:])
	}
}

func (s *c8Summary) write(w *bufio.Writer, src *sourceCache, top int, res passResult) {
	total := res.stop - res.start
	// sum([...]) over threads in first-seen order, starting from int 0.
	var committed, aborted, paused, gcMinor, gcMajor float64
	var nCommitted, nAborted int64
	for _, t := range s.threads {
		committed += t.sums[0]
		aborted += t.sums[1]
		paused += t.cpuPaused
		gcMinor += t.sums[2]
		gcMajor += t.sums[3]
		nCommitted += t.nEnded[0]
		nAborted += t.nEnded[1]
	}
	cpuTotal := committed + aborted + paused
	nTotal := nCommitted + nAborted
	w.WriteString("\n")
	fmt.Fprintf(w, "Total real time:     %9ss\n", pyFloatW(total, 3, 9))
	line := func(head string, v float64, tail string) {
		fmt.Fprintf(w, "%s%9ss (%4s) %s\n", head, pyFloatW(v, 3, 9), pyPercent(v, total), tail)
	}
	line("CPU time in STM mode:", committed, "committed")
	line("                     ", aborted, "aborted")
	line("                     ", paused, "paused")
	line("                     ", cpuTotal, "TOTAL")
	line("           including ", gcMinor, "minor GC collections")
	line("                 and ", gcMajor, "major GC collections")
	fmt.Fprintf(w, "Total number of transactions: %6s committed: %4s aborted: %4s\n",
		pyFloatW(float64(nTotal), 0, 6), pyPercent(float64(nCommitted), float64(nTotal)),
		pyPercent(float64(nAborted), float64(nTotal)))
	fmt.Fprintf(w, "     transactions per second: %6s\n", pyFloatW(float64(nTotal)/cpuTotal, 0, 6))
	w.WriteString("\n")
	cells := timeCells{start: res.start, span: total, n: 60}
	list := sortedConflicts(s.list, top)
	counts := cellsOf(list, cells, s.jobs)
	for i, c := range list {
		fmt.Fprintf(w, "%ss lost in aborts, %ss paused (%dx %s)\n", pyFloat(c.aborted, 3), pyFloat(c.paused, 3),
			c.n, pypy.C8Name(c.event))
		src.marker(w, c.marker, false)
		w.WriteString("\ntime line: |")
		writeTimeline(w, counts[i], "_xX")
		w.WriteString("|\n\n")
	}
}

// cellsOf is cellCounts of each conflict of list; with jobs > 1 on two
// goroutines, the conflicts dealt out by their kept timestamps, the most
// first, each to the goroutine with fewer bytes so far.
func cellsOf(list []*conflictSummary, cells timeCells, jobs int) [][]int64 {
	counts := make([][]int64, len(list))
	var other []int
	if jobs > 1 && len(list) > 1 {
		order := make([]int, len(list))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return list[order[i]].tsLen > list[order[j]].tsLen })
		mine, theirs := 0, 0
		for _, i := range order {
			if theirs < mine {
				other, theirs = append(other, i), theirs+list[i].tsLen
			} else {
				mine += list[i].tsLen
			}
		}
	}
	done := make(chan struct{})
	if len(other) > 0 {
		go func() {
			for _, i := range other {
				counts[i] = list[i].cellCounts(cells)
			}
			close(done)
		}()
	}
	for i, c := range list {
		if !slices.Contains(other, i) {
			counts[i] = c.cellCounts(cells)
		}
	}
	if len(other) > 0 {
		<-done
	}
	return counts
}
