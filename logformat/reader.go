package logformat

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"
)

// ReaderOptions configures a Reader.
type ReaderOptions struct {
	// Name is the file name used in errors and warnings.
	Name string
	// Salvage makes the reader skip damaged chunks, counting them in
	// Stats.Skipped and Stats.SkippedBytes, instead of stopping at the first.
	Salvage bool
	// Jobs is how many goroutines decode event batches: above 1, chunks
	// are read ahead and decoded in parallel (see reader_parallel.go),
	// and the Reader hands out their events in file order, exactly as it
	// does with 0 or 1, which decode in the calling goroutine.
	Jobs int
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
	cs      chunkSource
	off     int64 // file offset after the last chunk applied
	evOff   int64 // file offset of the chunk that holds events
	cur     chunk // the chunk being read (without a pipeline)

	jobs int       // ReaderOptions.Jobs
	pipe *pipeline // parallel decoding, from the first chunk on if jobs > 1

	batch   batchState   // the event batch being decoded
	dec     eventDecoder // decodes it
	fillBuf []Event      // fill decodes into it
	events  []Event      // decoded events of the batch, being returned
	pos     int          // next event of events to return
	rawEvs  []Event      // RawBatch.Fields decodes into it
	runEvs  []Event      // RawBatch.RunEvents decodes into it
	wantRaw bool         // Raw was called: a pipeline's workers walk batches (walk)

	strs     []string          // string id -> string; strs[0] == ""
	stacks   []*Stack          // stack id -> stack; stacks[0] == nil; nil: lost under salvage
	vars     map[uint64]string // var id -> name
	lastTime map[uint32]int64  // thread -> time of its last event
	pairs    []uint64          // scratch for var names

	meta      Meta        // file version and process info
	aggs      []Aggregate // the aggregates chunk being returned, as events
	aggEvents []Event     // their events
	stackGaps bool        // salvage filled stack ids in with nil
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
		jobs:     opt.Jobs,
		strs:     []string{""},
		stacks:   []*Stack{nil},
		vars:     make(map[uint64]string),
		lastTime: make(map[uint32]int64),
		stats:    Stats{Format: "stmlog"},
	}
	rd.dec.salvage = opt.Salvage
	rd.cs = chunkSource{br: bufio.NewReaderSize(r, chunkTarget), salvage: opt.Salvage, prefix: rd.prefix()}
	hdr, err := rd.cs.br.Peek(headerSize)
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
		rd.cs.discard(len(hdr))
		rd.off = rd.cs.off
		rd.truncated(rd.off)
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
	rd.cs.discard(headerSize)
	rd.off = rd.cs.off
	// The process-info chunk comes first: read it now, so that Meta is
	// known before the first event.
	if h, _ := rd.cs.br.Peek(1); len(h) == 1 && h[0] == chunkInfo && v >= 2 {
		rd.cs.next(&rd.cur)
		rd.apply(&rd.cur)
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
	if r.pos >= len(r.events) { // small enough to inline
		if err := r.refill(); err != nil {
			return Event{}, err
		}
	}
	ev := r.events[r.pos]
	r.pos++
	return ev, nil
}

// refill decodes the next events once those decoded are used up, or
// returns the error that ends reading.
func (r *Reader) refill() error {
	for r.pos >= len(r.events) {
		switch {
		case r.batch.left > 0:
			r.fill()
		case r.err != nil:
			return r.err
		default:
			r.readChunk()
		}
	}
	return nil
}

// setEvents makes evs the decoded events to hand out; Stats.Events counts
// those handed out of the ones before.
func (r *Reader) setEvents(evs []Event) {
	r.stats.Events += int64(r.pos)
	r.events, r.pos = evs, 0
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
// of a log, so Meta is known from NewReader on, except Usage: the last
// processor-usage record read so far (after the last event, the log's).
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
	s.Events += int64(r.pos)
	s.Bytes = r.off
	s.Warnings = append([]string(nil), s.Warnings...)
	return s
}

// readChunk reads the next chunk and applies it to the tables, or sets up
// the decoding of its events, or sets r.err.
func (r *Reader) readChunk() {
	if r.jobs > 1 {
		r.readParallel()
		return
	}
	r.cs.next(&r.cur)
	r.apply(&r.cur)
}

// apply takes in the chunk item c, in file order.
func (r *Reader) apply(c *chunk) {
	r.off = c.end
	start := c.start
	switch c.what {
	case itemTruncated:
		r.truncated(c.end - start)
		return
	case itemIOErr:
		r.err = c.err
		return
	case itemBadHeader:
		r.badHeader(c)
		return
	}
	typ, p := c.typ, c.p
	length := len(p)
	size := chunkHeaderSize + int64(length)
	if !c.checked {
		c.checked, c.crcOK = true, crc32.Checksum(p, castagnoli) == c.crc
	}
	if !c.crcOK {
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
		if c.batch.done && r.decodedUsable(&c.batch) {
			at, msg = r.useBatch(c, size)
			break
		}
		if at, msg = r.readEvents(p); msg == "" {
			r.evOff = start
			r.batch.start, r.batch.size = start, size
			if c.batch.walked && r.decodedUsable(&c.batch) {
				r.batch.walk = &c.batch
			}
		}
	case chunkDropped:
		var n uint64
		if n, at = uvarint(p, 0); at < 0 {
			at, msg = 0, "bad dropped-events count"
		} else {
			r.stats.Dropped += int64(min(n, math.MaxInt64-uint64(r.stats.Dropped)))
		}
	case chunkInfo:
		if r.meta.Version >= 2 {
			at, msg = readInfo(p, &r.meta)
		}
	case chunkUsage:
		if r.meta.Version >= 2 {
			at, msg = readUsage(p, &r.meta.Usage)
		}
	case chunkAggregates, chunkAggregatesWaits:
		if r.meta.Version < 2 {
			msg = fmt.Sprintf("chunk type %d is not part of format version %d", typ, r.meta.Version)
			break
		}
		at, msg = r.readAggregates(p, typ == chunkAggregatesWaits)
		if msg == "" {
			r.evOff = start
		}
	case chunkEnd:
		r.stats.Chunks++
		r.stats.CleanEnd = true
		r.end(c)
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

var _ Source = (*Reader)(nil)
