package logformat

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"
	"strings"
)

// ReaderOptions configures a Reader.
type ReaderOptions struct {
	// Name is the file name used in errors and warnings.
	Name string
	// Salvage makes the reader skip damaged chunks, counting them in
	// Stats.Skipped and Stats.SkippedBytes, instead of stopping at the first.
	Salvage bool
}

// Reader reads a native log as a stream of events (it implements Source).
//
// It reads one chunk at a time into a reused buffer and decodes event batches
// a few hundred events at a time, so memory stays bounded by MaxChunkSize plus
// the string, stack and var-name tables (and the last time of each thread),
// however long the log is; decoding allocates nothing per event.
//
// A log cut off anywhere after its first byte, even inside the header, reads
// as every whole chunk followed by io.EOF, with Stats saying how many bytes
// were ignored. Damage is reported as a *CorruptError naming the byte offset
// (which one: see the package doc). Checksums catch damage
// before a chunk is used, so a damaged chunk yields no events; a chunk with
// valid checksums but invalid content (a writer bug, or a crafted file) is
// checked as it is decoded, so the events of a batch before the bad one are
// returned. Under ReaderOptions.Salvage, a damaged chunk is skipped and
// counted in Stats.Skipped instead (the rest of a batch, from a bad event on),
// a damaged chunk header is skipped by scanning for the next valid one, and
// references to strings or stacks that are not defined (typically because
// their chunk was skipped) resolve to "(lost)" or are cleared, with a warning.
type Reader struct {
	name    string
	salvage bool
	br      *bufio.Reader
	off     int64 // file offset of the next byte of br
	evOff   int64 // file offset of the chunk that holds events
	buf     []byte

	batch  batchState // the event batch being decoded
	events []Event    // decoded events of the batch, being returned
	pos    int        // next event of events to return

	strs     []string          // string id -> string; strs[0] == ""
	stacks   []*Stack          // stack id -> stack; stacks[0] == nil; nil: lost under salvage
	vars     map[uint64]string // var id -> name
	lastTime map[uint32]int64  // thread -> time of its last event
	pairs    []uint64          // scratch for var names

	meta      Meta        // file version and process info
	aggs      []Aggregate // the aggregates chunk being returned, as events
	aggEvents []Event     // their events
	lostRefs  int64       // salvage: stack references cleared because the stack was lost
	skipped   [][2]int64  // salvage: the first byte ranges skipped, [from, to)
	stats     Stats
	err       error // sticky: io.EOF at the end, or the error that stopped reading
}

// lostString stands for strings whose chunk was skipped under salvage.
const lostString = "(lost)"

// NewReader reads and checks the file header of r. It fails if r is empty,
// is not a native log or has a version this package cannot read; a log cut
// off inside its header (1 to 9 bytes of it) is not an error (Next reports it
// as truncated).
func NewReader(r io.Reader, opt ReaderOptions) (*Reader, error) {
	rd := &Reader{
		name:     opt.Name,
		salvage:  opt.Salvage,
		br:       bufio.NewReaderSize(r, chunkTarget),
		strs:     []string{""},
		stacks:   []*Stack{nil},
		vars:     make(map[uint64]string),
		lastTime: make(map[uint32]int64),
		stats:    Stats{Format: "stmlog"},
	}
	hdr, err := rd.br.Peek(headerSize)
	if len(hdr) < headerSize {
		if err != io.EOF {
			return nil, fmt.Errorf("%sreading header: %w", rd.prefix(), err)
		}
		if len(hdr) == 0 {
			// Nothing tells an empty file's format, and a Writer writes
			// the header before anything else (see the package doc).
			return nil, fmt.Errorf("%s%w (empty file)", rd.prefix(), ErrNotNative)
		}
		if !isHeaderPrefix(hdr) {
			return nil, rd.notNative(hdr)
		}
		n, _ := rd.br.Discard(len(hdr))
		rd.off = int64(n)
		rd.truncated(int64(n))
		return rd, nil
	}
	if !IsNative(hdr) {
		return nil, rd.notNative(hdr)
	}
	v := binary.LittleEndian.Uint16(hdr[len(Magic):])
	if v < MinVersion || v > Version {
		return nil, fmt.Errorf("%sstmlog log format version %d is not supported (this reader reads versions %d to %d)",
			rd.prefix(), v, MinVersion, Version)
	}
	rd.meta.Version = int(v)
	rd.stats.Format = "stmlog/" + strconv.Itoa(int(v))
	rd.br.Discard(headerSize)
	rd.off = int64(headerSize)
	// The process-info chunk comes first: read it now, so that Meta is
	// known before the first event.
	if h, _ := rd.br.Peek(1); len(h) == 1 && h[0] == chunkInfo && v >= 2 {
		rd.readChunk()
	}
	return rd, nil
}

func (r *Reader) prefix() string {
	if r.name == "" {
		return ""
	}
	return r.name + ": "
}

func (r *Reader) notNative(hdr []byte) error {
	if len(hdr) > len(Magic) {
		hdr = hdr[:len(Magic)]
	}
	return fmt.Errorf("%s%w (magic %q)", r.prefix(), ErrNotNative, hdr)
}

// Next returns the next event in file order: a thread's events in time order,
// batches of different threads interleaved. It returns io.EOF at the end of
// the log, whether it ended cleanly or was cut off (see Stats), and a
// *CorruptError (or an I/O error) when it cannot go on; after that it keeps
// returning the same error.
func (r *Reader) Next() (Event, error) {
	for r.pos >= len(r.events) {
		switch {
		case r.batch.left > 0:
			r.fill()
		case r.err != nil:
			return Event{}, r.err
		default:
			r.readChunk()
		}
	}
	ev := r.events[r.pos]
	r.pos++
	r.stats.Events++
	return ev, nil
}

// Stack resolves a stack id seen in an event already returned; nil for 0 or
// an unknown id. The Stack is shared: callers must not modify it.
func (r *Reader) Stack(id StackID) *Stack {
	if uint64(id) < uint64(len(r.stacks)) {
		return r.stacks[id]
	}
	return nil
}

// Meta returns the log's format version and what its process-info chunk
// says (format version 2; zero fields are unknown). The chunk is the first
// of a log, so Meta is known from NewReader on.
func (r *Reader) Meta() Meta { return r.meta }

// Aggregate returns the aggregate record of the last event Next returned,
// if that event is of kind KindAggregate (the zero Aggregate otherwise).
func (r *Reader) Aggregate() Aggregate {
	if r.pos > 0 && r.pos <= len(r.events) && r.events[r.pos-1].Kind == KindAggregate && r.pos <= len(r.aggs) {
		return r.aggs[r.pos-1]
	}
	return Aggregate{}
}

// VarName returns the name given to a Var so far, or "".
func (r *Reader) VarName(id uint64) string { return r.vars[id] }

// Offset is the byte offset of the chunk holding the event Next returned last.
func (r *Reader) Offset() int64 { return r.evOff }

// Stats describes what has been read so far; after Next returned io.EOF, the
// whole log.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Bytes = r.off
	s.Warnings = append([]string(nil), s.Warnings...)
	return s
}

func (r *Reader) discard(n int) {
	m, _ := r.br.Discard(n)
	r.off += int64(m)
}

// readChunk reads one chunk, applying it to the tables or decoding it into
// r.events, or sets r.err.
func (r *Reader) readChunk() {
	start := r.off
	h, err := r.br.Peek(chunkHeaderSize)
	if len(h) < chunkHeaderSize {
		if err != io.EOF {
			r.err = fmt.Errorf("%sbyte offset %d: %w", r.prefix(), start, err)
			return
		}
		r.discard(len(h))
		r.truncated(int64(len(h)))
		return
	}
	typ := h[0]
	length := binary.LittleEndian.Uint32(h[1:])
	dataCRC := binary.LittleEndian.Uint32(h[5:])
	if crc32.Checksum(h[:9], castagnoli) != binary.LittleEndian.Uint32(h[9:]) {
		r.badHeader(start, fmt.Sprintf("chunk header checksum mismatch (as stored: type %d, length %d)", typ, length))
		return
	}
	if length > MaxChunkSize {
		r.badHeader(start, fmt.Sprintf("chunk length %d exceeds the %d-byte limit", length, MaxChunkSize))
		return
	}
	r.discard(chunkHeaderSize)
	if cap(r.buf) < int(length) {
		r.buf = make([]byte, length)
	}
	p := r.buf[:length]
	n, err := io.ReadFull(r.br, p)
	r.off += int64(n)
	if err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			r.truncated(chunkHeaderSize + int64(n))
		} else {
			r.err = fmt.Errorf("%sbyte offset %d: %w", r.prefix(), r.off, err)
		}
		return
	}
	size := chunkHeaderSize + int64(length)
	if crc32.Checksum(p, castagnoli) != dataCRC {
		r.corrupt(start, start, size, fmt.Sprintf("chunk payload checksum mismatch (chunk type %d, %d bytes)", typ, length))
		return
	}
	at, msg := 0, ""
	switch typ {
	case chunkStrings:
		at, msg = r.readStrings(p)
	case chunkStacks:
		at, msg = r.readStacks(p)
	case chunkVarNames:
		at, msg = r.readVarNames(p)
	case chunkEvents:
		if at, msg = r.readEvents(p); msg == "" {
			r.evOff = start
			r.batch.start, r.batch.size = start, size
		}
	case chunkDropped:
		var c uint64
		if c, at = uvarint(p, 0); at < 0 {
			at, msg = 0, "bad dropped-events count"
		} else {
			r.stats.Dropped += int64(min(c, math.MaxInt64-uint64(r.stats.Dropped)))
		}
	case chunkInfo:
		if r.meta.Version >= 2 {
			at, msg = readInfo(p, &r.meta)
		}
	case chunkAggregates:
		if r.meta.Version < 2 {
			msg = fmt.Sprintf("chunk type %d is not part of format version %d", typ, r.meta.Version)
			break
		}
		at, msg = r.readAggregates(p)
		if msg == "" {
			r.evOff = start
		}
	case chunkEnd:
		r.stats.Chunks++
		r.stats.CleanEnd = true
		r.end()
		return
	default:
		if typ >= chunkCritical {
			// A verdict on the whole chunk: it names the chunk's offset.
			r.corrupt(start, start, size, fmt.Sprintf("chunk type %d is not known to this reader and must not be skipped (written by a newer stmlog?)", typ))
			return
		}
		// Unknown optional chunks are skipped: forward compatibility.
	}
	if msg != "" {
		r.corrupt(start, start+chunkHeaderSize+int64(at), size, msg)
		return
	}
	r.stats.Chunks++
}

// corrupt reports damage found at byte off, inside the chunk of size bytes
// at start that has been consumed: fatal, or skipped under salvage.
func (r *Reader) corrupt(start, off, size int64, msg string) {
	if !r.salvage {
		r.err = &CorruptError{Name: r.name, Offset: off, Err: errors.New(msg)}
		return
	}
	r.skip(start, start+size)
}

// maxSkipRanges bounds the byte ranges a salvage warning lists.
const maxSkipRanges = 8

// skip counts the damaged bytes [from, to) that salvage skipped, and keeps
// the first ranges for the warning, so that a user can look at them
// (stmlog dump) or cut them out.
func (r *Reader) skip(from, to int64) {
	r.stats.Skipped++
	r.stats.SkippedBytes += to - from
	if n := len(r.skipped); n > 0 && r.skipped[n-1][1] == from {
		r.skipped[n-1][1] = to // adjacent damage reads as one range
	} else if n < maxSkipRanges {
		r.skipped = append(r.skipped, [2]int64{from, to})
	}
}

// skippedRanges renders the kept ranges ("bytes 10-523, 900-1034"), with
// how many more there were.
func (r *Reader) skippedRanges() string {
	var b strings.Builder
	b.WriteString("bytes ")
	listed := int64(0)
	for i, rg := range r.skipped {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d-%d", rg[0], rg[1]-1) // inclusive, as people count
		listed += rg[1] - rg[0]
	}
	if rest := r.stats.SkippedBytes - listed; rest > 0 {
		fmt.Fprintf(&b, " and %d more bytes elsewhere", rest)
	}
	return b.String()
}

// badHeader handles a chunk header that cannot be trusted, so the chunk's
// end is unknown: fatal, or under salvage a scan for the next valid header.
func (r *Reader) badHeader(start int64, msg string) {
	if !r.salvage {
		r.err = &CorruptError{Name: r.name, Offset: start, Err: errors.New(msg)}
		return
	}
	r.discard(1)
	for {
		win, err := r.br.Peek(r.br.Size())
		if i := findChunkHeader(win); i >= 0 {
			r.discard(i)
			break
		}
		if err == nil {
			// Keep the last bytes: they may begin a header.
			r.discard(len(win) - (chunkHeaderSize - 1))
			continue
		}
		r.discard(len(win)) // end of input: all of the rest is damage
		if err != io.EOF {
			r.err = fmt.Errorf("%sbyte offset %d: %w", r.prefix(), r.off, err)
		}
		break
	}
	r.skip(start, r.off)
}

// findChunkHeader returns the index of the first 13 bytes of b that form a
// valid chunk header, or -1.
func findChunkHeader(b []byte) int {
	for i := 0; i+chunkHeaderSize <= len(b); i++ {
		h := b[i : i+chunkHeaderSize]
		if crc32.Checksum(h[:9], castagnoli) == binary.LittleEndian.Uint32(h[9:]) &&
			binary.LittleEndian.Uint32(h[1:]) <= MaxChunkSize {
			return i
		}
	}
	return -1
}

// end handles the end chunk: nothing may follow it.
func (r *Reader) end() {
	if b, _ := r.br.Peek(1); len(b) > 0 {
		start := r.off
		if !r.salvage {
			r.err = &CorruptError{Name: r.name, Offset: start, Err: errors.New("data after the end marker")}
			return
		}
		for {
			n, err := r.br.Discard(r.br.Size())
			r.off += int64(n)
			if err != nil {
				break
			}
		}
		r.skip(start, r.off)
	}
	r.finish()
}

// truncated ends reading at a tail of n bytes that is not a whole chunk.
func (r *Reader) truncated(n int64) {
	r.stats.TruncatedBytes = n
	r.finish()
}

// finish ends reading at the end of the input and records warnings.
func (r *Reader) finish() {
	p := r.prefix()
	switch {
	case r.off < int64(headerSize):
		r.warn("%slog cut off inside its %d-byte header (%d bytes): no events", p, headerSize, r.off)
	case r.stats.TruncatedBytes > 0:
		r.warn("%slog cut off: the last %d bytes (an incomplete chunk at byte %d) were ignored; no end marker",
			p, r.stats.TruncatedBytes, r.off-r.stats.TruncatedBytes)
	case !r.stats.CleanEnd:
		r.warn("%sno end marker: the recording did not stop cleanly (the program crashed, is still running, or exited without calling stm.StopLog; its last events may be missing; a program calls stm.StopLog before it exits, a test binary in TestMain after m.Run)", p)
	}
	if r.stats.Skipped > 0 {
		r.warn("%ssalvage: skipped %d damaged chunks (%d bytes: %s)", p, r.stats.Skipped, r.stats.SkippedBytes, r.skippedRanges())
	}
	if r.lostRefs > 0 {
		r.warn("%ssalvage: cleared %d references to stacks lost in damaged chunks", p, r.lostRefs)
	}
	r.err = io.EOF
}

func (r *Reader) warn(format string, args ...any) {
	r.stats.Warnings = append(r.stats.Warnings, fmt.Sprintf(format, args...))
}

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
// whole chunk: no record of it is returned.
func (r *Reader) readAggregates(p []byte) (int, string) {
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
		if i, msg = readAggregate(p, i, &a); msg != "" {
			r.aggs = r.aggs[:0]
			return at, fmt.Sprintf("aggregate record %d: %s", k, msg)
		}
		r.aggs = append(r.aggs, a)
		r.aggEvents = append(r.aggEvents, Event{Time: a.End, Kind: KindAggregate, Thread: a.Thread})
	}
	r.events = r.aggEvents
	r.pos = 0
	return 0, ""
}

// readEvents checks an event batch's header and sets up r.batch; fill
// decodes the events.
func (r *Reader) readEvents(p []byte) (int, string) {
	thread, i := uvarint(p, 0)
	zbase, i := uvarint(p, i)
	n, i := uvarint(p, i)
	switch {
	case i < 0:
		return 0, "bad event batch header"
	case thread == 0 || thread > math.MaxUint32:
		return 0, fmt.Sprintf("bad thread %d", thread)
	case n == 0 || n > MaxBatchEvents:
		return 0, fmt.Sprintf("thread %d: bad event count %d", thread, n)
	case n > uint64(len(p)-i)/2: // every event takes at least two bytes
		return 0, fmt.Sprintf("thread %d: event count %d exceeds what the chunk holds", thread, n)
	}
	base := int64(zbase>>1) ^ -int64(zbase&1)
	// The thread must not go back in time; checked here, on the first
	// event's time, so that such a batch is rejected whole.
	if d, j := uvarint(p, i); j > 0 {
		first := int64(uint64(base) + d)
		if last, ok := r.lastTime[uint32(thread)]; ok && first >= base && first < last {
			return 0, fmt.Sprintf("thread %d goes back in time: batch starts at %d, previous event at %d",
				thread, first, last)
		}
	}
	r.batch = batchState{p: p, i: i, left: int(n), t: base, thread: uint32(thread)}
	return 0, ""
}

// batchState is the decoding state of the current event batch, which is
// decoded a slice at a time (fillSize events) so that the events buffer
// stays small and in cache however large the batch.
type batchState struct {
	p           []byte // the payload (r.buf)
	i           int    // offset of the next event in p
	k           int    // index of the next event in the batch
	left        int    // events not yet decoded
	t           int64  // time of the last decoded event (the base at first)
	thread      uint32
	start, size int64 // the chunk's file offset and size
}

const fillSize = 256

// fill decodes the next events of the current batch into r.events. At a
// problem it stops; the events before it are still returned.
func (r *Reader) fill() {
	bs := &r.batch
	if cap(r.events) < fillSize {
		r.events = make([]Event, fillSize)
	}
	evs := r.events[:min(bs.left, fillSize)]
	p, i, t := bs.p, bs.i, bs.t
	for k := range evs {
		at := i
		// uvarint by hand: the one-byte case is most deltas and heads, and
		// the call would not be inlined.
		var d, h uint64
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			d = uint64(p[i])
			i++
		} else {
			d, i = uvarintSlow(p, i)
		}
		if uint(i) < uint(len(p)) && p[i] < 0x80 {
			h = uint64(p[i])
			i++
		} else {
			h, i = uvarintSlow(p, i)
		}
		if i < 0 {
			r.badBatch(evs[:k], at, "bad encoding")
			return
		}
		nt := int64(uint64(t) + d)
		kind := Kind(h & kindMask)
		mask := h >> kindBits
		if nt < t || !kind.Valid() || mask >= 1<<numFieldBits {
			r.badBatch(evs[:k], at, eventProblem(nt < t, kind, mask))
			return
		}
		t = nt
		ev := &evs[k]
		*ev = Event{Time: t, Kind: kind, Thread: bs.thread}
		if mask != 0 {
			var msg string
			if i, msg = r.readFields(ev, p, i, mask); msg != "" {
				r.badBatch(evs[:k], at, msg)
				return
			}
		}
	}
	bs.i, bs.t = i, t
	bs.k += len(evs)
	bs.left -= len(evs)
	r.lastTime[bs.thread] = t
	r.events = evs
	r.pos = 0
}

// badBatch handles a problem at payload offset at of the current batch:
// the events decoded before it (good) are returned, then the rest of the
// batch is an error, or skipped under salvage.
func (r *Reader) badBatch(good []Event, at int, msg string) {
	bs := &r.batch
	k := bs.k + len(good)
	if len(good) > 0 {
		r.lastTime[bs.thread] = good[len(good)-1].Time
	}
	r.events = good
	r.pos = 0
	bs.left = 0
	msg = fmt.Sprintf("thread %d event %d: %s", bs.thread, k, msg)
	r.corrupt(bs.start, bs.start+chunkHeaderSize+int64(at), bs.size, msg)
}

func eventProblem(overflow bool, kind Kind, mask uint64) string {
	switch {
	case overflow:
		return "time overflows"
	case !kind.Valid():
		return fmt.Sprintf("invalid kind %d", kind)
	default:
		return fmt.Sprintf("unknown field mask %#x", mask)
	}
}

const errBadField = "bad field encoding"

// readFields decodes the optional fields of an event (see the package doc).
func (r *Reader) readFields(ev *Event, p []byte, i int, mask uint64) (int, string) {
	if mask&(fieldCause|fieldReason|fieldConflict) != 0 {
		if mask&fieldCause != 0 {
			if i >= len(p) || !AbortCause(p[i]).Valid() {
				return i, "invalid abort cause"
			}
			ev.Cause = AbortCause(p[i])
			i++
		}
		if mask&fieldReason != 0 {
			if i >= len(p) || !WaitReason(p[i]).Valid() {
				return i, "invalid wait reason"
			}
			ev.Reason = WaitReason(p[i])
			i++
		}
		if mask&fieldConflict != 0 {
			if i >= len(p) || ConflictKind(p[i]) >= numConflictKinds {
				return i, "invalid conflict kind"
			}
			ev.Conflict = ConflictKind(p[i])
			i++
		}
	}
	var v uint64
	if mask&fieldOther != 0 {
		if v, i = uvarint(p, i); i < 0 || v > math.MaxUint32 {
			return i, errBadField
		}
		ev.OtherThread = uint32(v)
	}
	if mask&fieldVar != 0 {
		if ev.Var, i = uvarint(p, i); i < 0 {
			return i, errBadField
		}
	}
	if mask&fieldSite != 0 {
		if v, i = uvarint(p, i); i < 0 {
			return i, errBadField
		}
		s, msg := r.stackRef(v)
		if msg != "" {
			return i, msg
		}
		ev.Site = s
	}
	if mask&fieldOtherSite != 0 {
		if v, i = uvarint(p, i); i < 0 {
			return i, errBadField
		}
		s, msg := r.stackRef(v)
		if msg != "" {
			return i, msg
		}
		ev.OtherSite = s
	}
	return i, ""
}

// stackRef checks a stack id from an event. Under salvage, references to
// stacks that were lost are cleared (and counted) rather than fatal.
func (r *Reader) stackRef(v uint64) (StackID, string) {
	if v < uint64(len(r.stacks)) && (v == 0 || r.stacks[v] != nil) {
		return StackID(v), ""
	}
	if r.salvage && v <= math.MaxUint32 {
		r.lostRefs++
		return 0, ""
	}
	return 0, fmt.Sprintf("undefined stack id %d", v)
}

var _ Source = (*Reader)(nil)
