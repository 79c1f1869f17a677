package analyze

// The replay of part of a log: the first part of a log longer than the
// schedule's Limit (see Schedule.Prefix), and the analysis' time window.

import (
	"math"

	"github.com/stmlog/stmlog/logformat"
)

// cutPrefix turns a schedule past its Limit, whose segments were kept
// (Prefix), into the schedule of each log's first part: up to the time
// every thread's kept segments reach (a native log's chunks are each one
// thread's, written as they fill, so at the Limit the threads' segments
// end at different times: each keeps them up to its first event past
// the Limit). Each thread keeps its segments and attempt ends up to that
// time, a segment across it cut there; its commits, the time charged to
// groups and its pauses are counted again over what it keeps, so that the
// bound and the replay describe the same part. It returns the length of
// the part replayed, the longest of the logs', or 0 when there is nothing
// to replay (a log whose first part is empty).
func (s *Schedule) cutPrefix() int64 {
	if s.cut {
		return s.part
	}
	cuts := make([]int64, len(s.logs))
	for i, l := range s.logs {
		cut, ok := l.prefixEnd()
		if !ok {
			return 0
		}
		cuts[i] = cut
	}
	var part int64
	for i, l := range s.logs {
		lo, hi := cuts[i], int64(0)
		for _, th := range l.threads {
			th.cutWindow(0, cuts[i])
			if th.seen {
				lo, hi = min(lo, th.first), max(hi, th.last)
			}
		}
		part = max(part, hi-lo)
	}
	s.full, s.cut, s.part = false, true, part
	return part
}

// cutWindow keeps each log's schedule within the analysis' window
// (Options.From and To, from each log's start), as the Analyzer counts
// only the time inside it. It returns the length of what is left, the
// longest of the logs', or 0 when no thread has time in the window.
func (s *Schedule) cutWindow() int64 {
	from, to := int64(s.opt.From), int64(s.opt.To)
	if to <= 0 {
		to = math.MaxInt64
	}
	var part int64
	for _, l := range s.logs {
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, th := range l.threads {
			th.cutWindow(from, to)
			if th.seen {
				lo, hi = min(lo, th.first), max(hi, th.last)
			}
		}
		if hi > lo {
			part = max(part, hi-lo)
		}
	}
	return part
}

// prefixEnd returns the time up to which every thread of l has its
// segments: the least time of the threads' first events past the Limit
// (see Schedule.full), of those that go on after it.
func (l *schedLog) prefixEnd() (int64, bool) {
	cut, ok := int64(0), false
	for _, th := range l.threads {
		if th.frozen && th.last > th.resume && (!ok || th.resume < cut) {
			cut, ok = th.resume, true
		}
	}
	if !ok { // every thread's segments reach its end
		for _, th := range l.threads {
			if th.seen {
				cut, ok = max(cut, th.last), true
			}
		}
	}
	if !ok {
		return 0, false
	}
	for _, th := range l.threads {
		if th.seen && th.first < cut {
			return cut, true
		}
	}
	return 0, false // nothing before the cut
}

// cutWindow keeps th's schedule within [from, to) (times from the log's
// start), a segment across either end cut there, and counts its sums
// again. An attempt end at from itself stays (the Analyzer counts a commit
// at from in the window).
func (th *schedThread) cutWindow(from, to int64) {
	if !th.seen || th.first >= to || th.last < from || (from > 0 && th.last == from) {
		th.seen, th.chunks, th.ends, th.nseg, th.commits = false, nil, nil, 0, 0
		th.charged, th.waitPauseBy, th.waitPause = map[int32]int64{}, map[int32]int64{}, 0
		th.commitRuns = sketch{}
		return
	}
	lo := 0 // the first segment kept
	for lo < th.nseg && th.seg(lo).end <= from {
		lo++
	}
	hi := lo // past the last
	for hi < th.nseg && th.seg(hi).start < to {
		hi++
	}
	if lo > 0 {
		// Copied into chunks of their own, the first kept one first.
		var chunks [][]seg
		for i := lo; i < hi; i++ {
			if k := i - lo; k&(1<<segShift-1) == 0 {
				chunks = append(chunks, make([]seg, 0, min(1<<segShift, hi-i)))
			}
			chunks[len(chunks)-1] = append(chunks[len(chunks)-1], *th.seg(i))
		}
		th.chunks = chunks
	}
	n := hi - lo
	th.nseg = n
	if n > 0 {
		if sg := th.seg(0); sg.start < from {
			sg.start = from
		}
		if sg := th.seg(n - 1); sg.end > to {
			sg.end = to
		}
		last := (n - 1) >> segShift
		th.chunks = th.chunks[:last+1]
		th.chunks[last] = th.chunks[last][:(n-1)&(1<<segShift-1)+1]
	} else {
		th.chunks = nil
	}
	ends := th.ends[:0]
	for _, p := range th.ends {
		if p.t >= from && p.t <= to && int(p.n) >= lo && int(p.n) <= hi {
			p.n -= int32(lo)
			ends = append(ends, p)
		}
	}
	th.ends = ends
	th.first, th.last = max(th.first, from), min(th.last, to)

	th.charged, th.waitPauseBy, th.waitPause = map[int32]int64{}, map[int32]int64{}, 0
	th.commits, th.commitRuns = 0, sketch{}
	for i := range n {
		sg := th.seg(i)
		d := sg.end - sg.start
		if sg.group >= 0 && sg.kind != segGap {
			th.charged[sg.group] += d
		}
		if sg.kind == segPause && sg.reason != logformat.WaitBackoff {
			th.waitPause += d
			if sg.group >= 0 {
				th.waitPauseBy[sg.group] += d
			}
		}
	}
	start := 0
	for _, p := range th.ends {
		if p.commit {
			th.commits++
			var run int64
			for i := start; i < int(p.n); i++ {
				if sg := th.seg(i); sg.kind == segRun {
					run += sg.end - sg.start
				}
			}
			th.commitRuns.add(run)
		}
		start = int(p.n)
	}
}
