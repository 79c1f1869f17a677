package pypyreport

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// The c8 pass on two cores (Options.Jobs ≥ 2, an input read at offsets:
// a file): the log in parts of splitSize bytes, the even ones analyzed by
// the pass (c8Pass, on the calling goroutine) and the odd ones ahead of
// it by a second goroutine (c8Ahead), each from the first record of its
// part without the state the records before it leave. A thread's state
// is known again at its first STM_TRANSACTION_START in the part, if the
// transaction before it is over (its state stStop or stDetached: START's
// progress then adds to a time that is never read) and no major
// collection is open: START clears the rest. So the second goroutine
// analyzes a thread from its first START on, keeping the terms of its
// sums (c8Term: float additions in another order would change the last
// bits) and the conflicts' entries, and leaves the thread's records
// before it; when the pass gets to the part it checks that every such
// START finds the thread as assumed (verify), analyzes the records left
// and adds the part's conflicts and terms in file order (merge), and
// skips to the part's end. A part whose first record the second
// goroutine guessed wrong (resync), or whose check fails, is analyzed by
// the pass as any other: the output is the same bytes either way.

// splitSize is the length of the parts (0: from the log's length, 256 KB
// to 1 MB: longer parts held more memory and no less time; tests set
// it).
var splitSize = 0

func partSize(length int64) int64 {
	if splitSize > 0 {
		return int64(splitSize)
	}
	return min(max(length/16, 256<<10), 1<<20)
}

// c8Part is a part of the log analyzed ahead.
type c8Part struct {
	buf      []byte // the bytes from off on
	off      int64
	start    int64 // the first record's offset (-1: none found)
	end      int64 // the offset after the last record analyzed
	last     int64 // the last record's offset
	n        int64 // records
	first    float64
	lastTime float64
	syncEnd  int64       // the offset of the last record of a thread not analyzed from there on
	conf     []c8Conf    // the conflicts' entries, in file order (off: from buf[0])
	arena    []byte      // inevitable markers of conf
	terms    []c8Term    // of the threads' sums, in file order
	threads  []*c8Thread // the threads analyzed, by c8Thread.index
	nums     []uint32    // their numbers
	syncOff  []int64     // and where each starts: its first START
	cps      []c8Checkpoint
	// The entries of conf from agg on, the records after syncEnd, are
	// counted in the part's conflicts, list (c8Conf.ci), their
	// timestamps kept there too.
	agg  int
	list []*conflictSummary
}

// splitMerged and splitLeft count the parts merged and left (tests;
// atomic: passes may run at once).
var splitMerged, splitLeft atomic.Int64

// partsAhead is how many parts are in flight; partPool keeps them for the
// next pass (their buffers and entries grow to a part's size once).
const partsAhead = 3

var partPool sync.Pool

// c8Checkpoint: after n records of a part, the next one starts at off.
type c8Checkpoint struct{ n, off int64 }

// c8Ahead is the second goroutine's analyzer.
type c8Ahead struct {
	s      *c8Summary // its own, for the threads it analyzes
	ra     io.ReaderAt
	base   int64 // the scanner's offset 0 in ra
	length int64
	order  bool
	terms  c8Terms
}

// c8Terms is where scanAhead puts the terms of the sums.
type c8Terms struct {
	n int
	e [checkEvery]c8Term
}

// checkEvery is how many records scanAhead takes at most at a time: a
// checkpoint after each call (c8Part.record), and a term each at most.
const checkEvery = 4096

// part analyzes the records of the log from the first one at lo or after
// it up to the first one at hi or after it, into q.
func (w *c8Ahead) part(q *c8Part, lo, hi int64, quit *atomic.Bool) {
	s := w.s
	s.reset()
	*q = c8Part{buf: q.buf[:0], conf: q.conf[:0], arena: q.arena[:0], terms: q.terms[:0], nums: q.nums[:0],
		syncOff: q.syncOff[:0], cps: q.cps[:0], off: lo, start: -1}
	n := min(hi+scanSpan, w.length) - lo
	if n < scanSpan {
		return
	}
	if int64(cap(q.buf)) < n {
		q.buf = make([]byte, n)
	}
	// A short read (an error, a file that shrank) only makes the part
	// shorter: the pass reads on from where it ends, and reports errors.
	m, _ := w.ra.ReadAt(q.buf[:n], w.base+lo)
	q.buf = q.buf[:m]
	g := resync(q.buf, len(s.table), w.order)
	if g < 0 {
		return
	}
	b := q.buf
	q.start, q.first = lo+int64(g), pyTime(le32(b[g:]), le32(b[g+4:]))
	q.cps = append(q.cps, c8Checkpoint{0, q.start})
	pos, end, prev, cnt, skip := g, int(hi-lo), -1.0, int64(0), int64(-1)
	for pos < end && !quit.Load() {
		win := b[pos:min(len(b), end+scanSpan-1)]
		used, m, at, pv, heavy, t := s.scanAhead(win, checkEvery, prev, w.order, &w.terms)
		w.take(q, pos)
		if m > 0 {
			q.last, prev = lo+int64(pos+at), pv
		}
		pos += used
		cnt += int64(m)
		if !heavy {
			if m < checkEvery {
				break // the end of the part or of the input, or a record Next reports
			}
		} else {
			// As in the pass (run), but for the records of a thread not
			// met before its first START, which the pass analyzes.
			r := b[pos:]
			num, now := le32(r[8:]), pyTime(le32(r[0:]), le32(r[4:]))
			switch {
			case t != nil:
				s.conflictRecord(t, r)
			case s.known(num) != nil:
				q.one(s, s.known(num), r, now)
			case s.table[r[12]] == pypy.EvStart:
				q.nums, q.syncOff = append(q.nums, num), append(q.syncOff, lo+int64(pos))
				s.record(r)
			default:
				skip = lo + int64(pos)
			}
			w.take(q, pos)
			q.last, prev = lo+int64(pos), now
			pos += 14 + int(r[13])
			cnt++
		}
		q.cps = append(q.cps, c8Checkpoint{cnt, lo + int64(pos)})
	}
	q.end, q.n, q.lastTime, q.threads = lo+int64(pos), cnt, prev, s.threads
	q.syncEnd = skip
	for _, o := range q.syncOff {
		q.syncEnd = max(q.syncEnd, o)
	}
	q.agg = len(q.conf)
	for i := range q.conf {
		if q.off+int64(q.conf[i].off) > q.syncEnd {
			q.agg = i
			break
		}
	}
	s.flushConf(q.conf[q.agg:], &pyStderr{w: io.Discard}) // sets c8Conf.ci
	q.list = s.list
}

// one is record for the record r of the part's thread t (of a big thread
// number: scanAhead leaves them), its sums' terms kept in q.
func (q *c8Part) one(s *c8Summary, t *c8Thread, r []byte, now float64) {
	switch ev := s.table[r[12]]; ev {
	case pypy.EvCommit, pypy.EvAbort:
		t.progress(now, stStop)
		k := (ev - pypy.EvCommit) & 1
		q.terms = append(q.terms, c8Term{a: t.tx[stRun], p: t.tx[stPause], th: t.index, k: k})
		t.nEnded[k]++
	case pypy.EvGCMinorDone:
		if t.inMinor {
			q.terms = append(q.terms, c8Term{a: now - t.minorStart, th: t.index, k: 2})
			t.inMinor = false
		}
	case pypy.EvGCMajorDone:
		if t.inMajor {
			q.terms = append(q.terms, c8Term{a: now - t.majorStart, th: t.index, k: 3})
			t.inMajor = false
		}
	default:
		s.record(r)
	}
}

// take moves the conflicts' entries of the records from pos in q.buf on
// from s.pend into q.
func (w *c8Ahead) take(q *c8Part, pos int) {
	pend := w.s.pend
	for i := range pend.n {
		e := &pend.e[i]
		c := c8Conf{a: e.a, p: e.p, sec: e.sec, nsec: e.nsec, kind: e.kind, event: e.event, off: uint32(pos) + e.off}
		switch e.kind {
		case pendWriteRead:
			o := int(c.off) + 14
			c.mk = q.buf[o : o+int(e.n) : o+int(e.n)]
		case pendInev:
			at := len(q.arena)
			q.arena = append(q.arena, e.marker.bytes()[:e.n]...)
			c.mk = q.arena[at:len(q.arena):len(q.arena)]
		}
		q.conf = append(q.conf, c)
	}
	pend.n = 0
	q.terms = append(q.terms, w.terms.e[:w.terms.n]...)
	w.terms.n = 0
}

// resync returns the first offset in b, within a record's length of its
// front, where the records that follow look like a c8 log's: events in
// range, nanoseconds below 10^9, times in order (if the era's are), for
// 64 records or up to b's end; -1 if there is none. A wrong guess costs
// only time: the pass then finds its records do not end there.
func resync(b []byte, nEv int, order bool) int {
	for g := 0; g < pypy.C8MaxRecord && g+scanSpan <= len(b); g++ {
		if plausible(b[g:], nEv, order) {
			return g
		}
	}
	return -1
}

func plausible(b []byte, nEv int, order bool) bool {
	var prev uint64
	o := 0
	for i := range 64 {
		if o+scanSpan > len(b) {
			return i >= 8
		}
		k := uint64(le32(b[o:]))<<32 | uint64(le32(b[o+4:]))
		if int(b[o+12]) >= nEv || uint32(k) >= 1e9 || order && k < prev {
			return false
		}
		prev = k
		o += 14 + int(b[o+13])
	}
	return true
}

// known is the thread of number num, if there is one.
func (s *c8Summary) known(num uint32) *c8Thread {
	if num < uint32(len(s.small)) {
		return s.small[num]
	}
	return s.big[num]
}

// flags is t's flags and state as c8Step takes them (0: a thread not met).
func (t *c8Thread) flags() uint8 {
	if t == nil {
		return 0
	}
	f := t.prevState & tsState
	for _, b := range [...]struct {
		on  bool
		bit uint8
	}{{t.freeSegment, tsFreeSeg}, {t.inMinor, tsMinor}, {t.inMajor, tsMajor}, {t.inev, tsInev}, {t.inevWaiting, tsInevWaiting}, {t.aborting, tsAborting}} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

// summarizeSplit is summarize with the parts ahead analyzed on a second
// goroutine: what it prints and returns is summarize's, byte for byte
// (runBoth).
func (s *c8Summary) summarizeSplit(sc *pypy.Scanner, errw *pyStderr, size int64, budget int) (passResult, error) {
	p := s.newPass(sc, errw, size, budget)
	// The pass's own parts are as long as the parts ahead: merging one
	// costs the pass about what counting its conflicts costs the second
	// goroutine.
	seg := partSize(s.raLen)
	w := &c8Ahead{s: newC8Summary(sc.Era()), ra: s.ra, base: s.raBase, length: s.raLen, order: p.order}
	w.s.cells = s.cells
	// The second goroutine may be up to partsAhead-1 parts ahead of the
	// pass (and one more analyzed): a goroutine that waits for the other
	// waits for its wake-up too.
	parts, free := make(chan *c8Part, partsAhead), make(chan *c8Part, partsAhead)
	for range partsAhead {
		q, _ := partPool.Get().(*c8Part)
		if q == nil {
			q = new(c8Part)
		}
		free <- q
	}
	defer func() {
		for range partsAhead {
			partPool.Put(<-free)
		}
	}()
	var quit atomic.Bool
	go func() {
		defer close(parts)
		for lo := pypy.HeaderSize + seg; lo < w.length; lo += 2 * seg {
			q := <-free
			if quit.Load() {
				free <- q
				return
			}
			w.part(q, lo, lo+seg, &quit)
			parts <- q
		}
	}()
	var err error
	for lo := pypy.HeaderSize + seg; ; lo += 2 * seg {
		var done bool
		// The scanner reads up to the part ahead, which it skips.
		sc.LimitReadAhead(lo + scanSpan)
		if done, err = p.run(lo); done || err != nil {
			break
		}
		if q, ok := <-parts; ok {
			err = p.merge(q)
			free <- q
			if err != nil {
				break
			}
		}
	}
	quit.Store(true)
	sc.LimitReadAhead(0)
	for q := range parts {
		free <- q
	}
	if err != nil {
		return p.res, err
	}
	return p.end(), nil
}

// merge takes the part q into the pass if it starts where the pass is
// and every thread's START it was analyzed from finds the thread in the
// state assumed: the records it left, its conflicts and the percentages
// in file order, its terms, its threads' state; then the scanner skips
// to its end. Otherwise the pass goes on as if there were no part.
func (p *c8Pass) merge(q *c8Part) error {
	s, sc := p.s, p.sc
	if q.start < 0 || q.n == 0 || q.start != sc.Consumed() || p.order && q.first < p.prev {
		splitLeft.Add(1)
		return nil
	}
	idx := make(map[uint32]int, len(q.nums))
	for i, num := range q.nums {
		idx[num] = i
	}
	if !p.verify(q, idx) {
		splitLeft.Add(1)
		return nil
	}
	splitMerged.Add(1)
	// The records up to the last one the part left, in order.
	b, ci, j := q.buf, 0, int64(0)
	for o := int(q.start - q.off); q.off+int64(o) <= q.syncEnd; j++ {
		r := b[o:]
		size := 14 + int(r[13])
		if (p.cnt+j)&(progressEvery-1) == 0 {
			p.percent(q.off + int64(o+size))
		}
		num := le32(r[8:])
		s.thread(num) // in the order threads are first met
		if i, ok := idx[num]; ok && q.off+int64(o) >= q.syncOff[i] {
			for ci < len(q.conf) && int(q.conf[ci].off) == o {
				s.flushConf(q.conf[ci:ci+1], p.errw)
				ci++
			}
		} else {
			s.record(r)
			if s.pend.n > 0 {
				s.flush(r, p.errw)
			}
		}
		o += size
	}
	g := (p.cnt + j + progressEvery - 1) &^ (progressEvery - 1)
	if g >= p.cnt+q.n && ci == q.agg {
		// No percentage in the rest: the part's conflicts, counted and
		// their timestamps kept there, conflict by conflict; only their
		// sums are added entry by entry, in order.
		cs := make([]*conflictSummary, len(q.list))
		for i := range q.conf[ci:] {
			e := &q.conf[ci+i]
			if e.kind == kindDouble {
				p.errw.line("note: double STM_CONTENTION_WRITE_READ")
				continue
			}
			c := cs[e.ci]
			if c == nil {
				c = s.find(e.event, e.mk)
				cs[e.ci] = c
			}
			c.aborted += e.a
			c.paused += e.p
		}
		for i, d := range q.list {
			c := cs[i]
			c.n += d.n
			c.addStamps(d, &s.cells)
		}
		ci = len(q.conf)
	}
	// Then the part's conflicts, a percentage before the record that
	// prints it.
	for ; g < p.cnt+q.n; g += progressEvery {
		o, size := q.record(g - p.cnt)
		k := ci
		for k < len(q.conf) && int(q.conf[k].off) < o {
			k++
		}
		s.flushConf(q.conf[ci:k], p.errw)
		ci = k
		p.percent(q.off + int64(o+size))
	}
	s.flushConf(q.conf[ci:], p.errw)
	ts := make([]*c8Thread, len(q.nums))
	for i, num := range q.nums {
		ts[i] = s.known(num)
	}
	for _, e := range q.terms {
		t := ts[e.th]
		t.sums[e.k&3] += e.a
		t.cpuPaused += e.p
	}
	for i, w := range q.threads {
		// The thread's state is the part's, its sums and counts its own
		// and the part's.
		t := ts[i]
		was := *t
		*t = *w
		t.sums, t.cpuPaused, t.index = was.sums, was.cpuPaused, was.index
		t.nEnded = [2]int64{was.nEnded[0] + w.nEnded[0], was.nEnded[1] + w.nEnded[1]}
	}
	p.cnt += q.n
	p.prev = q.lastTime
	p.res.stop, p.res.cut = q.lastTime, 0
	return sc.Discard(q.end-q.start, q.n, q.last-q.start)
}

// record finds the part's record number i: its offset in q.buf and size.
func (q *c8Part) record(i int64) (int, int) {
	c := q.cps[0]
	for _, d := range q.cps {
		if d.n > i {
			break
		}
		c = d
	}
	o := int(c.off - q.off)
	for ; c.n < i; c.n++ {
		o += 14 + int(q.buf[o+13])
	}
	return o, 14 + int(q.buf[o+13])
}

// verify steps the flags of the threads through the records the part
// left (c8Step's table) and reports whether each START the part analyzed
// a thread from finds it with its transaction over and no major
// collection open.
func (p *c8Pass) verify(q *c8Part, idx map[uint32]int) bool {
	st := map[uint32]uint8{}
	for o := int(q.start - q.off); q.off+int64(o) <= q.syncEnd; {
		r := q.buf[o:]
		num, ev := le32(r[8:]), p.s.table[r[12]]
		f, met := st[num]
		if !met {
			f = p.s.known(num).flags()
		}
		if i, ok := idx[num]; ok && q.off+int64(o) >= q.syncOff[i] {
			if q.off+int64(o) == q.syncOff[i] && (f&tsState == stRun || f&tsState == stPause || f&tsMajor != 0) {
				return false
			}
		} else {
			st[num] = c8Next[(int(f)<<4|int(ev))&(len(c8Next)-1)]
		}
		o += 14 + int(r[13])
	}
	return true
}
