package logformat

// This file is what the Reader does with damage: the errors it reports,
// the chunks salvage skips, and the warnings at the end of a log.

import (
	"errors"
	"fmt"
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
// end is unknown: fatal, or under salvage the bytes up to the next valid
// header (which the chunk source scanned for) are skipped.
func (r *Reader) badHeader(c *chunk) {
	if !r.salvage {
		r.err = &CorruptError{Name: r.name, Offset: c.start, Err: errors.New(c.msg)}
		return
	}
	if c.err != nil {
		r.err = c.err
	}
	r.skip(c.start, c.end)
}

// end handles the end chunk c: nothing may follow it.
func (r *Reader) end(c *chunk) {
	if c.trailing >= 0 {
		if !r.salvage {
			r.err = &CorruptError{Name: r.name, Offset: c.trailing, Err: errors.New("data after the end marker")}
			return
		}
		r.skip(c.trailing, c.end)
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
	if r.dec.lostRefs > 0 {
		r.warn("%ssalvage: cleared %d references to stacks lost in damaged chunks", p, r.dec.lostRefs)
	}
	r.err = io.EOF
}

func (r *Reader) warn(format string, args ...any) {
	r.stats.Warnings = append(r.stats.Warnings, fmt.Sprintf(format, args...))
}
