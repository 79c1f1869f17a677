package report

// This file is `stmlog report --format pypy`: for a PyPy-STM log it prints
// what PyPy's own analyzer, pypy/stm/print_stm_log.py, prints for it, byte
// for byte (reference §2), so users of the original keep their numbers.
//
// It does not go through the event model or the analyzer: it replays the
// original's per-thread state machine on raw records (pypy.Scanner), doing
// the same float64 operations in the same order (timestamps as
// sec + 1e-9*nsec, sums over threads in first-seen order, ...), because
// a different but "more exact" computation would print other digits.
// Python's '%.3f' rounds the exact binary value half-to-even, like Go's
// strconv, so the formatting needs no help except for inf/nan.
//
// Where the original crashes, this does not, and prints what the
// computation gives instead: a conflict at the very last timestamp goes in
// the last time-line cell (the original indexes cell 60 of 60); zero real
// or CPU time prints inf/nan like IEEE arithmetic; its asserts (START while
// not stopped, after a DETACH without REATTACH or a free-segment wait;
// COMMIT after a write-read contention; negative durations) are skipped.
// The free-segment wait is handled as in the final version (pypy
// 1120467b9c9): the WAIT_DONE that ends it leaves the thread stopped.
// Source lines: like linecache, a marker's file is read on this machine
// (relative names against SourceRoot, not also along Python's sys.path)
// and its line printed stripped, as bytes (no coding-cookie decoding).
//
// Stderr gets exactly what the original writes ("note: double
// STM_CONTENTION_WRITE_READ" lines, a progress percentage every 524,288
// records written the way Python 3's print(..., end=' ') does, i.e.
// followed by a space, then a newline), and then, which the original does
// not print, one "note:" line
// when the log ends in the middle of a record (the original ignores such a
// tail silently; stdout is unaffected). The percentages need the input's
// size: with a non-seekable input (a pipe, which the original cannot read
// at all) they are left out.
//
// Memory: the original keeps every conflict timestamp for the 60-cell time
// line, whose cells are only known once the last record (stop time) is
// read. Here each conflict keeps its timestamps as zigzag varint deltas of
// (sec<<32 | nsec), typically 3-4 bytes each, exact, so the time line is
// computed exactly as the original's. If they exceed pypyTimestampBudget
// and the input is seekable (a file), they are dropped and the log is read
// a second time with the stop time known, counting straight into the 60
// cells: memory stays bounded by the number of distinct conflicts, at the
// price of reading the file twice. A non-seekable input (a pipe) keeps the
// compact timestamps whatever their size.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// PyPyOptions tune WritePyPy.
type PyPyOptions struct {
	// Top is how many conflicts to print (print_stm_log.py's second
	// argument); 0 means the original's default: 5 for c8, 15 for c7,
	// unless TopGiven. A negative Top drops that many from the end, as a
	// Python slice does.
	Top int
	// TopGiven says Top was given explicitly, so that 0 prints no
	// conflicts, as "print_stm_log.py LOG 0" does.
	TopGiven bool
	// Era is the c8 event numbering, 'a'..'e' (0 = 'e', final). The report
	// layout is always the final one.
	Era byte
	// Name is the file name used in messages.
	Name string
	// SourceRoot is the directory that relative file names in markers are
	// resolved against to print source lines ("" = working directory, like
	// the original's linecache).
	SourceRoot string
}

// pypyTimestampBudget bounds the bytes of compact conflict timestamps kept
// for a seekable input before switching to a second pass.
const pypyTimestampBudget = 64 << 20

// pypyProgressEvery is the original's progress interval (0x80000 records).
const pypyProgressEvery = 0x80000

// WritePyPy reads a PyPy-STM c7 or c8 log from r and writes the report of
// print_stm_log.py to stdout and its messages to stderr. Errors (not a
// PyPy-STM log, no record, an event number out of range, decreasing
// timestamps in an era-d/e log) name the file and byte offset; nothing is
// written to stdout then.
func WritePyPy(stdout, stderr io.Writer, r io.Reader, opt PyPyOptions) error {
	return writePyPy(stdout, stderr, r, opt, pypyTimestampBudget)
}

func writePyPy(stdout, stderr io.Writer, r io.Reader, opt PyPyOptions, budget int) error {
	name := opt.Name
	if name == "" {
		name = "PyPy-STM log"
	}
	// The size gives the progress percentages; seekability the second pass.
	var size int64 = -1
	var base int64
	seeker, _ := r.(io.Seeker)
	if seeker != nil {
		b, err1 := seeker.Seek(0, io.SeekCurrent)
		e, err2 := seeker.Seek(0, io.SeekEnd)
		_, err3 := seeker.Seek(b, io.SeekStart)
		if err1 != nil || err2 != nil || err3 != nil {
			seeker = nil // a pipe behind *os.File
		} else {
			base, size = b, e-b
		}
	}
	sc, err := pypy.NewScanner(r, name, pypy.Era(opt.Era))
	if err != nil {
		return err
	}
	errw := bufio.NewWriter(stderr)
	defer errw.Flush()
	if seeker == nil {
		budget = math.MaxInt
	}
	var rep pypyReport
	if sc.Format() == pypy.C7 {
		rep = &c7Summary{}
	} else {
		rep = newC8Summary(sc.Era())
	}
	res, err := pypySummarize(sc, rep, errw, size, budget)
	if err != nil {
		return err
	}
	if res.overBudget {
		if _, err := seeker.Seek(base, io.SeekStart); err != nil {
			return fmt.Errorf("%s: second pass: %w", name, err)
		}
		sc2, err := pypy.NewScanner(r, name, pypy.Era(opt.Era))
		if err != nil {
			return fmt.Errorf("%s: second pass: %w", name, err)
		}
		rep.reset()
		rep.setCells(res.start, res.stop)
		if _, err := pypySummarize(sc2, rep, io.Discard, -1, math.MaxInt); err != nil {
			return fmt.Errorf("%s: second pass: %w", name, err)
		}
	}
	errw.WriteString("\n")
	if n := sc.Truncated(); n > 0 {
		if res.cut > 0 {
			fmt.Fprintf(errw, "note: %s: the log ends in the middle of a record: the record at byte offset %d misses %d marker bytes; its partial marker was used, as print_stm_log.py does\n",
				name, sc.Offset(), res.cut)
		} else {
			fmt.Fprintf(errw, "note: %s: the log ends in the middle of a record: the last %d bytes (from byte offset %d) were ignored, as print_stm_log.py does\n",
				name, n, sc.Consumed()-n)
		}
	}
	out := bufio.NewWriter(stdout)
	src := &pypySources{root: opt.SourceRoot, files: map[string][][]byte{}}
	top := opt.Top
	if top == 0 && !opt.TopGiven {
		top = 5
		if _, c7 := rep.(*c7Summary); c7 {
			top = 15
		}
	}
	rep.write(out, src, top, res)
	if err := out.Flush(); err != nil {
		return err
	}
	return errw.Flush()
}

// pypyReport is one of the two analyzers (c8 final, c7).
type pypyReport interface {
	// dropTimestamps drops the kept conflict timestamps and reports true
	// if they exceed budget bytes.
	dropTimestamps(budget int) bool
	// reset forgets everything, for a second pass.
	reset()
	// setCells makes the conflicts count time-line cells directly.
	setCells(start, stop float64)
	// write prints the report.
	write(w *bufio.Writer, src *pypySources, top int, res pypyPass)
}

type pypyPass struct {
	start, stop float64
	cut         int  // marker bytes missing in a cut last record
	overBudget  bool // timestamps were dropped: a second pass is needed
}

// pypyTime is print_stm_log.py's timestamp, sec + 0.000000001 * nsec. The
// conversion of the product keeps the compiler from fusing it into an FMA,
// which would round once instead of twice and change the last bit.
func pypyTime(sec, nsec uint32) float64 {
	return float64(sec) + float64(0.000000001*float64(nsec))
}

func pypySummarize(sc *pypy.Scanner, rep pypyReport, errw io.Writer, size int64, budget int) (pypyPass, error) {
	var res pypyPass
	var rec pypy.Record
	frac := 1.0 / float64(size)
	checkOrder := sc.Format() == pypy.C8 && sc.Era().MonotonicClock()
	prev := -1.0
	var cnt int64
	var ts float64
	// Call the concrete analyzer directly, not through the interface: a
	// 500 MB log has 25 million records.
	c8, _ := rep.(*c8Summary)
	c7, _ := rep.(*c7Summary)
	for {
		err := sc.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		ts = pypyTime(rec.Sec, rec.Nsec)
		if checkOrder {
			if ts < prev {
				return res, fmt.Errorf("%s: byte offset %d: decreasing timestamps: %.9f -> %.9f", sc.Name(), sc.Offset(), prev, ts)
			}
			prev = ts
		}
		if cnt&(pypyProgressEvery-1) == 0 {
			if cnt == 0 {
				res.start = ts
			} else if size > 0 {
				io.WriteString(errw, pyFloat(float64(sc.Consumed())*frac*100.0, 0)+"% ")
			}
			if !res.overBudget && cnt != 0 && rep.dropTimestamps(budget) {
				res.overBudget = true
			}
		}
		cnt++
		if c8 != nil {
			c8.record(&rec, ts, errw)
		} else {
			c7.record(&rec, ts, errw)
		}
		res.cut = rec.Cut
	}
	res.stop = ts
	if !res.overBudget && rep.dropTimestamps(budget) {
		res.overBudget = true
	}
	return res, nil
}

// ---------------------------------------------------------------- c8

const (
	stStop uint8 = iota
	stRun
	stPause
	stDetached
)

type c8Thread struct {
	cpuCommitted, cpuAborted, cpuPaused, gcMinor, gcMajor float64
	nCommitted, nAborted                                  int64

	prevTime  float64
	prevState uint8

	txCPU, txPause, txDetached float64
	aborting                   bool
	freeSegment                bool

	// the transaction's first BECOME_INEVITABLE or REATTACH record
	inev                   bool
	inevEvent              uint8
	inevMarker             []byte
	inevSec, inevNsec      uint32
	inevWaiting            bool
	inevWaitStart          float64
	inMinor, inMajor       bool
	minorStart, majorStart float64
}

func (t *c8Thread) progress(now float64, state uint8) {
	add := now - t.prevTime
	switch t.prevState {
	case stRun:
		t.txCPU += add
	case stPause:
		t.txPause += add
	case stDetached:
		t.txDetached += add
	}
	t.prevTime, t.prevState = now, state
}

type pypyConflict struct {
	event           uint8
	marker, marker2 string
	aborted, paused float64
	n               int64
	ts              [][]byte // zigzag varint deltas of sec<<32|nsec, in chunks
	tsLen           int      // bytes in ts
	lastKey         uint64
	cells           []int64 // second pass: counts per time-line cell
	order           int     // creation order (Python dict order)
}

func (c *pypyConflict) addTime(sec, nsec uint32, cells *pypyCells) {
	if cells.on {
		c.cells[cells.index(pypyTime(sec, nsec))]++
		return
	}
	key := uint64(sec)<<32 | uint64(nsec)
	d := int64(key - c.lastKey)
	c.lastKey = key
	// Chunks that grow to 64 KB and are never copied: a hot conflict of a
	// big log has megabytes of timestamps.
	last := len(c.ts) - 1
	if last < 0 || cap(c.ts[last])-len(c.ts[last]) < binary.MaxVarintLen64 {
		size := 64
		if last >= 0 {
			size = min(2*cap(c.ts[last]), 64<<10)
		}
		c.ts = append(c.ts, make([]byte, 0, size))
		last++
	}
	n := len(c.ts[last])
	c.ts[last] = binary.AppendVarint(c.ts[last], d)
	c.tsLen += len(c.ts[last]) - n
}

// cellCounts returns c's events per timeline cell: counted in the second
// pass, or now from the timestamps kept in the first.
func (c *pypyConflict) cellCounts(cells pypyCells) []int64 {
	if c.cells != nil {
		return c.cells
	}
	counts := make([]int64, cells.n)
	c.timestamps(func(sec, nsec uint32) { counts[cells.index(pypyTime(sec, nsec))]++ })
	return counts
}

// timestamps decodes c.ts.
func (c *pypyConflict) timestamps(f func(sec, nsec uint32)) {
	var key uint64
	for _, b := range c.ts {
		for len(b) > 0 {
			d, n := binary.Varint(b)
			if n <= 0 {
				return // cannot happen: c.ts is only written by addTime
			}
			b = b[n:]
			key += uint64(d)
			f(uint32(key>>32), uint32(key))
		}
	}
}

// pypyCells maps a timestamp to its time-line cell, given the start and
// stop time; on is false in a first pass (stop not known yet).
type pypyCells struct {
	on          bool
	start, span float64
	n           int
}

// index is print_stm_log.py's int((t - start_time) / total_time * n),
// kept inside the n cells where Python would fail or wrap: a negative
// index counts from the end like a Python list index, anything past the
// end (the original's IndexError at t == stop_time) is the last cell.
func (p *pypyCells) index(t float64) int {
	x := (t - p.start) / p.span * float64(p.n)
	switch {
	case x != x: // NaN: zero real time
		return 0
	case x >= float64(p.n):
		return p.n - 1
	case x <= -float64(p.n)-1:
		return 0
	}
	i := int(x)
	if i < 0 {
		i += p.n
	}
	return i
}

type c8Summary struct {
	table     []uint8
	threads   []*c8Thread // by first appearance
	small     []*c8Thread // thread number → state, for small numbers
	big       map[uint32]*c8Thread
	conflicts map[string]*pypyConflict
	list      []*pypyConflict
	key       []byte
	last      *pypyConflict // the conflict found last: often the next one too
	cells     pypyCells
}

func newC8Summary(era pypy.Era) *c8Summary {
	s := &c8Summary{table: era.Table()}
	s.reset()
	return s
}

func (s *c8Summary) reset() {
	s.threads = nil
	s.small = make([]*c8Thread, 256)
	s.big = nil
	s.conflicts = make(map[string]*pypyConflict)
	s.list = nil
	s.last = nil
}

func (s *c8Summary) setCells(start, stop float64) {
	s.cells = pypyCells{on: true, start: start, span: stop - start, n: 60}
}

func (s *c8Summary) thread(num uint32) *c8Thread {
	if num < uint32(len(s.small)) {
		if t := s.small[num]; t != nil {
			return t
		}
	} else if t := s.big[num]; t != nil {
		return t
	}
	t := &c8Thread{}
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
func (s *c8Summary) conflict(event uint8, marker []byte) *pypyConflict {
	if c := s.last; c != nil && c.event == event && c.marker == string(marker) {
		c.n++
		return c
	}
	s.key = append(append(s.key[:0], event), marker...)
	c := s.conflicts[string(s.key)]
	if c == nil {
		c = &pypyConflict{event: event, marker: string(marker), order: len(s.list)}
		if s.cells.on {
			c.cells = make([]int64, s.cells.n)
		}
		s.conflicts[string(s.key)] = c
		s.list = append(s.list, c)
	}
	s.last = c
	c.n++
	return c
}

func (s *c8Summary) dropTimestamps(budget int) bool { return pypyDrop(s.list, s.cells.on, budget) }

// pypyDrop drops the kept timestamps if they exceed budget bytes (and the
// time-line cells are not counted directly already).
func pypyDrop(list []*pypyConflict, on bool, budget int) bool {
	if on {
		return false
	}
	total := 0
	for _, c := range list {
		total += c.tsLen
	}
	if total <= budget {
		return false
	}
	for _, c := range list {
		c.ts, c.tsLen = nil, 0
	}
	return true
}

func (s *c8Summary) record(rec *pypy.Record, now float64, note io.Writer) {
	t := s.thread(rec.Thread)
	ev := s.table[rec.Event]
	switch ev {
	case pypy.EvStart:
		t.txCPU, t.txPause, t.txDetached = 0, 0, 0
		t.aborting, t.inev, t.inevWaiting, t.inMinor = false, false, false, false
		t.progress(now, stRun)
	case pypy.EvDetach:
		t.progress(now, stDetached)
	case pypy.EvReattach:
		t.progress(now, stRun)
		s.becomeInevitable(t, rec, now)
	case pypy.EvCommit:
		t.progress(now, stStop)
		t.cpuCommitted += t.txCPU
		t.cpuPaused += t.txPause
		t.nCommitted++
	case pypy.EvAbort:
		t.progress(now, stStop)
		t.cpuAborted += t.txCPU
		t.cpuPaused += t.txPause
		t.nAborted++
	case pypy.EvBecomeInevitable:
		s.becomeInevitable(t, rec, now)
	case pypy.EvWriteRead:
		if t.aborting {
			io.WriteString(note, "note: double STM_CONTENTION_WRITE_READ\n")
			return
		}
		t.aborting = true
		c := s.conflict(ev, rec.Marker)
		c.addTime(rec.Sec, rec.Nsec, &s.cells)
		t.progress(now, stRun)
		c.aborted += t.txCPU
		c.paused += t.txPause
	case pypy.EvWaitFreeSegment, pypy.EvWaitSyncing, pypy.EvWaitSyncPause, pypy.EvWaitOtherInev:
		if ev == pypy.EvWaitFreeSegment {
			t.freeSegment = true
		}
		t.progress(now, stPause)
		if ev == pypy.EvWaitOtherInev && t.inev {
			t.inevWaiting, t.inevWaitStart = true, now
		}
	case pypy.EvWaitDone:
		if t.freeSegment {
			// Not in a transaction yet: the final analyzer's fix.
			t.freeSegment = false
			t.progress(now, stStop)
		} else {
			t.progress(now, stRun)
		}
		if t.inev && t.inevWaiting {
			wait := now - t.inevWaitStart
			c := s.conflict(t.inevEvent, t.inevMarker)
			c.addTime(t.inevSec, t.inevNsec, &s.cells)
			c.paused += wait
			t.inevWaiting = false
		}
	case pypy.EvGCMinorStart:
		if t.prevState == stDetached {
			t.progress(now, stRun)
		}
		t.inMinor, t.minorStart = true, now
	case pypy.EvGCMinorDone:
		if t.inMinor {
			t.gcMinor += now - t.minorStart
			t.inMinor = false
		}
	case pypy.EvGCMajorStart:
		t.inMajor, t.majorStart = true, now
	case pypy.EvGCMajorDone:
		if t.inMajor {
			t.gcMajor += now - t.majorStart
			t.inMajor = false
		}
	}
}

func (s *c8Summary) becomeInevitable(t *c8Thread, rec *pypy.Record, now float64) {
	t.progress(now, stRun)
	if !t.inev {
		t.inev = true
		t.inevEvent = s.table[rec.Event]
		t.inevMarker = append(t.inevMarker[:0], rec.Marker...)
		t.inevSec, t.inevNsec = rec.Sec, rec.Nsec
		t.inevWaiting = false
	}
}

// pypySorted is get_conflicts()[:top]: sort by aborted+paused ascending
// (stable, so ties keep the dict's creation order), then reverse, so
// ties come out in reverse creation order, as in the samples.
func pypySorted(list []*pypyConflict, top int) []*pypyConflict {
	v := append([]*pypyConflict(nil), list...)
	sort.SliceStable(v, func(i, j int) bool {
		return v[i].aborted+v[i].paused < v[j].aborted+v[j].paused
	})
	for i, j := 0, len(v)-1; i < j; i, j = i+1, j-1 {
		v[i], v[j] = v[j], v[i]
	}
	// values[:top], Python slice semantics.
	if top < 0 {
		top += len(v)
		if top < 0 {
			top = 0
		}
	}
	if top < len(v) {
		v = v[:top]
	}
	return v
}

func (s *c8Summary) write(w *bufio.Writer, src *pypySources, top int, res pypyPass) {
	total := res.stop - res.start
	// sum([...]) over threads in first-seen order, starting from int 0.
	var committed, aborted, paused, gcMinor, gcMajor float64
	var nCommitted, nAborted int64
	for _, t := range s.threads {
		committed += t.cpuCommitted
		aborted += t.cpuAborted
		paused += t.cpuPaused
		gcMinor += t.gcMinor
		gcMajor += t.gcMajor
		nCommitted += t.nCommitted
		nAborted += t.nAborted
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
	cells := pypyCells{start: res.start, span: total, n: 60}
	for _, c := range pypySorted(s.list, top) {
		counts := c.cellCounts(cells)
		fmt.Fprintf(w, "%ss lost in aborts, %ss paused (%dx %s)\n", pyFloat(c.aborted, 3), pyFloat(c.paused, 3),
			c.n, pypy.C8Name(c.event))
		src.marker(w, c.marker, false)
		w.WriteString("\ntime line: |")
		pypyTimeline(w, counts, "_xX")
		w.WriteString("|\n\n")
	}
}

// pypyTimeline writes the cells: ' ' for none, else glyphs[int(count /
// (max+0.1) * len(glyphs))] (c8); c7 passes "x" and '.' for empty.
func pypyTimeline(w *bufio.Writer, counts []int64, glyphs string) {
	var m int64
	for _, n := range counts {
		m = max(m, n)
	}
	maxEv := float64(m) + 0.1
	for _, n := range counts {
		if n == 0 {
			w.WriteByte(' ')
			continue
		}
		w.WriteByte(glyphs[int(float64(n)/maxEv*float64(len(glyphs)))])
	}
}

// ---------------------------------------------------------------- c7

// c7Summary is the c7 analyzer (pypy c2125c949c7): threads exist from their
// first START, conflicts are keyed by (event, marker 1, marker 2) and
// charged to the thread that pays for them.
type c7Summary struct {
	threads   []*c7Thread
	byNum     map[uint32]*c7Thread
	conflicts map[string]*pypyConflict
	list      []*pypyConflict
	key       []byte
	cells     pypyCells
}

type c7Thread struct {
	cpu        float64
	inTx       bool
	start      float64
	pausedTime float64
	pausing    bool
	pauseStart float64
	conflict   *pypyConflict
	remote     bool   // the conflict was moved here by ABORTING_OTHER
	other      uint32 // the other thread of the pending local conflict
}

func (s *c7Summary) reset() {
	s.threads = nil
	s.byNum = make(map[uint32]*c7Thread)
	s.conflicts = make(map[string]*pypyConflict)
	s.list = nil
}

func (s *c7Summary) setCells(start, stop float64) {
	s.cells = pypyCells{on: true, start: start, span: stop - start, n: 48}
}

func (s *c7Summary) dropTimestamps(budget int) bool { return pypyDrop(s.list, s.cells.on, budget) }

func (s *c7Summary) record(rec *pypy.Record, now float64, _ io.Writer) {
	if s.byNum == nil {
		s.reset()
	}
	t := s.byNum[rec.Thread]
	switch rec.Event {
	case pypy.C7Start:
		if t == nil {
			t = &c7Thread{}
			s.byNum[rec.Thread] = t
			s.threads = append(s.threads, t)
		}
		t.inTx, t.start, t.conflict, t.pausing, t.pausedTime = true, now, nil, false, 0
	case pypy.C7Commit, pypy.C7Abort:
		if t == nil || !t.inTx {
			return
		}
		tx := now - t.start
		tx -= t.pausedTime
		t.cpu += tx
		t.inTx, t.pausing = false, false
		if t.conflict != nil && rec.Event == pypy.C7Abort {
			t.conflict.aborted += tx
			t.conflict.paused += 0.000001 // PAUSE_AFTER_ABORT, the usleep(1) after an abort
			t.conflict = nil
		}
	case pypy.C7WriteWrite, pypy.C7WriteRead, pypy.C7Inevitable:
		s.key = append(s.key[:0], rec.Event, byte(len(rec.Marker)))
		s.key = append(append(s.key, rec.Marker...), rec.Marker2...)
		c := s.conflicts[string(s.key)]
		if c == nil {
			c = &pypyConflict{event: rec.Event, marker: string(rec.Marker), marker2: string(rec.Marker2), order: len(s.list)}
			if s.cells.on {
				c.cells = make([]int64, s.cells.n)
			}
			s.conflicts[string(s.key)] = c
			s.list = append(s.list, c)
		}
		c.n++
		c.addTime(rec.Sec, rec.Nsec, &s.cells)
		if t != nil && t.inTx {
			t.conflict, t.remote, t.other = c, false, rec.Other
		}
	case pypy.C7AbortingOther:
		if t != nil && t.conflict != nil && !t.remote {
			c, other := t.conflict, t.other
			t.conflict = nil
			if t2 := s.byNum[other]; t2 != nil && t2.inTx {
				t2.conflict, t2.remote = c, true
			}
		}
	case pypy.C7WaitSyncPause, pypy.C7WaitContention, pypy.C7WaitFreeSegment:
		if t != nil && t.inTx {
			t.pausing, t.pauseStart = true, now
		}
	case pypy.C7WaitDone:
		if t == nil || !t.inTx || !t.pausing {
			return
		}
		p := now - t.pauseStart
		t.pausedTime += p
		t.pausing = false
		if t.conflict != nil && !t.remote {
			t.conflict.paused += p
			t.conflict = nil
		}
	}
}

func (s *c7Summary) write(w *bufio.Writer, src *pypySources, top int, res pypyPass) {
	total := res.stop - res.start
	var cpu float64
	for _, t := range s.threads {
		cpu += t.cpu
	}
	w.WriteString("\n")
	fmt.Fprintf(w, "Total real time:             %ss\n", pyFloat(total, 3))
	fmt.Fprintf(w, "Total CPU time in STM mode:  %ss (%s)\n", pyFloat(cpu, 3), pyPercent(cpu, total))
	w.WriteString("\n")
	cells := pypyCells{start: res.start, span: total, n: 48}
	for _, c := range pypySorted(s.list, top) {
		counts := c.cellCounts(cells)
		fmt.Fprintf(w, "%ss lost in aborts, %ss paused (%dx %s)\n", pyFloat(c.aborted, 3), pyFloat(c.paused, 3),
			c.n, pypy.C7Name(c.event))
		src.marker(w, c.marker, true)
		if c.marker2 != "" {
			w.WriteString("\n")
			src.marker(w, c.marker2, true)
		}
		w.WriteString("\ntime line: ")
		for _, n := range counts {
			if n != 0 {
				w.WriteByte('x')
			} else {
				w.WriteByte('.')
			}
		}
		w.WriteString("\n\n")
	}
}

// ---------------------------------------------------------------- shared

// pypySources is linecache: source files read once, split into lines.
type pypySources struct {
	root  string
	files map[string][][]byte
}

var pypyMarkerRE = regexp.MustCompile(`File "(.+)", line (\d+)`)

// marker writes print_marker(marker): "  marker", then "\n    line" with
// the stripped source line if the marker names a readable file (search in
// c8, skipping .pyc/.pyo; anchored match in c7).
func (p *pypySources) marker(w *bufio.Writer, marker string, c7 bool) {
	w.WriteString("  ")
	w.WriteString(marker)
	m := pypyMarkerRE.FindStringSubmatchIndex(marker)
	if m == nil || c7 && m[0] != 0 {
		return
	}
	file := marker[m[2]:m[3]]
	if !c7 && (hasSuffix(file, ".pyc") || hasSuffix(file, ".pyo")) {
		return
	}
	n, err := strconv.Atoi(marker[m[4]:m[5]])
	if err != nil {
		return
	}
	if line := bytes.TrimSpace(p.line(file, n)); len(line) > 0 {
		w.WriteString("\n    ")
		w.Write(line)
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// line is linecache.getline: the n-th line (from 1), "" if missing.
func (p *pypySources) line(file string, n int) []byte {
	lines, ok := p.files[file]
	if !ok {
		path := file
		if p.root != "" && !filepath.IsAbs(path) {
			path = filepath.Join(p.root, path)
		}
		if data, err := os.ReadFile(path); err == nil {
			lines = pypySplitLines(data)
		}
		p.files[file] = lines
	}
	if n < 1 || n > len(lines) {
		return nil
	}
	return lines[n-1]
}

// pypySplitLines splits on universal newlines (\n, \r\n, \r), as Python's
// text-mode readlines does.
func pypySplitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return lines
}

// pyFloat is Python's '%.<prec>f': Go's 'f' formatting rounds the exact
// binary value half-to-even like Python; only inf and nan are spelled
// differently.
func pyFloat(x float64, prec int) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case math.IsNaN(x):
		return "nan"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// pyFloatW is '%<width>.<prec>f'.
func pyFloatW(x float64, prec, width int) string {
	s := pyFloat(x, prec)
	for len(s) < width {
		s = " " + s
	}
	return s
}

// pyPercent is print_stm_log.py's percent(): '%.1f' of the ratio, cut to
// its integer part when longer than 3 characters, plus '%'.
func pyPercent(fraction, total float64) string {
	r := pyFloat(fraction*100.0/total, 1)
	if len(r) > 3 {
		if i := bytes.IndexByte([]byte(r), '.'); i >= 0 {
			r = r[:i]
		}
	}
	return r + "%"
}
