package logformat

// This file decodes the table chunks (strings, stacks, var names) and the
// aggregate records into the Reader's state.

import "fmt"

// The read* functions decode one chunk payload. On failure they return the
// payload offset of the problem and a message, leaving the tables as they
// were.

func (r *Reader) readStrings(p []byte) (int, string) {
	first, i := uvarint(p, 0)
	n, i := uvarint(p, i)
	if i < 0 {
		return 0, "bad strings chunk header"
	}
	old := len(r.strs)
	if msg := r.checkFirst("strings", first, uint64(old)); msg != "" {
		return 0, msg
	}
	for uint64(len(r.strs)) < first {
		r.strs = append(r.strs, lostString)
	}
	for k := uint64(0); k < n; k++ {
		at := i
		l, j := uvarint(p, i)
		if j < 0 || l > uint64(len(p)-j) {
			r.strs = r.strs[:old]
			return at, fmt.Sprintf("string %d: bad length", first+k)
		}
		i = j + int(l)
		r.strs = append(r.strs, string(p[j:i]))
	}
	return 0, ""
}

// str resolves a string id. Under salvage, ids beyond the table (their chunk
// was skipped) resolve to lostString.
func (r *Reader) str(id uint64) (string, bool) {
	if id < uint64(len(r.strs)) {
		return r.strs[id], true
	}
	return lostString, r.salvage
}

// maxGap caps the ids a salvaging reader fills in for lost table chunks.
const maxGap = 1 << 20

// checkFirst checks the first id of a table chunk against the next id
// expected. Under salvage a gap is allowed if skipped chunks could hold it
// (each entry takes at least one byte) and it is not huge.
func (r *Reader) checkFirst(what string, first, want uint64) string {
	if first == want {
		return ""
	}
	// The gap is filled with placeholders, so it is also capped: a huge
	// damaged region must not turn into a huge table.
	if r.salvage && first > want && first-want <= uint64(r.stats.SkippedBytes) && first-want <= maxGap {
		return ""
	}
	return fmt.Sprintf("%s chunk starts at id %d, want %d", what, first, want)
}

func (r *Reader) readStacks(p []byte) (int, string) {
	first, i := uvarint(p, 0)
	n, i := uvarint(p, i)
	if i < 0 {
		return 0, "bad stacks chunk header"
	}
	old := len(r.stacks)
	if msg := r.checkFirst("stacks", first, uint64(old)); msg != "" {
		return 0, msg
	}
	for uint64(len(r.stacks)) < first {
		r.stacks = append(r.stacks, nil)
		r.stackGaps = true
	}
	fail := func(at int, format string, args ...any) (int, string) {
		clear(r.stacks[old:])
		r.stacks = r.stacks[:old]
		return at, fmt.Sprintf(format, args...)
	}
	for k := uint64(0); k < n; k++ {
		id := first + k
		at := i
		var label, nf uint64
		label, i = uvarint(p, i)
		nf, i = uvarint(p, i)
		if i < 0 {
			return fail(at, "stack %d: bad header", id)
		}
		lab, ok := r.str(label)
		if !ok {
			return fail(at, "stack %d: undefined string id %d", id, label)
		}
		if nf > MaxFrames || nf > uint64(len(p)-i)/3 {
			return fail(at, "stack %d: bad frame count %d", id, nf)
		}
		s := &Stack{Label: lab}
		if nf > 0 {
			s.Frames = make([]Frame, nf)
		}
		for f := range s.Frames {
			at := i
			var fn, file, line uint64
			fn, i = uvarint(p, i)
			file, i = uvarint(p, i)
			line, i = uvarint(p, i)
			if i < 0 {
				return fail(at, "stack %d frame %d: bad encoding", id, f)
			}
			fs, ok1 := r.str(fn)
			ff, ok2 := r.str(file)
			switch {
			case !ok1 || !ok2:
				return fail(at, "stack %d frame %d: undefined string id", id, f)
			case line >= 1<<31:
				return fail(at, "stack %d frame %d: bad line %d", id, f, line)
			}
			s.Frames[f] = Frame{Func: fs, File: ff, Line: int(line)}
		}
		r.stacks = append(r.stacks, s)
	}
	return 0, ""
}

func (r *Reader) readVarNames(p []byte) (int, string) {
	n, i := uvarint(p, 0)
	if i < 0 {
		return 0, "bad var names chunk header"
	}
	pairs := r.pairs[:0]
	for k := uint64(0); k < n; k++ {
		at := i
		var v, s uint64
		v, i = uvarint(p, i)
		s, i = uvarint(p, i)
		if i < 0 {
			return at, fmt.Sprintf("var name %d: bad encoding", k)
		}
		if _, ok := r.str(s); !ok {
			return at, fmt.Sprintf("var %d: undefined string id %d", v, s)
		}
		pairs = append(pairs, v, s)
	}
	r.pairs = pairs
	for k := 0; k < len(pairs); k += 2 {
		r.vars[pairs[k]], _ = r.str(pairs[k+1])
	}
	return 0, ""
}

// readAggregates decodes an aggregates chunk into events of KindAggregate
// (returned by Next) and their records (Aggregate). A bad record spoils the
// whole chunk: no record of it is returned. waits: the chunk is of type
// chunkAggregatesWaits, whose records hold Retry waits too.
func (r *Reader) readAggregates(p []byte, waits bool) (int, string) {
	n, i := uvarint(p, 0)
	// A record takes at least 17 bytes.
	if i < 0 || n == 0 || n > uint64(len(p)-i)/17 {
		return 0, "bad aggregates chunk header"
	}
	r.aggs = r.aggs[:0]
	r.aggEvents = r.aggEvents[:0]
	for k := uint64(0); k < n; k++ {
		at := i
		var a Aggregate
		var msg string
		if i, msg = readAggregate(p, i, &a); msg == "" && waits {
			i, msg = readWaits(p, i, &a)
		}
		if msg != "" {
			r.aggs = r.aggs[:0]
			return at, fmt.Sprintf("aggregate record %d: %s", k, msg)
		}
		r.aggs = append(r.aggs, a)
		r.aggEvents = append(r.aggEvents, Event{Time: a.End, Kind: KindAggregate, Thread: a.Thread})
	}
	r.setEvents(r.aggEvents)
	return 0, ""
}
