package analyze

// One prediction: the bound, and the replay without the chosen groups
// (see whatif.go).

import (
	"cmp"
	"math"
	"slices"
	"time"
)

func (s *Schedule) predict(set []int32, base *replayResult, procs []LogProcs, rank int, key string) Prediction {
	p := Prediction{Rank: rank, Key: key}
	removed := func(g int32) bool { return g >= 0 && slices.Contains(set, g) }
	// The bound (docs/whatif.md, "The bound"): a thread gains at most the
	// time charged to the groups on it plus every pause of it that waited
	// for another thread (such a pause may shrink to nothing) plus what
	// processor sharing took from it; and no thread gains more than the
	// time removed from its log, nor more than the time at which some
	// thread of the log was in a removed segment up to its end (a longest
	// path is in one segment at a time), each plus the processor sharing
	// a path meets. With a replay, pauses that waited for another thread
	// count at their length in the unchanged replay, which may end some a
	// little after the recording did; and no thread's time can be less
	// than in the replay on unlimited processors (every run at full speed,
	// each pause that waited for another thread ending when that thread
	// gets there), the tightest of them when processors were not short.
	var rate0, rateB float64
	var unlimited *replayResult
	if base != nil {
		inf := slices.Clone(procs)
		for i := range inf {
			inf[i].Procs = math.Inf(1)
		}
		unlimited = s.replay(removed, inf)
	}
	for _, l := range s.logs {
		var lostLog, removedLog, inflLog int64
		var union *removedTime
		if !s.over {
			union = removedUnion(l, removed)
		}
		lost := make([]int64, len(l.threads))  // charged to the groups
		fixed := make([]int64, len(l.threads)) // of that, not waiting for a thread
		waits := make([]int64, len(l.threads)) // pauses waiting for a thread
		for i, th := range l.threads {
			for g, d := range th.charged {
				if removed(g) {
					lost[i] += d
					fixed[i] += d - th.waitPauseBy[g] - th.stolenBy[g]
				}
			}
			lostLog += lost[i]
			w := threadWaits{all: th.waitPause, by: th.waitPauseBy}
			if base != nil {
				w = base.waits[l.index][i]
				inflLog += base.infl[l.index][i]
			}
			waits[i] = w.all
			removedLog += fixed[i]
			for g, d := range w.by {
				if removed(g) {
					removedLog += d
				}
			}
		}
		p.Lost += time.Duration(lostLog)
		for i, th := range l.threads {
			span := th.last - th.first
			var infl, stretch int64
			if base != nil {
				span = base.end[l.index][i] - th.first
				infl = base.infl[l.index][i]
				stretch = min(base.stretch[l.index][i], inflLog)
			}
			if span <= 0 || th.commits == 0 {
				continue
			}
			gain := min(removedLog+inflLog, fixed[i]+waits[i]+infl)
			if union != nil {
				gain = min(gain, union.upTo(th.last)+stretch)
			}
			b := max(span-gain, 1)
			if unlimited != nil {
				b = max(b, unlimited.end[l.index][i]-th.first)
			}
			c := float64(th.commits)
			rate0 += c / float64(span)
			rateB += c / float64(b)
		}
	}
	p.BoundSpeedup = 1
	if rate0 > 0 {
		p.BoundSpeedup = rateB / rate0
	}
	if base == nil {
		return p
	}
	r := base
	if len(set) > 0 {
		r = s.replay(removed, procs)
	}
	p.Wall = time.Duration(r.wall)
	var rate1 float64
	for _, l := range s.logs {
		for i, th := range l.threads {
			span0 := base.end[l.index][i] - th.first
			span1 := r.end[l.index][i] - th.first
			if span0 <= 0 || th.commits == 0 {
				continue
			}
			rate1 += float64(th.commits) / float64(max(span1, 1))
		}
	}
	p.Speedup = 1
	if rate0 > 0 {
		p.Speedup = rate1 / rate0
	}
	return p
}

// removedTime is the union of the recorded intervals of a log's segments
// that a prediction removes, over all its threads: disjoint, in time
// order, with the length of those before each.
type removedTime struct {
	iv     []interval
	before []int64 // before[k]: the length of iv[:k]
}

type interval struct{ start, end int64 }

// removedUnion collects the segments of l charged to a removed group
// (aborted attempts' runs and pauses), whole: the descheduled part of an
// aborted attempt, which a removal keeps as a delay, is counted too, which
// only loosens the bound.
func removedUnion(l *schedLog, removed func(int32) bool) *removedTime {
	var iv []interval
	for _, th := range l.threads {
		for i := range th.nseg {
			if sg := th.seg(i); sg.group >= 0 && sg.end > sg.start && removed(sg.group) {
				iv = append(iv, interval{sg.start, sg.end})
			}
		}
	}
	slices.SortFunc(iv, func(a, b interval) int { return cmp.Compare(a.start, b.start) })
	u := &removedTime{}
	for _, x := range iv {
		if n := len(u.iv); n > 0 && x.start <= u.iv[n-1].end {
			u.iv[n-1].end = max(u.iv[n-1].end, x.end)
			continue
		}
		u.iv = append(u.iv, x)
	}
	u.before = make([]int64, len(u.iv)+1)
	for k, x := range u.iv {
		u.before[k+1] = u.before[k] + x.end - x.start
	}
	return u
}

// upTo is the length of the union before time t.
func (u *removedTime) upTo(t int64) int64 {
	// the intervals that start before t: all but the last are whole
	k, _ := slices.BinarySearchFunc(u.iv, t, func(x interval, t int64) int { return cmp.Compare(x.start, t) })
	if k == 0 {
		return 0
	}
	last := u.iv[k-1]
	return u.before[k-1] + min(last.end, t) - last.start
}
