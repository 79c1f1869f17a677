package analyze

// Replaying a Schedule: what each pause waited for, the processor work
// of each run and gap, and the processor-sharing replay (see whatif.go).

import (
	"cmp"
	"math"
	"slices"

	"github.com/stmlog/stmlog/logformat"
)

// prepare resolves what each pause waited for and the processor work of
// each run and gap, once.
func (s *Schedule) prepare(procs []LogProcs) {
	for _, l := range s.logs {
		s.resolveDeps(l)
		s.recordedWork(l, procs[l.index].recordedOn())
	}
}

// minCommitsForCap is how many committed attempts a thread needs for its
// 90th percentile to cap its aborted attempts (see descheduled).
const minCommitsForCap = 5

// descheduled marks, in each aborted attempt that is charged to a group
// and ran longer than the 90th percentile of its thread's committed
// attempts, the excess as time off the processor. On a machine with more
// runnable threads than processors (other processes included), an attempt
// that loses its processor mid-way is the one most likely to be aborted,
// so long aborted attempts are mostly descheduled time, which the thread
// would have spent off the processor anyway: removing the conflict gives
// back only the attempt's work.
func (s *Schedule) descheduled() {
	for _, l := range s.logs {
		for _, th := range l.threads {
			th.stolenBy = nil
			if th.commitRuns.n < minCommitsForCap {
				continue
			}
			cap := th.commitRuns.quantile(0.9)
			start := 0
			for _, e := range th.ends {
				n := int(e.n)
				var run int64
				last, g := -1, int32(-1)
				for i := start; i < n; i++ {
					if sg := th.seg(i); sg.kind == segRun && sg.group >= 0 {
						run += sg.end - sg.start
						last, g = i, sg.group
					}
				}
				start = n
				if e.commit || last < 0 || run <= cap {
					continue
				}
				th.seg(last).extra = run - cap
				if th.stolenBy == nil {
					th.stolenBy = map[int32]int64{}
				}
				th.stolenBy[g] += run - cap
			}
		}
	}
}

func (s *Schedule) resolveDeps(l *schedLog) {
	// Every thread's ends in one list by time, so that a pause finds the
	// other threads' ends around it without a search in each thread's (a
	// server's log has thousands of threads).
	type end struct {
		t       int64
		th, pos int32
	}
	// The inevitable ones, which inevitable pauses look for, also in a
	// list of their own: they are few, and a long pause spans many others.
	var all, inevs []end
	idx := make(map[*schedThread]int, len(l.threads))
	for ti, th := range l.threads {
		idx[th] = ti
		for pos, p := range th.ends {
			all = append(all, end{p.t, int32(ti), int32(pos)})
			if p.inev {
				inevs = append(inevs, end{p.t, int32(ti), int32(pos)})
			}
		}
	}
	byTime := func(a, b end) int {
		switch {
		case a.t != b.t:
			return cmp.Compare(a.t, b.t)
		case a.th != b.th:
			return cmp.Compare(a.th, b.th)
		}
		return cmp.Compare(a.pos, b.pos)
	}
	slices.SortFunc(all, byTime)
	slices.SortFunc(inevs, byTime)
	for ti, th := range l.threads {
		for si := range th.nseg {
			sg := th.seg(si)
			gap := sg.kind == segGap && sg.end-sg.start > gapWait
			if !gap && (sg.kind != segPause || sg.reason == logformat.WaitBackoff) {
				continue
			}
			bestT, bestN := int64(math.MinInt64), int32(-1)
			bestTh := -1
			afterT := int64(math.MaxInt64)
			afterTh, afterN := -1, int32(-1)
			consider := func(oi int, want func(p point) bool) {
				o := l.threads[oi]
				// the last end <= sg.end
				j, _ := slices.BinarySearchFunc(o.ends, sg.end+1, func(p point, t int64) int {
					if p.t < t {
						return -1
					}
					return 1
				})
				for k := j - 1; k >= 0 && o.ends[k].t >= sg.start; k-- {
					if want(o.ends[k]) {
						if o.ends[k].t > bestT {
							bestT, bestN, bestTh = o.ends[k].t, o.ends[k].n, oi
						}
						break
					}
				}
				for k := j; k < len(o.ends) && o.ends[k].t <= sg.end+depSlack; k++ {
					if want(o.ends[k]) {
						if o.ends[k].t < afterT {
							afterT, afterN, afterTh = o.ends[k].t, o.ends[k].n, oi
						}
						break
					}
				}
			}
			var want func(p point) bool
			var only int = -1
			switch {
			case gap:
				want = func(p point) bool { return p.commit }
			case sg.reason == logformat.WaitInevitable:
				want = func(p point) bool { return p.inev }
			case sg.reason == logformat.WaitRetry:
				want = func(p point) bool { return p.commit }
			default: // commit-lock, PyPy reasons: the other thread's next end
				want = func(point) bool { return true }
				if o := l.byID[sg.other]; o != nil && sg.other != 0 {
					only = idx[o]
				}
			}
			if only >= 0 {
				if only != ti {
					consider(only, want)
				}
			} else {
				// What consider would find in each other thread, then
				// the latest (earliest after) of those, the lowest
				// thread of equals: the latest qualifying end at or
				// before the pause's end, and the first after it.
				all := all
				if sg.reason == logformat.WaitInevitable && !gap {
					all = inevs
				}
				j, _ := slices.BinarySearchFunc(all, sg.end+1, func(e end, t int64) int { return cmp.Compare(e.t, t) })
				for k := j - 1; k >= 0 && all[k].t >= sg.start; k-- {
					e := all[k]
					if bestTh >= 0 && e.t < bestT {
						break
					}
					if int(e.th) == ti || (bestTh >= 0 && int(e.th) >= bestTh) {
						continue // of one thread, its latest
					}
					if p := l.threads[e.th].ends[e.pos]; want(p) {
						bestT, bestN, bestTh = p.t, p.n, int(e.th)
					}
				}
				for k := j; k < len(all) && all[k].t <= sg.end+depSlack; k++ {
					e := all[k]
					if int(e.th) == ti {
						continue
					}
					if p := l.threads[e.th].ends[e.pos]; want(p) {
						afterT, afterN, afterTh = p.t, p.n, int(e.th)
						break
					}
				}
			}
			if gap {
				// A long gap that another thread's commit ended: work handed
				// over outside transactions (a queue, a channel, a reply).
				if bestTh >= 0 {
					sg.depThread, sg.depPoint, sg.extra = int32(bestTh), bestN, sg.end-bestT
				}
				continue
			}
			if bestTh < 0 && sg.reason == logformat.WaitInevitable && sg.other != 0 {
				// token handed over by a transaction not seen becoming inevitable
				if o := l.byID[sg.other]; o != nil && o != th {
					consider(idx[o], func(point) bool { return true })
				}
			}
			switch {
			case bestTh >= 0:
				sg.depThread, sg.depPoint, sg.extra = int32(bestTh), bestN, sg.end-bestT
			case afterTh >= 0:
				// The event was stamped after the waiter woke: the other
				// thread woke it while finishing its last segment before
				// the event, so the waiter depends on that segment's start,
				// delayed as recorded. If that segment began after the
				// waiter woke, the tie is a coincidence: the pause keeps
				// its recorded length. (Tying to the event itself would
				// delay the waiter in the unchanged replay, and two such
				// ties can wait on each other's future.)
				o := l.threads[afterTh]
				if last := afterN - 1; last >= 0 && o.seg(int(last)).start <= sg.end {
					sg.depThread, sg.depPoint, sg.extra = int32(afterTh), last, sg.end-o.seg(int(last)).start
				}
			}
		}
	}
}

// cpu reports whether a segment needs a processor: runs, and gaps that
// are not waits for another thread.
func cpu(sg *seg) bool { return sg.kind == segRun || (sg.kind == segGap && sg.depThread < 0) }

type replayResult struct {
	wall int64
	end  [][]int64 // per log, per thread: end time
	infl [][]int64 // per log, per thread: what processor sharing took from its runs and gaps in this replay (their length - their work)
	// per log, per thread: what processor sharing took from any one
	// thread running all the time, up to this thread's end: the integral
	// of 1 - rate while some thread ran (at most what it took from a path
	// through the segments of several threads, which is in one at a time)
	stretch [][]int64
	// per log, per thread: the time its pauses that waited for another
	// thread took in this replay, in all and by group
	waits [][]threadWaits
}

type threadWaits struct {
	all int64
	by  map[int32]int64
}

func (s *Schedule) replay(removed func(int32) bool, procs []LogProcs) *replayResult {
	r := &replayResult{}
	var lo, hi int64 = math.MaxInt64, math.MinInt64
	for _, l := range s.logs {
		end, infl, stretch, waits := replayLog(l, removed, procs[l.index].Procs)
		r.end = append(r.end, end)
		r.infl = append(r.infl, infl)
		r.stretch = append(r.stretch, stretch)
		r.waits = append(r.waits, waits)
		for i, th := range l.threads {
			if !th.seen {
				continue
			}
			lo = min(lo, th.first)
			hi = max(hi, end[i])
		}
	}
	if hi > lo {
		r.wall = hi - lo
	}
	return r
}

type simThread struct {
	cur     int // next segment
	reached []float64
	running bool
	done    bool
	end     float64
	// waiting on another thread's point
	waitOn    int
	waitPoint int32
	waitStart float64
	segStart  float64
}

// replayLog plays one log's threads on procs processors (processor
// sharing: k running threads each progress at min(1, procs/k)).
func replayLog(l *schedLog, removed func(int32) bool, procs float64) (end, infl, stretch []int64, waits []threadWaits) {
	n := len(l.threads)
	st := make([]simThread, n)
	end = make([]int64, n)
	infl = make([]int64, n)
	stretch = make([]int64, n)
	stretched := make([]float64, n) // stretch, at each thread's end
	var stretchNow float64          // the integral of 1 - rate while a thread runs
	shared := make([]float64, n)    // infl, summed exactly
	waits = make([]threadWaits, n)
	var queue timedHeap // at most one entry per thread
	// The threads running, by the work done per running thread (v) at
	// which their segment ends: all progress at the same rate, so the
	// next to end is the least, whatever their number (a server's log
	// has thousands of threads).
	var running timedHeap
	v := 0.0
	waiters := make([][]int, n)
	const eps = 1e-6
	now := 0.0

	// pass ends st[i]'s current segment now: the thread reaches its next
	// point, and the pauses waiting for that point get their end.
	pass := func(i int) {
		x := &st[i]
		if sg := l.threads[i].seg(x.cur); (sg.kind == segPause && sg.reason != logformat.WaitBackoff) || (sg.kind == segGap && sg.depThread >= 0) {
			d := int64(math.Round(now - x.segStart))
			w := &waits[i]
			w.all += d
			if sg.group >= 0 {
				if w.by == nil {
					w.by = map[int32]int64{}
				}
				w.by[sg.group] += d
			}
		}
		x.cur++
		x.reached[x.cur] = now
		if ws := waiters[i]; len(ws) > 0 {
			keep := ws[:0]
			for _, w := range ws {
				if int(st[w].waitPoint) <= x.cur {
					sg := l.threads[w].seg(st[w].cur)
					queue.push(now+float64(sg.extra), w)
				} else {
					keep = append(keep, w)
				}
			}
			waiters[i] = keep
		}
	}
	// enter starts segment st[i].cur, passing over removed ones.
	enter := func(i int) {
		th, x := l.threads[i], &st[i]
		for x.cur < th.nseg {
			sg := th.seg(x.cur)
			if removed == nil || sg.group < 0 || sg.kind == segGap || !removed(sg.group) {
				break
			}
			if sg.kind == segRun && sg.extra > 0 { // off the processor anyway
				x.segStart = now
				queue.push(now+float64(sg.extra), i)
				return
			}
			pass(i)
		}
		if x.cur == th.nseg {
			x.done, x.end = true, now
			stretched[i] = stretchNow
			for _, w := range waiters[i] { // waiting for a point never reached
				queue.push(now, w)
			}
			waiters[i] = nil
			return
		}
		sg := th.seg(x.cur)
		x.segStart = now
		switch {
		case cpu(sg):
			x.running = true
			running.push(v+sg.work, i)
		case sg.depThread >= 0:
			o := &st[sg.depThread]
			if o.cur >= int(sg.depPoint) {
				queue.push(max(now, o.reached[sg.depPoint]+float64(sg.extra)), i)
			} else if o.done {
				queue.push(now, i)
			} else {
				x.waitOn, x.waitPoint, x.waitStart = int(sg.depThread), sg.depPoint, now
				waiters[sg.depThread] = append(waiters[sg.depThread], i)
			}
		default:
			queue.push(now+float64(sg.end-sg.start), i)
		}
	}
	finish := func(i int) {
		if x := &st[i]; x.running { // a run ends (else a pause or gap); the loop took it off running
			// what processor sharing took from it in this replay
			shared[i] += now - x.segStart - l.threads[i].seg(x.cur).work
			x.running = false
		}
		pass(i)
		enter(i)
	}
	for i, th := range l.threads {
		st[i].reached = make([]float64, th.nseg+1)
		st[i].waitOn = -1
		if !th.seen {
			st[i].done = true
			continue
		}
		queue.push(float64(th.first), -1-i)
	}
	var finished []int
	for {
		// next event: the first of the queue, or the end of the running
		// segment with the least work left (they all progress at rate)
		k := len(running.items)
		minRem := math.Inf(1)
		if k > 0 {
			minRem = running.items[0].t - v
		}
		rate := 1.0
		if float64(k) > procs {
			rate = procs / float64(k)
		}
		next := math.Inf(1)
		if k > 0 {
			next = now + minRem/rate
		}
		fromQueue := len(queue.items) > 0 && queue.items[0].t <= next
		if fromQueue {
			next = queue.items[0].t
		}
		if math.IsInf(next, 1) {
			// Everyone left is waiting: a cycle the log's clock cannot
			// order. Let the earliest waiter go with its recorded pause.
			best := -1
			for i := range st {
				if !st[i].done && !st[i].running && st[i].waitOn >= 0 && slices.Contains(waiters[st[i].waitOn], i) {
					if best < 0 || l.threads[i].seg(st[i].cur).end < l.threads[best].seg(st[best].cur).end {
						best = i
					}
				}
			}
			if best < 0 {
				break
			}
			o := st[best].waitOn
			waiters[o] = slices.DeleteFunc(waiters[o], func(w int) bool { return w == best })
			sg := l.threads[best].seg(st[best].cur)
			queue.push(max(now, st[best].waitStart+float64(sg.end-sg.start)), best)
			continue
		}
		if k > 0 {
			v += (next - now) * rate
			stretchNow += (next - now) * (1 - rate)
		}
		now = next
		if fromQueue {
			q := queue.pop()
			if q.th < 0 {
				enter(-1 - q.th)
			} else {
				st[q.th].waitOn = -1
				finish(q.th)
			}
			continue
		}
		// every segment that ends now, in thread order (so that the
		// replay does not depend on the running list's order)
		finished = finished[:0]
		for len(running.items) > 0 {
			// Done: no work left, or so little that the clock cannot
			// tell its end from now (at 40 s of replay a float64 clock
			// moves in steps of 8e-6 ns; waiting for such a remainder
			// would never advance time).
			if r := running.items[0].t - v; r > eps && now+r/rate != now {
				break
			}
			finished = append(finished, running.pop().th)
		}
		slices.Sort(finished)
		for _, i := range finished {
			finish(i)
		}
	}
	for i := range st {
		infl[i] = int64(math.Round(max(shared[i], 0)))
		end[i] = int64(math.Round(st[i].end))
		stretch[i] = int64(math.Round(stretched[i]))
		if !st[i].done {
			end[i] = l.threads[i].last
			stretch[i] = int64(math.Round(stretchNow))
		}
	}
	return end, infl, stretch, waits
}

// timedHeap is the replay's queue of threads to wake at a time, and its
// running threads by when their runs end: the earliest first, and of those
// the one queued first.
type timedHeap struct {
	items []timed
	seq   int64
}

type timed struct {
	t   float64
	seq int64
	th  int // thread, or -1-thread for its first segment
}

func (h *timedHeap) less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	return a.t < b.t || (a.t == b.t && a.seq < b.seq)
}

func (h *timedHeap) push(t float64, th int) {
	h.items = append(h.items, timed{t, h.seq, th})
	h.seq++
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *timedHeap) pop() timed {
	top := h.items[0]
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	h.items = h.items[:n]
	siftDown(h.items, 0, h.less)
	return top
}
