package pypyreport

import (
	"bufio"
	"encoding/binary"
	"math/bits"
	"sort"
)

type conflictSummary struct {
	event           uint8
	marker, marker2 string
	mk              []byte // c8: marker, for sameMarker
	aborted, paused float64
	n               int64
	ts              [][]byte // zigzag deltas of sec<<32|nsec (see addTime), in chunks before cur
	cur             []byte
	tsLen           int // bytes in ts
	lastKey         uint64
	cells           []int64 // second pass: counts per time-line cell
	order           int     // creation order (Python dict order)
}

func (c *conflictSummary) addTime(sec, nsec uint32, cells *timeCells) {
	if cells.on {
		c.cells[cells.index(pyTime(sec, nsec))]++
		return
	}
	key := uint64(sec)<<32 | uint64(nsec)
	d := int64(key - c.lastKey)
	c.lastKey = key
	u := uint64(d<<1) ^ uint64(d>>63) // zigzag
	b := c.cur
	if cap(b)-len(b) < 16 {
		b = c.newChunk()
	}
	// A stamp is u<<3 | (n-1) in its n little-endian bytes, n = 1..7 (u
	// of at most 53 bits); tag 7 is one byte and then u whole. The 8 bytes
	// are stored at once, whatever n: no loop, no branch per byte.
	n := len(b)
	if bits.Len64(u) <= 53 {
		w := (bits.Len64(u) + 3 + 7) / 8
		binary.LittleEndian.PutUint64(b[n:n+8], u<<3|uint64(w-1))
		c.cur = b[:n+w]
		c.tsLen += w
		return
	}
	b = b[:n+9] // (b's length is n: the tag is stored past it)
	b[n] = 7
	binary.LittleEndian.PutUint64(b[n+1:], u)
	c.cur = b
	c.tsLen += 9
}

// addStamps adds d's timestamps (a part's conflict: kept by addTime from
// a zero key, or counted in cells) after c's: the first one again from
// c's last key, the others as they are (each the difference from the one
// before it), their chunks taken over, not copied.
func (c *conflictSummary) addStamps(d *conflictSummary, cells *timeCells) {
	if cells.on {
		for i, n := range d.cells {
			c.cells[i] += n
		}
		return
	}
	if d.tsLen == 0 {
		return
	}
	chunks := append(d.ts[:len(d.ts):len(d.ts)], d.cur)
	first := chunks[0]
	u, n := stamp(first[:cap(first)])
	key := uint64(int64(u>>1) ^ -int64(u&1))
	c.addTime(uint32(key>>32), uint32(key), cells)
	c.ts = append(c.ts, c.cur)
	chunks[0] = first[n:]
	c.ts = append(c.ts, chunks[:len(chunks)-1]...)
	c.cur, c.lastKey, c.tsLen = chunks[len(chunks)-1], d.lastKey, c.tsLen+d.tsLen-n
}

// stamp decodes the stamp at the front of b (whose capacity holds 8 bytes
// past any stamp's start, as addTime leaves it: b is the chunk up to its
// capacity): the zigzag delta u and the stamp's size.
func stamp(b []byte) (u uint64, n int) {
	w := binary.LittleEndian.Uint64(b[:8])
	if tag := int(w & 7); tag != 7 {
		n = tag + 1
		return w >> 3 & (1<<(8*n-3) - 1), n
	}
	return binary.LittleEndian.Uint64(b[1:9]), 9
}

// newChunk puts the current chunk of timestamps aside and starts one
// twice its size, up to 64 KB: chunks are never copied (a hot conflict of
// a big log has megabytes of timestamps).
func (c *conflictSummary) newChunk() []byte {
	size := 64
	if c.cur != nil {
		c.ts = append(c.ts, c.cur)
		size = min(2*cap(c.cur), 64<<10)
	}
	c.cur = make([]byte, 0, size)
	return c.cur
}

// cellCounts returns c's events per timeline cell: counted in the second
// pass, or now from the timestamps kept in the first.
func (c *conflictSummary) cellCounts(cells timeCells) []int64 {
	if c.cells != nil {
		return c.cells
	}
	counts := make([]int64, cells.n)
	var key uint64
	for i := 0; i <= len(c.ts); i++ {
		b := c.cur
		if i < len(c.ts) {
			b = c.ts[i]
		}
		all := b[:cap(b)]
		for pos := 0; pos < len(b); {
			u, n := stamp(all[pos:])
			pos += n
			key += uint64(int64(u>>1) ^ -int64(u&1))
			counts[cells.index(pyTime(uint32(key>>32), uint32(key)))]++
		}
	}
	return counts
}

// timestamps decodes c's kept timestamps, in order (tests).
func (c *conflictSummary) timestamps(f func(sec, nsec uint32)) {
	var key uint64
	for _, b := range append(c.ts[:len(c.ts):len(c.ts)], c.cur) {
		all := b[:cap(b)]
		for pos := 0; pos < len(b); {
			u, n := stamp(all[pos:])
			pos += n
			key += uint64(int64(u>>1) ^ -int64(u&1))
			f(uint32(key>>32), uint32(key))
		}
	}
}

// timeCells maps a timestamp to its time-line cell, given the start and
// stop time; on is false in a first pass (stop not known yet).
type timeCells struct {
	on          bool
	start, span float64
	n           int
}

// index is print_stm_log.py's int((t - start_time) / total_time * n),
// kept inside the n cells where Python would fail or wrap: a negative
// index counts from the end like a Python list index, anything past the
// end (the original's IndexError at t == stop_time) is the last cell.
func (p *timeCells) index(t float64) int {
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

// dropKept drops the kept timestamps if they exceed budget bytes (and the
// time-line cells are not counted directly already).
func dropKept(list []*conflictSummary, on bool, budget int) bool {
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
		c.ts, c.cur, c.tsLen = nil, nil, 0
	}
	return true
}

// sortedConflicts is get_conflicts()[:top]: sort by aborted+paused ascending
// (stable, so ties keep the dict's creation order), then reverse, so
// ties come out in reverse creation order, as in the samples.
func sortedConflicts(list []*conflictSummary, top int) []*conflictSummary {
	v := append([]*conflictSummary(nil), list...)
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

// writeTimeline writes the cells: ' ' for none, else glyphs[int(count /
// (max+0.1) * len(glyphs))] (c8); c7 passes "x" and '.' for empty.
func writeTimeline(w *bufio.Writer, counts []int64, glyphs string) {
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
