package logformat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strconv"
)

// Magic is the first 8 bytes of every native log; openers use it (see
// IsNative) to tell native logs from PyPy-STM logs.
const Magic = "\x89STMLOG\n"

// Version is the format version this package writes. Readers read it and
// every earlier version (MinVersion on).
const Version = 2

// MinVersion is the oldest format version readers accept.
const MinVersion = 1

// Limits of the format (see the package doc).
const (
	// MaxChunkSize caps a chunk's payload length; readers reject larger
	// lengths without allocating.
	MaxChunkSize = 1 << 20
	// MaxBatchEvents caps the events of one batch, which bounds the memory a
	// reader needs to decode a batch at once.
	MaxBatchEvents = 1 << 16
	// MaxStringLen is the longest string a Writer stores; longer strings are
	// cut to this many bytes. It binds writers only: a Reader accepts any
	// string that fits in its chunk.
	MaxStringLen = 1 << 16
	// MaxFrames is the deepest stack a Writer stores; deeper stacks keep
	// their MaxFrames innermost frames.
	MaxFrames = 1024
)

const (
	headerSize      = len(Magic) + 2
	chunkHeaderSize = 13

	// Writers cut table chunks and batches once they reach this size, far
	// below MaxChunkSize so that one oversized entry still fits.
	chunkTarget = 64 << 10
)

// Chunk types.
const (
	chunkStrings  = 1
	chunkStacks   = 2
	chunkVarNames = 3
	chunkEvents   = 4
	chunkDropped  = 5
	chunkEnd      = 6
	chunkInfo     = 7 // version 2: process info (optional)
	chunkUsage    = 8 // version 2: processor usage (optional)

	chunkAggregates = 128 // version 2: aggregate records (critical)
	// version 2: aggregate records with Retry waits (critical; old readers
	// must not count the waits' commits without them)
	chunkAggregatesWaits = 129

	// chunkCritical marks types an old reader must not skip.
	chunkCritical = 128
)

// Event field mask bits (see the package doc).
const (
	fieldCause = 1 << iota
	fieldReason
	fieldConflict
	fieldOther
	fieldVar
	fieldSite
	fieldOtherSite

	numFieldBits = iota
	kindBits     = 5
	kindMask     = 1<<kindBits - 1
)

// conflictFields is the mask of a conflict that has every field.
const conflictFields = fieldConflict | fieldOther | fieldVar | fieldSite | fieldOtherSite

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrNotNative is wrapped by the error NewReader returns for input that does
// not start with Magic.
var ErrNotNative = errors.New("not an stmlog log")

// IsNative reports whether prefix, the first bytes of a file, is the start of
// a native log: it begins with Magic, or it is shorter than Magic and a
// non-empty prefix of it (a log cut off inside its header, which NewReader
// reads as an empty, truncated log). An empty prefix is not native: a 0-byte
// file is not a log (see the package doc). Pass at least len(Magic) bytes when
// the file has them.
func IsNative(prefix []byte) bool {
	if len(prefix) < len(Magic) {
		return len(prefix) > 0 && string(prefix) == Magic[:len(prefix)]
	}
	return string(prefix[:len(Magic)]) == Magic
}

// CorruptError reports damaged input, like csv.ParseError: which file, at
// which byte, and what was wrong there. Every reader of this module (native
// logs here, PyPy-STM logs in package pypy) returns damage as a
// *CorruptError, so a caller finds the position with errors.As whatever the
// format; Err says what was wrong and is what Unwrap returns.
type CorruptError struct {
	Name   string // file name given to the reader, may be empty
	Offset int64  // byte offset in the file where the damage was found
	Err    error
}

func (e *CorruptError) Error() string {
	s := "byte offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
	if e.Name != "" {
		s = e.Name + ": " + s
	}
	return s
}

func (e *CorruptError) Unwrap() error { return e.Err }

// appendChunkHeader appends the 13-byte chunk header for a payload of the
// given length and CRC.
func appendChunkHeader(b []byte, typ byte, length int, dataCRC uint32) []byte {
	start := len(b)
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(length))
	b = binary.LittleEndian.AppendUint32(b, dataCRC)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:start+9], castagnoli))
}

// isHeaderPrefix reports whether b (shorter than a full header) could be the
// start of a valid file header, i.e. the file was cut inside its header.
func isHeaderPrefix(b []byte) bool {
	if len(b) <= len(Magic) {
		return bytes.HasPrefix([]byte(Magic), b)
	}
	return string(b[:len(Magic)]) == Magic && len(b) < headerSize
}

// appendUvarint is binary.AppendUvarint with the one-byte case inlined; the
// writer's per-event cost is mostly varints.
func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	if v < 1<<14 {
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	return binary.AppendUvarint(b, v)
}

// uvarint decodes a uvarint at p[i:], returning the value and the index after
// it, or i = -1 if i is already -1, p ends first, or the varint is longer than
// 10 bytes or overflows 64 bits (so a chain of calls needs one check at the
// end).
func uvarint(p []byte, i int) (uint64, int) {
	if uint(i) < uint(len(p)) {
		if b := p[i]; b < 0x80 { // written so that the call inlines
			return uint64(b), i + 1
		}
	}
	return uvarintSlow(p, i)
}

func uvarintSlow(p []byte, i int) (uint64, int) {
	if i < 0 || i >= len(p) {
		return 0, -1
	}
	// Unrolled up to four bytes: event times a few µs apart take three.
	if i+3 < len(p) {
		b0, b1 := uint64(p[i]&0x7f), uint64(p[i+1])
		if b1 < 0x80 {
			return b0 | b1<<7, i + 2
		}
		b2 := uint64(p[i+2])
		if b2 < 0x80 {
			return b0 | (b1&0x7f)<<7 | b2<<14, i + 3
		}
		if b3 := uint64(p[i+3]); b3 < 0x80 {
			return b0 | (b1&0x7f)<<7 | (b2&0x7f)<<14 | b3<<21, i + 4
		}
	} else if i+1 < len(p) && p[i+1] < 0x80 {
		return uint64(p[i]&0x7f) | uint64(p[i+1])<<7, i + 2
	}
	v, n := binary.Uvarint(p[i:])
	if n <= 0 {
		return 0, -1
	}
	return v, i + n
}
