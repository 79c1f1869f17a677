package analyze

import "math/bits"

// sketch is a log-linear histogram of non-negative durations in nanoseconds:
// values below 16 have a bucket each, and every power of two above is split
// into 16 equal buckets, so a bucket's width is at most 1/16 of its lower
// bound and its midpoint is within 1/32 of any value in it. The counts slice
// grows only up to the largest bucket seen (at most 960 entries).
type sketch struct {
	counts []uint32
	n      int64
	min    int64
	max    int64
}

const subBits = 4
const subBuckets = 1 << subBits

func bucketOf(v int64) int {
	if v < subBuckets {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 1 - subBits // v >> e is in [16, 32)
	return (e+1)*subBuckets + int(v>>e) - subBuckets
}

// bucketRange returns the values [lo, hi) that bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < subBuckets {
		return int64(i), int64(i) + 1
	}
	e := i/subBuckets - 1
	m := int64(i%subBuckets + subBuckets)
	lo, hi = m<<e, (m+1)<<e
	if hi < lo { // the top bucket ends at MaxInt64
		hi = 1<<63 - 1
	}
	return lo, hi
}

func (s *sketch) add(v int64) {
	if v < 0 {
		v = 0
	}
	b := bucketOf(v)
	if b >= len(s.counts) {
		n := make([]uint32, b+1, b+1+subBuckets)
		copy(n, s.counts)
		s.counts = n
	}
	if s.counts[b] < ^uint32(0) {
		s.counts[b]++
	}
	if s.n == 0 || v < s.min {
		s.min = v
	}
	s.n++
	if v > s.max {
		s.max = v
	}
}

// addFast is add for a sample v >= 0 in a bucket the counts have (and not
// full), most samples, small enough to be inlined where a sample is taken
// per pending conflict (clearPending); it reports false, having added
// nothing, for the others, which add takes. Counts grow only in add, which
// counts the sample, so a sketch with counts is not empty. The bucket is
// bucketOf's, with no branch on a value below subBuckets (its e is 0).
func (s *sketch) addFast(v int64) bool {
	e := max(bits.Len64(uint64(v))-1-subBits, 0)
	b := uint(e<<subBits) + uint(v>>e)
	if b >= uint(len(s.counts)) || s.counts[b] == ^uint32(0) {
		return false
	}
	s.counts[b]++
	s.n++
	s.min = min(s.min, v)
	s.max = max(s.max, v)
	return true
}

// quantile returns an estimate of the q-quantile (0 < q ≤ 1): the midpoint
// of the bucket holding the ceil(q·n)-th smallest value, clamped to the
// range of values seen (so a single sample is exact).
func (s *sketch) quantile(q float64) int64 {
	if s.n == 0 {
		return 0
	}
	rank := int64(q*float64(s.n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, c := range s.counts {
		seen += int64(c)
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := lo + (hi-lo-1)/2
			return max(s.min, min(mid, s.max))
		}
	}
	return s.max
}
