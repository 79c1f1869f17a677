package logformat

import "math"

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
	// workers decode the batches they take on as Fields does
	// (reader_walk.go), so that Fields has them.
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

	// Runs are the runs of starts and commits with no field that the
	// events Fields last returned stand for (see Fields).
	Runs []PlainRun

	walk *decodedBatch // a worker's walk of the batch (reader_walk.go)
}

// PlainRun is a run of two or more starts and commits with no field,
// alternating as a transaction's attempts that meet nothing make them,
// which Fields returns as one event, summed: a commit first or not (Lead),
// then pairs of a start and its commit, then a start without its commit or
// not. Every delta but the first event's is under 1<<21 and the times do
// not overflow.
type PlainRun struct {
	At   int   // payload offset of its first event
	T    int64 // time of the event before it
	End  int64 // time of its last event
	N    int   // its events
	Lead int64 // the delta of its first event if that is a commit, else -1
	// The sum of the deltas of the pairs' commits (Lead's not), the
	// number of events whose delta is not zero (Lead's too), and the last
	// pair's commit's delta (-1 if no pair).
	Committed, Moves, LastRun int64
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

// Fields decodes b's next events and moves b past them: at least one, and
// at most 256 events in the slice, each an event as NextBatch returns it
// but for runs of two or more starts and commits with no field (head 1 or 2
// in the package doc's encoding), which stand for a run each (an event of
// KindInvalid, b.Runs[Var], at its last event's time); a consumer that
// cannot take such a run summed reads its events with RunEvents. It returns
// none when b has no event left or the next one has a problem, which the
// source's NextBatch (after Took) then reports as it would have. The events
// and b.Runs are valid until the next call of Fields.
func (b *RawBatch) Fields() []Event {
	r := b.r
	if b.Left <= 0 || r == nil {
		return nil
	}
	if w := b.walk; w != nil {
		// A worker decoded the whole batch (walk): all of it in one slice.
		b.walk = nil
		if b.I == w.hdr.i && b.Left == w.hdr.n && w.wk > 0 {
			b.Runs = w.runs
			b.I, b.T, b.Left = w.wi, w.wt, w.wleft
			return w.events[:w.wk]
		}
	}
	if r.rawEvs == nil {
		r.rawEvs = make([]Event, 256)
	}
	evs := r.rawEvs
	r.dec.lostAt = [2]int{}
	r.dec.runs = r.dec.runs[:0]
	k, i, left, t, at, msg := r.dec.decodeFields(evs, b.P, b.I, b.Left, b.T, b.Thread)
	if msg != "" {
		r.dec.keepLost(at)
		// the events before the bad one, which stays b's
		i, t = at, b.T
		if k > 0 {
			t = evs[k-1].Time
		}
	}
	b.I, b.T, b.Left = i, t, left
	b.Runs = r.dec.runs
	return evs[:k]
}

// RunEvents decodes the events of run, one of b.Runs, for a consumer that
// does not take them summed. They are valid until the next call of
// RunEvents.
func (b *RawBatch) RunEvents(run *PlainRun) []Event {
	r := b.r
	if cap(r.runEvs) < run.N {
		r.runEvs = make([]Event, run.N)
	}
	evs := r.runEvs[:run.N]
	var d eventDecoder // starts and commits name no stack
	d.decode(evs, b.P, run.At, run.T, b.Thread)
	return evs
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

// decodeFields is decode for RawBatch.Fields, into evs (at most len(evs)
// events, from the left events of the batch at offset i): it also takes
// each run of starts and commits with no field as one event, and its sums
// appended to d.runs, which its Var indexes (see PlainRun). A copy of decode's loop, so that decode (for
// NextBatch and Next) does not pay for the test.
func (d *eventDecoder) decodeFields(evs []Event, p []byte, i, left int, t int64, thread uint32) (k, next, nleft int, last int64, at int, msg string) {
	for k < len(evs) && left > 0 {
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
			return k, i, left, t, at, "bad encoding"
		}
		nt := int64(uint64(t) + dt)
		// A start or commit with no field begins a run (PlainRun) when
		// plainPairs has no time to check for overflow (its deltas are
		// under 1<<21) and a commit's delta is under it too. A run of one
		// is returned as the event itself: a consumer's step of an event
		// costs less than that of a run.
		if h-1 < 2 && t <= math.MaxInt64-int64(left)<<21 && (h == uint64(KindTxStart) || dt < 1<<21) {
			run := PlainRun{At: at, T: t, Lead: -1}
			ri, rleft, rt := at, left, t
			if h == uint64(KindTxCommit) {
				run.Lead, run.Moves = int64(dt), int64(min(dt, 1))
				ri, rleft, rt = i, left-1, nt
			}
			var c, m, lr int64
			ri, rleft, rt, c, m, lr = plainPairs(p, ri, rleft, rt, -1)
			if n := left - rleft; n > 1 {
				run.N, run.End, run.Committed, run.LastRun = n, rt, c, lr
				run.Moves += m
				evs[k] = Event{Time: rt, Thread: thread, Var: uint64(len(d.runs))}
				d.runs = append(d.runs, run)
				k++
				i, left, t = ri, rleft, rt
				continue
			}
		}
		kind := Kind(h & kindMask)
		mask := h >> kindBits
		if nt < t || !kind.Valid() || mask >= 1<<numFieldBits {
			return k, i, left, t, at, eventProblem(nt < t, kind, mask)
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
				return k, i, left, t, at, msg
			}
		}
		k++
		left--
	}
	return k, i, left, t, 0, ""
}
