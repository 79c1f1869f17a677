package logformat

// This file is what the Reader does with damage: the errors it reports,
// the chunks salvage skips, and the warnings at the end of a log.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

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
