package logformat

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"io"
	"math"
)

// Writer writes a native log (see the package doc for the format).
//
// Events go into a per-thread batch (a byte buffer) and reach the underlying
// io.Writer only as whole chunks: when a batch grows past 64 KiB, and on
// Flush and Close. String, stack and var-name table entries are written
// lazily, always before the first batch that refers to them. So a log cut off
// at any point holds only whole chunks plus at most one partial chunk, which
// readers drop as a truncated tail.
//
// A Writer is not safe for concurrent use: runtime/stm's recorder calls it
// from one goroutine at a time (it serializes the per-thread buffers itself).
type Writer struct {
	bw     *bufio.Writer
	err    error // sticky: the first error of the underlying writer
	closed bool

	// Interning. String and stack ids are assigned in order, starting at 1.
	strs      map[string]uint64
	nstrs     uint64
	seed      maphash.Seed
	stackHash map[uint64]StackID // content hash -> first stack with that hash
	stackKey  map[string]StackID // Stack.Key -> id, only for hash collisions
	stacks    []Stack            // id-1 -> a private copy, to confirm hash hits
	varNames  map[uint64]uint64  // var id -> string id last written

	// Table entries not yet written.
	strTab, stackTab, varTab table

	// Per-thread batches. last caches the batch of the last Write, which in
	// practice is the next one too: the recorder hands over one thread's
	// buffer at a time.
	dense   []*batch          // thread -> batch, for threads below denseThreads
	threads map[uint32]*batch // the others
	last    *batch
	active  []*batch // batches with events since the last Flush, in order
	free    [][]byte // reusable batch buffers, released at Flush

	aggs     []byte // aggregate records not yet written
	naggs    uint64
	aggsW    []byte // those with Retry waits (chunkAggregatesWaits)
	naggsW   uint64
	dropped  int64 // dropped events not yet written
	scratch  []byte
	ids      []uint64 // scratch for addStack
	closeErr error    // what Close returned
}

// table is the pending part of a strings, stacks or var-names table.
type table struct {
	first uint64 // id of the first pending entry (unused for var names)
	n     uint64 // number of pending entries
	buf   []byte // their encoding
}

type batch struct {
	thread uint32
	n      int    // events in buf
	base   int64  // time of the first event in buf
	last   int64  // time of the thread's last event, in this or an earlier batch
	seen   bool   // last is valid
	active bool   // in Writer.active
	buf    []byte // encoded events
}

// denseThreads bounds the slice of per-thread batches (8 bytes a thread).
const denseThreads = 1 << 16

// maxFreeBuffers bounds the batch buffers kept between flushes; the recorder
// usually has a few busy threads, and idle threads should not pin memory.
const maxFreeBuffers = 16

// NewWriter writes the file header to w and returns a Writer that appends
// chunks to it. The Writer buffers; Flush and Close write through.
func NewWriter(w io.Writer) (*Writer, error) { return NewWriterMeta(w, Meta{}) }

// NewWriterMeta is NewWriter that also writes m (its Level, GOMAXPROCS and
// NumCPU; Version is ignored) as the log's process-info chunk, right after
// the header. A zero m writes no such chunk.
func NewWriterMeta(w io.Writer, m Meta) (*Writer, error) {
	lw := &Writer{
		bw:        bufio.NewWriterSize(w, chunkTarget),
		strs:      make(map[string]uint64),
		seed:      maphash.MakeSeed(),
		stackHash: make(map[uint64]StackID),
		varNames:  make(map[uint64]uint64),
	}
	lw.strTab.first, lw.stackTab.first = 1, 1
	var hdr [headerSize]byte
	copy(hdr[:], Magic)
	binary.LittleEndian.PutUint16(hdr[len(Magic):], Version)
	lw.bw.Write(hdr[:])
	if m.Level != LevelUnknown || m.GOMAXPROCS != 0 || m.NumCPU != 0 {
		if m.Level >= numLevels {
			return nil, fmt.Errorf("stmlog: log writer: unknown recording level %d", m.Level)
		}
		lw.writeChunk(chunkInfo, appendInfo(nil, m), nil)
	}
	// The header goes out at once so that even a log with no events is
	// recognizable (and an unwritable destination is reported here).
	if err := lw.bw.Flush(); err != nil {
		return nil, fmt.Errorf("stmlog: writing log header: %w", err)
	}
	return lw, nil
}

// errClosed is returned by every method after Close.
var errClosed = errors.New("stmlog: log writer already closed")

// intern returns the id of s, adding it to the pending strings table if new.
func (w *Writer) intern(s string) uint64 {
	if s == "" {
		return 0
	}
	if id, ok := w.strs[s]; ok {
		return id
	}
	stored := s
	if len(stored) > MaxStringLen {
		stored = stored[:MaxStringLen]
	}
	w.nstrs++
	id := w.nstrs
	w.strs[s] = id
	w.strTab.n++
	w.strTab.buf = appendUvarint(w.strTab.buf, uint64(len(stored)))
	w.strTab.buf = append(w.strTab.buf, stored...)
	if len(w.strTab.buf) >= chunkTarget {
		w.writeTables()
	}
	return id
}

// Stack returns the id of s in this log, adding it (and its strings) to the
// pending tables if no equal stack was added before. Equal means same label
// and frames; the caller may reuse s.Frames afterwards. An empty stack (no
// frames, no label) is id 0.
func (w *Writer) Stack(s Stack) StackID {
	if len(s.Frames) == 0 && s.Label == "" {
		return 0
	}
	if len(s.Frames) > MaxFrames {
		s.Frames = s.Frames[:MaxFrames]
	}
	h := w.hashStack(&s)
	id, hit := w.stackHash[h]
	if hit {
		if stacksEqual(&w.stacks[id-1], &s) {
			return id
		}
		// A hash collision: fall back to the (allocating) canonical key.
		if w.stackKey == nil {
			w.stackKey = make(map[string]StackID)
		}
		key := s.Key()
		if id, ok := w.stackKey[key]; ok {
			return id
		}
		id = w.addStack(s)
		w.stackKey[key] = id
		return id
	}
	id = w.addStack(s)
	w.stackHash[h] = id
	return id
}

func (w *Writer) addStack(s Stack) StackID {
	s.Frames = append([]Frame(nil), s.Frames...)
	w.stacks = append(w.stacks, s)
	id := StackID(len(w.stacks))

	// Intern everything before encoding the entry: interning may write the
	// pending tables, and the entry must not be split across chunks.
	ids := append(w.ids[:0], w.intern(s.Label))
	for _, f := range s.Frames {
		line := uint64(0)
		if f.Line > 0 && int64(f.Line) < 1<<31 {
			line = uint64(f.Line)
		}
		ids = append(ids, w.intern(f.Func), w.intern(f.File), line)
	}
	w.ids = ids
	t := &w.stackTab
	t.buf = appendUvarint(t.buf, ids[0])
	t.buf = appendUvarint(t.buf, uint64(len(s.Frames)))
	for _, v := range ids[1:] {
		t.buf = appendUvarint(t.buf, v)
	}
	t.n++
	if len(t.buf) >= chunkTarget {
		w.writeTables()
	}
	return id
}

func (w *Writer) hashStack(s *Stack) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	h.WriteString(s.Label)
	var line [9]byte
	for i := range s.Frames {
		f := &s.Frames[i]
		line[0] = 0
		binary.LittleEndian.PutUint64(line[1:], uint64(f.Line))
		h.Write(line[:])
		h.WriteString(f.Func)
		h.WriteByte(0)
		h.WriteString(f.File)
	}
	return h.Sum64()
}

func stacksEqual(a, b *Stack) bool {
	if a.Label != b.Label || len(a.Frames) != len(b.Frames) {
		return false
	}
	for i := range a.Frames {
		if a.Frames[i] != b.Frames[i] {
			return false
		}
	}
	return true
}

// NameVar gives the Var with the given id a name for reports. Naming a Var
// again with the same name costs nothing; a different name replaces the old
// one from that point of the log on.
func (w *Writer) NameVar(id uint64, name string) {
	sid := w.intern(name)
	if old, ok := w.varNames[id]; ok && old == sid {
		return
	}
	w.varNames[id] = sid
	w.varTab.n++
	w.varTab.buf = appendUvarint(w.varTab.buf, id)
	w.varTab.buf = appendUvarint(w.varTab.buf, sid)
	if len(w.varTab.buf) >= chunkTarget {
		w.writeTables()
	}
}

// Write appends ev to its thread's batch; it does not keep ev, so a caller
// may reuse one Event for every call (the runtime's recorder does: an Event
// is too big to pass in registers, and copying one per call was a visible
// part of the recorder's cost). It rejects (without recording) events the
// format cannot carry: thread 0, an invalid Kind, Cause, Reason or
// Conflict, a Site or OtherSite this Writer did not return, or a time
// before the thread's previous event. Once the underlying writer has
// failed, Write returns that error.
func (w *Writer) Write(ev *Event) error {
	if w.err != nil {
		return w.err
	}
	b := w.last
	if b == nil || b.thread != ev.Thread {
		if ev.Thread == 0 {
			return errors.New("stmlog: event with thread 0 (threads start at 1)")
		}
		b = w.batchFor(ev.Thread)
	}
	if !ev.Kind.Valid() || ev.Conflict >= numConflictKinds || !ev.Cause.Valid() || !ev.Reason.Valid() ||
		int(ev.Site) > len(w.stacks) || int(ev.OtherSite) > len(w.stacks) || (b.seen && ev.Time < b.last) {
		return w.badEvent(b, ev)
	}
	if b.n == 0 {
		if b.buf == nil {
			if k := len(w.free); k > 0 {
				b.buf, w.free = w.free[k-1], w.free[:k-1]
			}
		}
		if !b.active {
			b.active = true
			w.active = append(w.active, b)
		}
		b.base = ev.Time
		b.last = ev.Time
	}
	// ev.Time >= b.last, so the difference fits in a uint64 even when the
	// int64 subtraction would overflow.
	buf := appendUvarint(b.buf, uint64(ev.Time)-uint64(b.last))
	var mask uint64
	if ev.Cause != 0 {
		mask |= fieldCause
	}
	if ev.Reason != 0 {
		mask |= fieldReason
	}
	if ev.Conflict != 0 {
		mask |= fieldConflict
	}
	if ev.OtherThread != 0 {
		mask |= fieldOther
	}
	if ev.Var != 0 {
		mask |= fieldVar
	}
	if ev.Site != 0 {
		mask |= fieldSite
	}
	if ev.OtherSite != 0 {
		mask |= fieldOtherSite
	}
	buf = appendUvarint(buf, uint64(ev.Kind)|mask<<kindBits)
	if mask != 0 {
		if mask&fieldCause != 0 {
			buf = append(buf, byte(ev.Cause))
		}
		if mask&fieldReason != 0 {
			buf = append(buf, byte(ev.Reason))
		}
		if mask&fieldConflict != 0 {
			buf = append(buf, byte(ev.Conflict))
		}
		if mask&fieldOther != 0 {
			buf = appendUvarint(buf, uint64(ev.OtherThread))
		}
		if mask&fieldVar != 0 {
			buf = appendUvarint(buf, ev.Var)
		}
		if mask&fieldSite != 0 {
			buf = appendUvarint(buf, uint64(ev.Site))
		}
		if mask&fieldOtherSite != 0 {
			buf = appendUvarint(buf, uint64(ev.OtherSite))
		}
	}
	b.buf = buf
	b.n++
	b.last = ev.Time
	b.seen = true
	if len(buf) >= chunkTarget || b.n >= MaxBatchEvents {
		w.writeBatch(b)
		return w.err
	}
	return nil
}

// batchFor returns the batch of a thread, creating it. Thread numbers are
// small and dense (the runtime numbers threads from 1), so most live in a
// slice: a map lookup per event would cost more than encoding the event when
// threads interleave.
func (w *Writer) batchFor(thread uint32) *batch {
	var b *batch
	if thread < denseThreads {
		if int(thread) < len(w.dense) {
			b = w.dense[thread]
		}
	} else {
		b = w.threads[thread]
	}
	if b == nil {
		b = &batch{thread: thread}
		if thread < denseThreads {
			if int(thread) >= len(w.dense) {
				w.dense = append(w.dense, make([]*batch, int(thread)+1-len(w.dense))...)
			}
			w.dense[thread] = b
		} else {
			if w.threads == nil {
				w.threads = make(map[uint32]*batch)
			}
			w.threads[thread] = b
		}
	}
	w.last = b
	return b
}

// badEvent builds Write's error for an event it refuses; kept out of Write so
// that the hot path stays small.
func (w *Writer) badEvent(b *batch, ev *Event) error {
	switch {
	case !ev.Kind.Valid():
		return fmt.Errorf("stmlog: event with invalid kind %d", ev.Kind)
	case ev.Conflict >= numConflictKinds:
		return fmt.Errorf("stmlog: event with invalid conflict kind %d", ev.Conflict)
	case !ev.Cause.Valid():
		return fmt.Errorf("stmlog: event with invalid abort cause %d", ev.Cause)
	case !ev.Reason.Valid():
		return fmt.Errorf("stmlog: event with invalid wait reason %d", ev.Reason)
	case int(ev.Site) > len(w.stacks), int(ev.OtherSite) > len(w.stacks):
		return fmt.Errorf("stmlog: event refers to stack %d/%d, but the log writer has only %d stacks",
			ev.Site, ev.OtherSite, len(w.stacks))
	default:
		return fmt.Errorf("stmlog: thread %d: event time %d is before the thread's previous event (%d)",
			ev.Thread, ev.Time, b.last)
	}
}

// Aggregate adds an aggregate record (see Aggregate), written at the next
// Flush after that Flush's event batches. It rejects records the format
// cannot carry: thread 0, End before Start, more timed and sampled commits
// than commits, negative durations or a bad sum of squares.
func (w *Writer) Aggregate(a Aggregate) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case a.Thread == 0:
		return errors.New("stmlog: aggregate record with thread 0 (threads start at 1)")
	case a.End < a.Start:
		return fmt.Errorf("stmlog: aggregate record of thread %d ends (%d) before it starts (%d)", a.Thread, a.End, a.Start)
	case a.Timed > a.Commits || a.Sampled > a.Commits-a.Timed:
		return fmt.Errorf("stmlog: aggregate record of thread %d: %d timed and %d sampled of %d commits", a.Thread, a.Timed, a.Sampled, a.Commits)
	case a.TimedNs < 0 || a.SampledNs < 0 || !(a.SampledSq >= 0) || math.IsInf(a.SampledSq, 0) ||
		a.RetryPausedNs < 0 || a.RetryAbortedNs < 0:
		return fmt.Errorf("stmlog: aggregate record of thread %d: bad durations", a.Thread)
	}
	// A record without Retry waits goes in the chunk type that readers
	// from before the waits read too.
	if a.hasWaits() {
		w.aggsW = appendWaits(appendAggregate(w.aggsW, &a), &a)
		w.naggsW++
	} else {
		w.aggs = appendAggregate(w.aggs, &a)
		w.naggs++
	}
	if len(w.aggs) >= chunkTarget || len(w.aggsW) >= chunkTarget {
		w.writeAggregates()
	}
	return nil
}

func (w *Writer) writeAggregates() {
	if w.naggs != 0 {
		w.scratch = appendUvarint(w.scratch[:0], w.naggs)
		w.writeChunk(chunkAggregates, w.scratch, w.aggs)
		w.aggs = w.aggs[:0]
		w.naggs = 0
	}
	if w.naggsW != 0 {
		w.scratch = appendUvarint(w.scratch[:0], w.naggsW)
		w.writeChunk(chunkAggregatesWaits, w.scratch, w.aggsW)
		w.aggsW = w.aggsW[:0]
		w.naggsW = 0
	}
}

// Dropped records that n events were lost (for example to a full buffer);
// readers report the total. Non-positive n is ignored.
func (w *Writer) Dropped(n int64) {
	if n > 0 {
		w.dropped += n
	}
}

// Flush writes all pending table entries, every thread's pending batch and
// the dropped-events count as whole chunks, and flushes them to the
// underlying writer. Batches go out in the order their threads first had
// events since the last Flush.
func (w *Writer) Flush() error {
	if w.closed {
		return errClosed
	}
	w.writeTables()
	for _, b := range w.active {
		if b.n > 0 {
			w.writeBatch(b)
		}
		b.active = false
		if b.buf != nil && len(w.free) < maxFreeBuffers {
			w.free = append(w.free, b.buf[:0])
		}
		b.buf = nil
	}
	clear(w.active)
	w.active = w.active[:0]
	w.writeAggregates()
	if w.dropped > 0 {
		w.scratch = appendUvarint(w.scratch[:0], uint64(w.dropped))
		w.writeChunk(chunkDropped, w.scratch, nil)
		w.dropped = 0
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("stmlog: writing log: %w", err)
		}
	}
	return w.err
}

// Close flushes everything and writes the end marker, which tells readers the
// log is complete. It does not close the underlying io.Writer. Calling Close
// again does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.Flush()
	w.writeChunk(chunkEnd, nil, nil)
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("stmlog: writing log: %w", err)
		}
	}
	w.closed = true
	w.closeErr = w.err
	if w.err == nil {
		w.err = errClosed // for any later Write
	}
	return w.closeErr
}

// writeTables writes the pending strings, stacks and var names, in that
// order, which is the order their references need.
func (w *Writer) writeTables() {
	for _, x := range []struct {
		t   *table
		typ byte
	}{{&w.strTab, chunkStrings}, {&w.stackTab, chunkStacks}, {&w.varTab, chunkVarNames}} {
		t := x.t
		if t.n == 0 {
			continue
		}
		w.scratch = w.scratch[:0]
		if x.typ != chunkVarNames {
			w.scratch = appendUvarint(w.scratch, t.first)
		}
		w.scratch = appendUvarint(w.scratch, t.n)
		w.writeChunk(x.typ, w.scratch, t.buf)
		t.first += t.n
		t.n = 0
		t.buf = t.buf[:0]
	}
}

// writeBatch writes b as an events chunk (after any pending table entries it
// may refer to) and empties it.
func (w *Writer) writeBatch(b *batch) {
	w.writeTables()
	w.scratch = appendUvarint(w.scratch[:0], uint64(b.thread))
	w.scratch = binary.AppendVarint(w.scratch, b.base)
	w.scratch = appendUvarint(w.scratch, uint64(b.n))
	w.writeChunk(chunkEvents, w.scratch, b.buf)
	b.buf = b.buf[:0]
	b.n = 0
}

// writeChunk writes one chunk whose payload is a followed by b.
func (w *Writer) writeChunk(typ byte, a, b []byte) {
	if w.err != nil {
		return
	}
	crc := crc32.Update(crc32.Checksum(a, castagnoli), castagnoli, b)
	var hdr [chunkHeaderSize]byte
	appendChunkHeader(hdr[:0], typ, len(a)+len(b), crc)
	w.bw.Write(hdr[:])
	w.bw.Write(a)
	if _, err := w.bw.Write(b); err != nil {
		w.err = fmt.Errorf("stmlog: writing log: %w", err)
	}
}
