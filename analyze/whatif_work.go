package analyze

// The processor work of each run and gap of a Schedule, from the
// recording's processor sharing (see prepare in whatif_replay.go).

// recordedWork sets each run's and gap's processor work: its length at
// the rate the recording gave it, min(1, P/k) with k threads running or
// between transactions, so that the unchanged replay takes as long as the
// recording did.
//
// It sweeps the segments' starts and ends in time order, merging the
// threads' segment lists (each already in time order) through a heap of
// one cursor per thread, so that it needs no memory per segment: a log of
// a few seconds has tens of millions of segments.
func (s *Schedule) recordedWork(l *schedLog, procs float64) {
	h := workHeap{ths: l.threads}
	for ti, th := range l.threads {
		c := workCursor{th: int32(ti)}
		if c.next(th) {
			h.cs = append(h.cs, c)
		}
	}
	h.init()
	// v is the work a running thread has got so far: a segment's work is
	// v at its end minus v at its start.
	k := 0
	var v float64
	prev := int64(0)
	for len(h.cs) > 0 {
		c := &h.cs[0]
		sg := l.threads[c.th].seg(int(c.seg))
		t := c.t(sg)
		if k > 0 {
			v += float64(t-prev) * min(1, procs/float64(k))
		}
		prev = t
		if c.end {
			sg.work += v
			k--
		} else {
			sg.work = -v
			k++
		}
		if c.advance(l.threads[c.th]) {
			h.fix()
		} else {
			h.pop()
		}
	}
}

// workCursor is recordedWork's place in one thread's segments: at the
// start or the end of segment seg, which needs a processor.
type workCursor struct {
	th  int32
	seg int32
	end bool
}

func (c *workCursor) t(sg *seg) int64 {
	if c.end {
		return sg.end
	}
	return sg.start
}

// next moves to the start of the first processor segment at or after
// c.seg, reporting whether there is one.
func (c *workCursor) next(th *schedThread) bool {
	for ; int(c.seg) < th.nseg; c.seg++ {
		if cpu(th.seg(int(c.seg))) {
			c.end = false
			return true
		}
	}
	return false
}

// advance moves past the current start or end.
func (c *workCursor) advance(th *schedThread) bool {
	if !c.end {
		c.end = true
		return true
	}
	c.seg++
	return c.next(th)
}

// workHeap orders the cursors by time, ends before starts at the same time
// (a thread that stops and one that starts at t do not share a processor),
// then by thread, so that the sweep is the same whatever the heap's shape.
type workHeap struct {
	ths []*schedThread
	cs  []workCursor
}

func (h *workHeap) less(i, j int) bool {
	a, b := &h.cs[i], &h.cs[j]
	ta, tb := a.t(h.ths[a.th].seg(int(a.seg))), b.t(h.ths[b.th].seg(int(b.seg)))
	if ta != tb {
		return ta < tb
	}
	if a.end != b.end {
		return a.end
	}
	return a.th < b.th
}

func (h *workHeap) init() {
	for i := len(h.cs)/2 - 1; i >= 0; i-- {
		siftDown(h.cs, i, h.less)
	}
}

// fix restores the heap after the top cursor moved on.
func (h *workHeap) fix() { siftDown(h.cs, 0, h.less) }

func (h *workHeap) pop() {
	n := len(h.cs) - 1
	h.cs[0] = h.cs[n]
	h.cs = h.cs[:n]
	siftDown(h.cs, 0, h.less)
}

// siftDown moves s[i] down a binary min-heap ordered by less (of indices
// into s) to where it belongs. (container/heap would do, through an
// interface call per comparison and swap.)
func siftDown[T any](s []T, i int, less func(i, j int) bool) {
	n := len(s)
	for {
		m := i
		if l := 2*i + 1; l < n && less(l, m) {
			m = l
		}
		if r := 2*i + 2; r < n && less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}
