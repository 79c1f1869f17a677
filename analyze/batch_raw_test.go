package analyze

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	lf "github.com/stmlog/stmlog/logformat"
	lt "github.com/stmlog/stmlog/logformat/logtest"
)

// hideRaw hands out a Reader's batches without its raw ones, so that the
// Analyzer takes its batch path.
type hideRaw struct{ r *lf.Reader }

func (h hideRaw) Next() (lf.Event, error)          { return h.r.Next() }
func (h hideRaw) NextBatch() ([]lf.Event, error)   { return h.r.NextBatch() }
func (h hideRaw) Stack(id lf.StackID) *lf.Stack    { return h.r.Stack(id) }
func (h hideRaw) VarName(id uint64) string         { return h.r.VarName(id) }
func (h hideRaw) Offset() int64                    { return h.r.Offset() }
func (h hideRaw) Stats() lf.Stats                  { return h.r.Stats() }
func (h hideRaw) Meta() lf.Meta                    { return h.r.Meta() }
func (h hideRaw) Aggregate() lf.Aggregate          { return h.r.Aggregate() }
func (h hideRaw) Raw() (lf.RawBatch, bool)         { return lf.RawBatch{}, false }
func (h hideRaw) Took(*lf.RawBatch)                {}
func (c *countRaw) rawless() logSource             { return hideRaw{c.Reader} }
func (c *countRaw) Raw() (lf.RawBatch, bool)       { b, ok := c.Reader.Raw(); c.left = b.Left; return b, ok }
func (c *countRaw) Took(b *lf.RawBatch)            { c.Reader.Took(b); c.took += c.left - b.Left }
func (c *countRaw) NextBatch() ([]lf.Event, error) { return c.Reader.NextBatch() }

// countRaw counts the events an Analyzer takes from a Reader raw.
type countRaw struct {
	*lf.Reader
	left, took int
}

type logSource interface {
	lf.RawSource
	Meta() lf.Meta
}

// realisticStream is a stream of transactions on a few threads, as a
// recorder writes them (fields only where the kind has them: most starts
// and commits are plain), with now and then an event out of place: a
// start or commit with a field, a commit with no start, a start in a
// transaction, waits in and out of transactions, detaches, GC events, and
// deltas of every length, zero included.
func realisticStream(r *rand.Rand, n int) []lf.Event {
	evs := make([]lf.Event, 0, n)
	threads := 1 + r.IntN(4)
	now := make([]int64, threads+1)
	for i := range now {
		now[i] = int64(r.IntN(1000))
	}
	delta := func() int64 {
		switch r.IntN(20) {
		case 0:
			return 0
		case 1:
			return int64(r.IntN(1 << 30))
		case 2, 3, 4:
			return int64(r.IntN(1 << 21))
		}
		return int64(r.IntN(1 << 14))
	}
	th := uint32(1)
	for len(evs) < n {
		if r.IntN(8) == 0 {
			th = uint32(1 + r.IntN(threads))
		}
		emit := func(ev lf.Event) {
			now[th] += delta()
			ev.Time, ev.Thread = now[th], th
			evs = append(evs, ev)
		}
		emit(lf.Event{Kind: lf.KindTxStart})
		switch p := r.IntN(100); {
		case p < 10:
			emit(lf.Event{Kind: lf.KindConflict, Conflict: lf.ConflictKind(1 + r.IntN(3)), Var: uint64(r.IntN(3)),
				OtherThread: uint32(r.IntN(threads + 1)), Site: lf.StackID(r.IntN(4)), OtherSite: lf.StackID(r.IntN(4))})
			emit(lf.Event{Kind: lf.KindTxAbort, Cause: lf.AbortCause(r.IntN(6))})
			if r.IntN(2) == 0 {
				emit(lf.Event{Kind: lf.KindWaitStart, Reason: lf.WaitReason(r.IntN(4))})
				emit(lf.Event{Kind: lf.KindWaitDone, Reason: lf.WaitReason(r.IntN(4))})
			}
			continue
		case p < 15:
			emit(lf.Event{Kind: lf.KindConflict, Conflict: lf.ConflictInevitable, OtherThread: uint32(r.IntN(threads + 1)), Site: 1})
			emit(lf.Event{Kind: lf.KindWaitStart, Reason: lf.WaitInevitable})
			emit(lf.Event{Kind: lf.KindWaitDone, Reason: lf.WaitInevitable})
		case p < 18:
			emit(lf.Event{Kind: lf.KindBecomeInevitable, Site: 2})
		case p < 20:
			emit(lf.Event{Kind: lf.Kind(1 + r.IntN(13)), Cause: lf.AbortCause(r.IntN(2)), Reason: lf.WaitReason(r.IntN(2)),
				Var: uint64(r.IntN(2))}) // anything, a field or not
		case p < 22:
			continue // a start with no end
		}
		emit(lf.Event{Kind: lf.KindTxCommit})
	}
	return evs
}

// The raw path (Analyzer.raw, rawPlain) computes what the batch path
// computes, with and without a schedule's tee (under Limits it goes past
// or not), on realistic streams cut into batches of every size; and it
// takes most of their events.
func TestRawSameAsBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	stacks := map[lf.StackID]*lf.Stack{1: stack("f", 1), 2: stack("g", 2), 3: stack("h", 3)}
	var total, took int
	for iter := range 300 {
		evs := realisticStream(r, 50+r.IntN(2000))
		var flush []int
		for i := 1 + r.IntN(300); i < len(evs); i += 1 + r.IntN(300) {
			flush = append(flush, i)
		}
		var buf bytes.Buffer
		if err := (&lt.Source{Events: evs, Stacks: stacks, FlushAt: flush}).Encode(&buf); err != nil {
			t.Fatal(err)
		}
		opt := Options{By: GroupBy(iter % int(numGroupBy))}
		if iter%4 == 1 {
			opt.Kind = lf.ConflictKind(1 + r.IntN(3))
		}
		open := func() *countRaw {
			rd, err := lf.NewReader(bytes.NewReader(buf.Bytes()), lf.ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return &countRaw{Reader: rd}
		}
		var sums [2]*Summary
		for v := range 2 {
			var src logSource = open()
			if v == 1 {
				src = src.(*countRaw).rawless()
			}
			a := New(opt)
			if err := a.Add(src); err != nil {
				t.Fatal(err)
			}
			sums[v] = a.Summary()
			if c, ok := src.(*countRaw); ok {
				total += len(evs)
				took += c.took
			}
		}
		if !reflect.DeepEqual(sums[0], sums[1]) {
			t.Fatalf("iter %d: summary raw\n%+v\nbatched\n%+v", iter, sums[0], sums[1])
		}
		limit := 1 + r.IntN(5)
		if iter%3 == 0 {
			limit = 1 << 20
		}
		var ts [2]*Summary
		var ws [2]*WhatIf
		for v := range 2 {
			var src logSource = open()
			if v == 1 {
				src = src.(*countRaw).rawless()
			}
			ts[v], ws[v] = teeWhatIf(t, opt, limit, src, false)
		}
		if !reflect.DeepEqual(ts[0], ts[1]) || !reflect.DeepEqual(ts[0], sums[1]) {
			t.Fatalf("iter %d: summary through the tee raw\n%+v\nbatched\n%+v", iter, ts[0], ts[1])
		}
		if !reflect.DeepEqual(ws[0], ws[1]) {
			t.Fatalf("iter %d, limit %d: what-if raw\n%+v\nbatched\n%+v", iter, limit, ws[0], ws[1])
		}
		// BoundFirst: the segments counted (thread.moves)
		var segs [2][2]int
		for v := range 2 {
			var src logSource = open()
			if v == 1 {
				src = src.(*countRaw).rawless()
			}
			a, s := New(opt), NewSchedule(opt)
			s.BoundFirst()
			if err := a.Add(s.Tee("log", src)); err != nil {
				t.Fatal(err)
			}
			segs[v] = [2]int{s.segs, int(b2u(s.segsUnknown))}
		}
		if segs[0] != segs[1] {
			t.Fatalf("iter %d: BoundFirst's segments raw %v, batched %v", iter, segs[0], segs[1])
		}
	}
	if took < total/2 {
		t.Fatalf("the raw path took %d of %d events", took, total)
	}
}
