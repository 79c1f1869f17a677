package analyze

// One prediction: the bound, and the replay without the chosen groups
// (see whatif.go).

import (
	"slices"
	"time"
)

func (s *Schedule) predict(set []int32, base *replayResult, procs []LogProcs, rank int, key string) Prediction {
	p := Prediction{Rank: rank, Key: key}
	removed := func(g int32) bool { return g >= 0 && slices.Contains(set, g) }
	// The bound: a thread gains at most the time charged to the groups
	// on it plus every pause of it that waited for another thread (such a
	// pause may shrink to nothing) plus what processor sharing took from
	// it; and no thread gains more than the time removed from its log plus
	// the processor sharing of the log (a longest-path argument: see
	// docs/whatif.md). With a replay, pauses that waited for another
	// thread count at their length in the unchanged replay, which may end
	// some a little after the recording did.
	var rate0, rateB float64
	for _, l := range s.logs {
		var lostLog, removedLog, inflLog int64
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
			var infl int64
			if base != nil {
				span = base.end[l.index][i] - th.first
				infl = base.infl[l.index][i]
			}
			if span <= 0 || th.commits == 0 {
				continue
			}
			gain := min(removedLog+inflLog, fixed[i]+waits[i]+infl)
			b := max(span-gain, 1)
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
