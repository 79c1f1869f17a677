package logformat

// This file cuts the input into chunks: the headers, the payloads, the
// cut-off tail, and under salvage the scan past a header that cannot be
// trusted. It touches only the input (chunkSource), never the Reader's
// tables or Stats, so that the parallel reader (reader_parallel.go) runs it
// ahead in a goroutine of its own; the Reader applies each chunk in file
// order (Reader.apply).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// chunkSource reads the chunks of a log after its header.
type chunkSource struct {
	br      *bufio.Reader
	off     int64 // file offset of the next byte of br
	salvage bool
	prefix  string // the Reader's prefix(), for I/O errors
}

// chunkWhat says what a chunk item holds.
type chunkWhat uint8

const (
	itemChunk     chunkWhat = iota // a whole chunk: typ, p, crc
	itemBadHeader                  // a header that cannot be trusted: msg (under salvage, [start, end) was scanned past)
	itemTruncated                  // the input ends inside a chunk: end-start bytes of it
	itemIOErr                      // reading failed: err
)

// chunk is one item of the input, as chunkSource.next found it, with what
// the parallel reader's workers made of it.
type chunk struct {
	what       chunkWhat
	typ        byte
	start, end int64  // file offsets: where it begins, and of the next byte after all it consumed
	p          []byte // payload (itemChunk)
	crc        uint32 // payload checksum as stored
	msg        string // itemBadHeader
	err        error  // itemIOErr, or under salvage the I/O error that ended a itemBadHeader's scan

	// An end chunk with a good checksum: the bytes after it, from trailing
	// (-1: none); under salvage the source skipped them up to end.
	final    bool
	trailing int64

	// Set by decode (parallel reader) or next (end chunks).
	checked bool // crcOK is known
	crcOK   bool
	batch   decodedBatch // chunkEvents, decoded by a worker

	done chan struct{} // parallel reader: decode finished
}

// stops reports whether nothing can follow c: the end chunk, the end of
// the input, or an error that ends reading.
func (c *chunk) stops(salvage bool) bool {
	switch c.what {
	case itemChunk:
		return c.final
	case itemBadHeader:
		return !salvage || c.err != nil
	}
	return true
}

func (s *chunkSource) discard(n int) {
	m, _ := s.br.Discard(n)
	s.off += int64(m)
}

// next reads the next chunk item into c, reusing c's payload buffer.
func (s *chunkSource) next(c *chunk) {
	*c = chunk{p: c.p[:0], batch: decodedBatch{events: c.batch.events, runs: c.batch.runs[:0]}, done: c.done, trailing: -1}
	start := s.off
	c.start = start
	defer func() { c.end = s.off }()
	h, err := s.br.Peek(chunkHeaderSize)
	if len(h) < chunkHeaderSize {
		if err != io.EOF {
			c.what, c.err = itemIOErr, fmt.Errorf("%sbyte offset %d: %w", s.prefix, start, err)
			return
		}
		s.discard(len(h))
		c.what = itemTruncated
		return
	}
	typ := h[0]
	length := binary.LittleEndian.Uint32(h[1:])
	dataCRC := binary.LittleEndian.Uint32(h[5:])
	if crc32.Checksum(h[:9], castagnoli) != binary.LittleEndian.Uint32(h[9:]) {
		s.badHeader(c, fmt.Sprintf("chunk header checksum mismatch (as stored: type %d, length %d)", typ, length))
		return
	}
	if length > MaxChunkSize {
		s.badHeader(c, fmt.Sprintf("chunk length %d exceeds the %d-byte limit", length, MaxChunkSize))
		return
	}
	s.discard(chunkHeaderSize)
	if cap(c.p) < int(length) {
		c.p = make([]byte, length)
	}
	p := c.p[:length]
	c.p = p
	n, err := io.ReadFull(s.br, p)
	s.off += int64(n)
	if err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			c.what = itemTruncated
		} else {
			c.what, c.err = itemIOErr, fmt.Errorf("%sbyte offset %d: %w", s.prefix, s.off, err)
		}
		return
	}
	c.typ, c.crc = typ, dataCRC
	if typ == chunkEnd {
		c.checked, c.crcOK = true, crc32.Checksum(p, castagnoli) == dataCRC
		if c.crcOK {
			s.afterEnd(c)
		}
	}
}

// badHeader makes c a header that cannot be trusted, so the chunk's end is
// unknown: under salvage, the source scans for the next valid header.
func (s *chunkSource) badHeader(c *chunk, msg string) {
	c.what, c.msg = itemBadHeader, msg
	if !s.salvage {
		return
	}
	s.discard(1)
	for {
		win, err := s.br.Peek(s.br.Size())
		if i := findChunkHeader(win); i >= 0 {
			s.discard(i)
			return
		}
		if err == nil {
			// Keep the last bytes: they may begin a header.
			s.discard(len(win) - (chunkHeaderSize - 1))
			continue
		}
		s.discard(len(win)) // end of input: all of the rest is damage
		if err != io.EOF {
			c.err = fmt.Errorf("%sbyte offset %d: %w", s.prefix, s.off, err)
		}
		return
	}
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

// afterEnd looks past a good end chunk: nothing may follow it. Under
// salvage whatever follows is skipped (the Reader counts it).
func (s *chunkSource) afterEnd(c *chunk) {
	c.final = true
	if b, _ := s.br.Peek(1); len(b) == 0 {
		return
	}
	c.trailing = s.off
	if !s.salvage {
		return
	}
	for {
		n, err := s.br.Discard(s.br.Size())
		s.off += int64(n)
		if err != nil {
			return
		}
	}
}
