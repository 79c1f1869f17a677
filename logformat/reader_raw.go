package logformat

// RawSource is implemented by sources that can hand out an event batch's
// encoding (see the package doc), for a consumer that decodes the events it
// can take in a step of its own (the analyzer's starts and commits with no
// field): NextBatch writes every event to a buffer the consumer then reads
// again, which costs about as much as the consumer's step for those.
//
// Raw, RawBatch.Fields and Took read the same events, with the same checks,
// as NextBatch would; they may be mixed with Next and NextBatch as long as
// every RawBatch Raw returns is given back to Took before the next call of
// Next, NextBatch or Raw.
type RawSource interface {
	BatchSource
	// Raw returns the rest of the event batch the source is at,
	// undecoded, when it has handed out every event it decoded and the
	// next events are a batch's (not an aggregate's, nor already decoded
	// by a parallel reader's worker); ok is false otherwise, and then
	// NextBatch goes on. Once Raw is called, a parallel Reader's
	// workers walk the batches they take on for Fields and PlainPairs
	// (reader_walk.go) instead of decoding them, so Raw has those.
	Raw() (b RawBatch, ok bool)
	// Took tells the source that the consumer took b's events up to b's
	// offset, the last one at time b.T: reading goes on after them.
	Took(b *RawBatch)
}

// RawBatch is the undecoded rest of an event batch of one thread.
type RawBatch struct {
	P      []byte // the batch's payload
	I      int    // offset in P of the next event
	T      int64  // time of the event before it (the batch's base at first)
	Left   int    // events left in the batch
	Thread uint32
	r      *Reader // decodes for Next

	walk   *decodedBatch // a worker's walk of the batch (reader_walk.go)
	ri, pi int           // its next run and pairs
}

// Raw returns the rest of the event batch being read (see RawSource).
func (r *Reader) Raw() (RawBatch, bool) {
	if !r.wantRaw {
		r.wantRaw = true
		if r.pipe != nil {
			r.pipe.raw.Store(true)
		}
	}
	for r.pos >= len(r.events) && r.batch.left == 0 && r.err == nil {
		r.readChunk()
	}
	bs := &r.batch
	if r.pos < len(r.events) || bs.left == 0 {
		return RawBatch{}, false
	}
	r.dec.stacks = r.stacks
	return RawBatch{P: bs.p, I: bs.i, T: bs.t, Left: bs.left, Thread: bs.thread, r: r, walk: bs.walk}, true
}

// Fields decodes b's next events and moves b past them: at least one,
// then up to the next start or commit with no field (head 1 or 2 in the
// package doc's encoding), which the consumer decodes itself, or the
// batch's end. It returns none when b has no event left or the next one
// has a problem, which the source's NextBatch (after Took) then reports as
// it would have. The events are valid until the next call of Fields.
func (b *RawBatch) Fields() []Event {
	r := b.r
	if b.Left <= 0 || r == nil {
		return nil
	}
	if b.walk != nil {
		if evs, ok := b.fromWalk(); ok {
			return evs
		}
	}
	if r.rawEvs == nil {
		r.rawEvs = make([]Event, 64)
	}
	evs := r.rawEvs[:min(b.Left, len(r.rawEvs))]
	k, i, t, at, msg := r.dec.decodeFields(evs, b.P, b.I, b.T, b.Thread)
	if msg != "" {
		// the events before the bad one, which stays b's
		i, t = at, b.T
		if k > 0 {
			t = evs[k-1].Time
		}
	}
	b.I, b.T = i, t
	b.Left -= k
	return evs[:k]
}

// Took goes on after b's events (see RawSource).
func (r *Reader) Took(b *RawBatch) {
	bs := &r.batch
	n := bs.left - b.Left
	if n <= 0 {
		return
	}
	bs.i, bs.t = b.I, b.T
	bs.k += n
	bs.left = b.Left
	r.lastTime[bs.thread] = b.T
	r.stats.Events += int64(n)
}

var _ RawSource = (*Reader)(nil)

// decodeFields is decode for RawBatch.Fields: it also stops, with no
// message, before any event but the first whose head is 1 or 2 (a start
// or commit with no field). A copy of decode's loop, so that decode (for
// NextBatch and Next) does not pay for the test.
func (d *eventDecoder) decodeFields(evs []Event, p []byte, i int, t int64, thread uint32) (k, next int, last int64, at int, msg string) {
	for k := range evs {
		at := i
		// uvarint by hand: the one-byte case is most deltas and heads, and
		// the call would not be inlined.
		var dt, h uint64
		if i >= 0 && i+3 < len(p) {
			// Deltas a few µs apart take two or three bytes.
			q := p[i : i+4 : i+4]
			if b0 := uint64(q[0]); b0 < 0x80 {
				dt = b0
				i++
			} else if b1 := uint64(q[1]); b1 < 0x80 {
				dt = b0&0x7f | b1<<7
				i += 2
			} else if b2 := uint64(q[2]); b2 < 0x80 {
				dt = b0&0x7f | (b1&0x7f)<<7 | b2<<14
				i += 3
			} else {
				dt, i = uvarintSlow(p, i)
			}
		} else {
			dt, i = uvarint(p, i)
		}
		if i >= 0 && i+1 < len(p) {
			// Heads take one byte, two with optional fields.
			q := p[i : i+2 : i+2]
			if b0 := uint64(q[0]); b0 < 0x80 {
				h = b0
				i++
			} else if b1 := uint64(q[1]); b1 < 0x80 {
				h = b0&0x7f | b1<<7
				i += 2
			} else {
				h, i = uvarintSlow(p, i)
			}
		} else {
			h, i = uvarint(p, i)
		}
		if i < 0 {
			return k, i, t, at, "bad encoding"
		}
		if h-1 < 2 && k > 0 {
			return k, at, t, 0, ""
		}
		nt := int64(uint64(t) + dt)
		kind := Kind(h & kindMask)
		mask := h >> kindBits
		if nt < t || !kind.Valid() || mask >= 1<<numFieldBits {
			return k, i, t, at, eventProblem(nt < t, kind, mask)
		}
		t = nt
		ev := &evs[k]
		*ev = Event{Time: t, Kind: kind, Thread: thread}
		// A wait's reason or an abort's cause alone (most of the events
		// here) inline; readFields' call costs as much as reading it.
		switch {
		case mask == 0:
		case mask == fieldReason && uint(i) < uint(len(p)) && WaitReason(p[i]).Valid():
			ev.Reason = WaitReason(p[i])
			i++
		case mask == fieldCause && uint(i) < uint(len(p)) && AbortCause(p[i]).Valid():
			ev.Cause = AbortCause(p[i])
			i++
		default:
			// A conflict with all five fields, or all but the Var, each
			// of one byte but the Var's (one or two): inline, for the
			// same reason; with anything else (a field out of range, a
			// stack id not yet seen, the payload's end near) readFields
			// reads it again from the start, with its checks and
			// messages. Stack ids are checked as readFields does, or
			// noted under deferRefs.
			if mask|fieldVar == conflictFields && i >= 0 && i+6 <= len(p) {
				q := p[i : i+6 : i+6]
				v, j := uint64(0), 2
				if mask&fieldVar != 0 {
					v, j = uint64(q[2]), 3
					if v >= 0x80 {
						v, j = v&0x7f|uint64(q[3])<<7, 4
					}
				}
				s, os := uint64(q[j]), uint64(q[j+1])
				if ConflictKind(q[0]) < numConflictKinds && q[1]|q[j]|q[j+1] < 0x80 && v < 1<<14 &&
					(d.deferRefs || s < uint64(len(d.stacks)) && (s == 0 || d.stacks[s] != nil) &&
						os < uint64(len(d.stacks)) && (os == 0 || d.stacks[os] != nil)) {
					if d.deferRefs { // a worker's walk: as stackRefSlow
						d.maxRef = max(d.maxRef, s, os)
					}
					ev.Conflict, ev.OtherThread, ev.Var = ConflictKind(q[0]), uint32(q[1]), v
					ev.Site, ev.OtherSite = StackID(s), StackID(os)
					i += j + 2
					break
				}
			}
			var msg string
			if i, msg = d.readFields(ev, p, i, mask); msg != "" {
				return k, i, t, at, msg
			}
		}
	}
	return len(evs), i, t, 0, ""
}
