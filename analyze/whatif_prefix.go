package analyze

// The replay of a log longer than the schedule's Limit: its first part
// (see Schedule.Prefix).

import "github.com/stmlog/stmlog/logformat"

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
			th.cutAt(cuts[i])
			if th.seen {
				lo, hi = min(lo, th.first), max(hi, th.last)
			}
		}
		part = max(part, hi-lo)
	}
	s.full, s.cut, s.part = false, true, part
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

// cutAt keeps th's schedule up to time t and counts its sums again.
func (th *schedThread) cutAt(t int64) {
	if !th.seen || th.first >= t {
		th.seen, th.chunks, th.ends, th.nseg, th.commits = false, nil, nil, 0, 0
		th.charged, th.waitPauseBy, th.waitPause = map[int32]int64{}, map[int32]int64{}, 0
		th.commitRuns = sketch{}
		return
	}
	n := 0
	for n < th.nseg && th.seg(n).start < t {
		n++
	}
	th.nseg = n
	if n > 0 {
		if sg := th.seg(n - 1); sg.end > t {
			sg.end = t
		}
		last := (n - 1) >> segShift
		th.chunks = th.chunks[:last+1]
		th.chunks[last] = th.chunks[last][:(n-1)&(1<<segShift-1)+1]
	} else {
		th.chunks = nil
	}
	e := 0
	for e < len(th.ends) && th.ends[e].t <= t && int(th.ends[e].n) <= n {
		e++
	}
	th.ends = th.ends[:e]
	th.last = min(th.last, t)

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
	from := 0
	for _, p := range th.ends {
		if p.commit {
			th.commits++
			var run int64
			for i := from; i < int(p.n); i++ {
				if sg := th.seg(i); sg.kind == segRun {
					run += sg.end - sg.start
				}
			}
			th.commitRuns.add(run)
		}
		from = int(p.n)
	}
}
