package analyze

// TimelineCells is the number of cells in every timeline of a Summary (the
// same as PyPy's report).
const TimelineCells = 60

// fineCells is the resolution kept while streaming; see the package doc.
// A multiple of 2·TimelineCells keeps the arithmetic simple.
const fineCells = 16 * TimelineCells

// fineTimeline counts events in fineCells buckets of the Analyzer's shared
// scale. All fine timelines share one scale, so when it doubles every one of
// them is rescaled at once (rare: at most ~64 times in any log).
type fineTimeline [fineCells]uint32

// scale maps relative times to fine buckets: bucket i covers
// [origin + i·width, origin + (i+1)·width). The width is 1<<shift (it
// starts at 1 and only doubles), so that a conflict's bucket is a shift,
// not a 64-bit division.
type scale struct {
	origin, width int64
	shift         uint
	set           bool
}

// fineCovered returns the fine bucket of t if the scale is set and covers
// t (t before the origin is a huge difference); else fineIndex grows it.
// Small enough to be inlined into each conflict's step, which fineIndex,
// with its loops, is not (the shift is under 64: the width is an int64).
func (a *Analyzer) fineCovered(t int64) (int, bool) {
	s := &a.scale
	sh := s.shift & 63
	d := uint64(t - s.origin)
	return int(d >> sh), s.set && d < fineCells<<sh
}

// fineIndex returns the fine bucket of t, doubling the scale (and rescaling
// every registered timeline) until t is covered.
func (a *Analyzer) fineIndex(t int64) int {
	s := &a.scale
	if !s.set {
		// Start at the first conflict, not at the log's time 0: with a
		// window late in a long log, or recording started long before the
		// conflicts, a range from 0 would waste the resolution.
		// It is centred there so that conflicts a little before and after
		// the first need no doubling at all (exact counts for short spans).
		s.set = true
		s.origin = t - fineCells/2
		s.width, s.shift = 1, 0
	}
	for t < s.origin {
		a.growLeft()
	}
	for t-s.origin >= fineCells*s.width {
		a.growRight()
	}
	return int(uint64(t-s.origin) >> s.shift)
}

// growRight doubles the width keeping the origin: buckets 2i and 2i+1 merge
// into bucket i.
func (a *Analyzer) growRight() {
	for _, tl := range a.timelines {
		for i := 0; i < fineCells/2; i++ {
			tl[i] = tl[2*i] + tl[2*i+1]
		}
		clear(tl[fineCells/2:])
	}
	a.scale.width *= 2
	a.scale.shift++
}

// growLeft doubles the width and moves the origin left by the old range:
// buckets 2i and 2i+1 merge into bucket fineCells/2 + i.
func (a *Analyzer) growLeft() {
	for _, tl := range a.timelines {
		var m [fineCells / 2]uint32
		for i := range m {
			m[i] = tl[2*i] + tl[2*i+1]
		}
		clear(tl[:fineCells/2])
		copy(tl[fineCells/2:], m[:])
	}
	a.scale.origin -= fineCells * a.scale.width
	a.scale.width *= 2
	a.scale.shift++
}

// cells folds a fine timeline into TimelineCells cells over [start, end):
// each fine bucket goes to the cell holding its midpoint.
func (a *Analyzer) cells(tl *fineTimeline, start, end int64) [TimelineCells]int64 {
	var out [TimelineCells]int64
	span := end - start
	s := a.scale
	for i, c := range tl {
		if c == 0 {
			continue
		}
		cell := 0
		if span > 0 {
			mid := s.origin + int64(i)*s.width + s.width/2
			cell = int(float64(mid-start) / float64(span) * TimelineCells)
			cell = max(0, min(TimelineCells-1, cell))
		}
		out[cell] += int64(c)
	}
	return out
}
