package logformat

import (
	"bytes"
	"errors"
	"hash/crc32"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The tests in this file pin down the points of the package doc that a
// reader written from the doc alone would otherwise have to guess. Each
// builds its log by hand, byte by byte, without the Writer.

// specCorrupt reads data and returns the CorruptError that stops it, failing
// the test if reading ends any other way.
func specCorrupt(t *testing.T, what string, data []byte) *CorruptError {
	t.Helper()
	_, _, err := readAll(data, ReaderOptions{Name: "spec.stmlog"})
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: error %v, want a *CorruptError", what, err)
	}
	if ce.Name != "spec.stmlog" {
		t.Errorf("%s: error names file %q", what, ce.Name)
	}
	return ce
}

// longUvarint encodes v in exactly n bytes (n no less than the shortest
// form, at most 10): the groups above v's highest are written as 0 with the
// continuation bit set, as the doc says readers must accept.
func longUvarint(v uint64, n int) []byte {
	b := make([]byte, 0, n)
	for i := 0; i < n-1; i++ {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// badDataCRC is a chunk whose header is valid but whose dataCRC is not the
// payload's.
func badDataCRC(typ byte, payload []byte) []byte {
	b := appendChunkHeader(nil, typ, len(payload), crc32.Checksum(payload, castagnoli)^1)
	return append(b, payload...)
}

// Point 1: a chunk of type 0 (never written) is skipped like any unknown
// type below 128, with or without a payload.
func TestSpecChunkType0(t *testing.T) {
	data := header()
	data = append(data, rawChunk(chunkEvents, uv(1, 0, 1, 5, uint64(KindTxStart)))...)
	data = append(data, rawChunk(0, nil)...)
	data = append(data, rawChunk(0, []byte("whatever a type-0 chunk holds"))...)
	data = append(data, rawChunk(chunkEvents, uv(1, 0, 1, 9, uint64(KindTxCommit)))...)
	data = append(data, rawChunk(chunkEnd, nil)...)
	evs, r, err := readAll(data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Time: 5, Kind: KindTxStart, Thread: 1}, {Time: 9, Kind: KindTxCommit, Thread: 1}}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events %+v, want %+v", evs, want)
	}
	if st := r.Stats(); st.Chunks != 5 || !st.CleanEnd || len(st.Warnings) != 0 || st.Skipped != 0 {
		t.Errorf("stats %+v, want 5 chunks, a clean end and no warnings", st)
	}
	// A type-0 chunk is skipped only once its checksums hold.
	data = append(header(), badDataCRC(0, []byte("x"))...)
	if ce := specCorrupt(t, "type 0, bad dataCRC", data); ce.Offset != int64(headerSize) {
		t.Errorf("type 0 with a bad dataCRC: offset %d, want %d", ce.Offset, headerSize)
	}
}

// Point 2: a 0-byte file is not a log, for NewReader and IsNative alike
// (package anylog and the stmlog commands say so too, in their tests).
func TestSpecEmptyFile(t *testing.T) {
	r, err := NewReader(bytes.NewReader(nil), ReaderOptions{Name: "x.log"})
	if r != nil || !errors.Is(err, ErrNotNative) || err.Error() != "x.log: not an stmlog log (empty file)" {
		t.Errorf("NewReader(empty) = %v, %v; want an error wrapping ErrNotNative that says empty file", r, err)
	}
	if IsNative(nil) || IsNative([]byte{}) {
		t.Error("IsNative(empty) = true, want false")
	}
	// One byte of the magic is already a cut-off log.
	if !IsNative([]byte(Magic[:1])) {
		t.Error("IsNative(first magic byte) = false, want true")
	}
	evs, r, err := readAll([]byte(Magic[:1]), ReaderOptions{})
	if err != nil || len(evs) != 0 || r.Stats().TruncatedBytes != 1 {
		t.Errorf("1-byte log: %v, %d events, stats %+v; want an empty, truncated log", err, len(evs), r.Stats())
	}
}

// Point 3: the version is judged only when both of its bytes are there; the
// magic and one more byte, whatever it is, is a log cut off in its header.
func TestSpecCutVersion(t *testing.T) {
	for _, b := range []byte{0, 1, 2, 0x7f, 0xff} {
		data := append([]byte(Magic), b)
		evs, r, err := readAll(data, ReaderOptions{Name: "cut"})
		if err != nil || len(evs) != 0 {
			t.Errorf("magic + %#02x: %v, %d events; want an empty, truncated log", b, err, len(evs))
			continue
		}
		st := r.Stats()
		if st.TruncatedBytes != 9 || st.CleanEnd || len(st.Warnings) != 1 ||
			!strings.Contains(st.Warnings[0], "cut off inside its 10-byte header") {
			t.Errorf("magic + %#02x: stats %+v; want 9 truncated bytes and a cut-off warning", b, st)
		}
	}
	// Both bytes present and unknown: refused, and not as "not a log".
	_, err := NewReader(bytes.NewReader(append([]byte(Magic), 0xff, 0xff)), ReaderOptions{})
	if err == nil || errors.Is(err, ErrNotNative) || !strings.Contains(err.Error(), "version 65535 is not supported") {
		t.Errorf("version 65535: %v, want unsupported version", err)
	}
}

// Point 4: a field whose mask bit is set but whose value is 0 reads as if
// the bit were clear, and over-long varints read as their shortest form, in
// event batches and in every table chunk.
func TestSpecExplicitZeroAndLongVarints(t *testing.T) {
	all := uint64(1<<numFieldBits-1) << kindBits
	// Every field present, every value 0: the same as no fields at all.
	data := header()
	data = append(data, rawChunk(chunkEvents, append(uv(1, 0, 1, 7, uint64(KindConflict)|all), 0, 0, 0, 0, 0, 0, 0))...)
	evs, _, err := readAll(data, ReaderOptions{})
	if want := []Event{{Time: 7, Kind: KindConflict, Thread: 1}}; err != nil || !reflect.DeepEqual(evs, want) {
		t.Errorf("explicit zero fields: %v, events %+v; want %+v", err, evs, want)
	}

	// The same log written with shortest varints and with every varint
	// stretched to n bytes reads the same.
	build := func(n int) []byte {
		v := func(vs ...uint64) []byte {
			var b []byte
			for _, x := range vs {
				w := n
				if short := len(uv(x)); w < short {
					w = short
				}
				b = append(b, longUvarint(x, w)...)
			}
			return b
		}
		data := header()
		strs := v(1, 2)
		strs = append(append(strs, v(1)...), 'f')
		strs = append(append(strs, v(4)...), "a.go"...)
		data = append(data, rawChunk(chunkStrings, strs)...)
		data = append(data, rawChunk(chunkStacks, v(1, 1, 1, 1, 1, 2, 300))...)
		data = append(data, rawChunk(chunkVarNames, v(1, 40, 1))...)
		fields := uint64(fieldCause|fieldOther|fieldVar|fieldSite) << kindBits
		ev := v(70000, 2*1000, 2, 0, uint64(KindTxStart), 250, uint64(KindTxAbort)|fields)
		ev = append(ev, byte(AbortConflict))
		ev = append(ev, v(math.MaxUint32, 40, 1)...)
		data = append(data, rawChunk(chunkEvents, ev)...)
		data = append(data, rawChunk(chunkDropped, v(3))...)
		return append(data, rawChunk(chunkEnd, nil)...)
	}
	want := []Event{
		{Time: 1000, Kind: KindTxStart, Thread: 70000},
		{Time: 1250, Kind: KindTxAbort, Thread: 70000, Cause: AbortConflict, OtherThread: math.MaxUint32, Var: 40, Site: 1},
	}
	for _, n := range []int{1, 2, 5, 10} {
		data := build(n)
		evs, r, err := readAll(data, ReaderOptions{})
		if err != nil {
			t.Errorf("varints of %d bytes: %v", n, err)
			continue
		}
		st := r.Stats()
		if !reflect.DeepEqual(evs, want) || r.VarName(40) != "f" || st.Dropped != 3 || !st.CleanEnd ||
			!reflect.DeepEqual(r.Stack(1), &Stack{Label: "f", Frames: []Frame{{Func: "f", File: "a.go", Line: 300}}}) {
			t.Errorf("varints of %d bytes: events %+v, var %q, stack %+v, stats %+v", n, evs, r.VarName(40), r.Stack(1), st)
		}
	}
	// Eleven bytes is past the limit, even for a value that fits.
	data = header()
	data = append(data, rawChunk(chunkDropped, append(bytes.Repeat([]byte{0x80}, 10), 0))...)
	if ce := specCorrupt(t, "11-byte varint", data); ce.Offset != int64(headerSize+chunkHeaderSize) {
		t.Errorf("11-byte varint: offset %d, want %d", ce.Offset, headerSize+chunkHeaderSize)
	}
}

// Point 5: thread numbers run from 1 to 2^32-1.
func TestSpecThreadBound(t *testing.T) {
	data := append(header(), rawChunk(chunkEvents, uv(math.MaxUint32, 0, 1, 0, uint64(KindTxStart)))...)
	evs, _, err := readAll(data, ReaderOptions{})
	if err != nil || len(evs) != 1 || evs[0].Thread != math.MaxUint32 {
		t.Errorf("thread 2^32-1: %v, events %+v", err, evs)
	}
	for _, th := range []uint64{0, 1 << 32, math.MaxUint64} {
		data := append(header(), rawChunk(chunkEvents, uv(th, 0, 1, 0, uint64(KindTxStart)))...)
		ce := specCorrupt(t, "bad thread", data)
		if ce.Offset != int64(headerSize+chunkHeaderSize) || !strings.Contains(ce.Error(), "bad thread") {
			t.Errorf("thread %d: %v, want bad thread at byte %d", th, ce, headerSize+chunkHeaderSize)
		}
	}
}

// Point 6: for a chunk header whose length runs past the end of the file,
// the headCRC and the cap are checked before whether the payload fits.
func TestSpecCheckOrder(t *testing.T) {
	good := rawChunk(chunkEvents, uv(1, 0, 1, 0, uint64(KindTxStart)))
	start := int64(headerSize + len(good))
	past := appendChunkHeader(nil, chunkEvents, 100, 0) // 100 bytes claimed, 10 follow
	badCRC := bytes.Clone(past)
	badCRC[9] ^= 1
	overCap := appendChunkHeader(nil, chunkEvents, MaxChunkSize+1, 0)
	for _, tc := range []struct {
		name      string
		tail      []byte
		corrupt   bool
		truncated int64
		msg       string
	}{
		{"header cut", past[:8], false, 8, ""},
		{"garbage header cut", []byte{0xde, 0xad, 0xbe, 0xef}, false, 4, ""},
		{"payload past the end", append(past, make([]byte, 10)...), false, chunkHeaderSize + 10, ""},
		{"bad headCRC, past the end", append(badCRC, make([]byte, 10)...), true, 0, "header checksum"},
		{"over the cap, past the end", append(overCap, make([]byte, 10)...), true, 0, "exceeds"},
	} {
		data := append(append(header(), good...), tc.tail...)
		if tc.corrupt {
			ce := specCorrupt(t, tc.name, data)
			if ce.Offset != start || !strings.Contains(ce.Error(), tc.msg) {
				t.Errorf("%s: %v, want %q at byte %d", tc.name, ce, tc.msg, start)
			}
			continue
		}
		evs, r, err := readAll(data, ReaderOptions{})
		if st := r.Stats(); err != nil || len(evs) != 1 || st.TruncatedBytes != tc.truncated {
			t.Errorf("%s: %v, %d events, stats %+v; want truncated by %d bytes", tc.name, err, len(evs), st, tc.truncated)
		}
	}
	// With the payload all there, its checksum comes before its content.
	bad := badDataCRC(chunkEvents, uv(0, 0, 0))
	if ce := specCorrupt(t, "bad dataCRC", append(header(), bad...)); !strings.Contains(ce.Error(), "payload checksum") {
		t.Errorf("bad dataCRC over bad content: %v, want the checksum reported", ce)
	}
}

// Point 7: which byte an error names.
func TestSpecErrorOffsets(t *testing.T) {
	strs := rawChunk(chunkStrings, append(uv(1, 2, 1), 'f', 1, 'a'))
	stack := rawChunk(chunkStacks, uv(1, 1, 0, 1, 1, 2, 7))
	start := uint64(KindTxStart)
	withCRC := func(c []byte, i int) []byte { c = bytes.Clone(c); c[i] ^= 1; return c }
	const (
		atChunk   = -1 // the chunk header's first byte
		atPayload = 0  // the payload's first byte
	)
	for _, tc := range []struct {
		name   string
		before [][]byte // well-formed chunks before the bad one
		bad    []byte
		at     int // payload offset of the named byte, or atChunk
		msg    string
	}{
		{"bad headCRC", nil, withCRC(strs, 9), atChunk, "header checksum"},
		{"length over the cap", nil, append(appendChunkHeader(nil, chunkStrings, MaxChunkSize+1, 0), 0), atChunk, "exceeds"},
		{"bad dataCRC", nil, badDataCRC(chunkStrings, strs[chunkHeaderSize:]), atChunk, "payload checksum"},
		{"critical type", nil, rawChunk(200, []byte{1, 2, 3}), atChunk, "must not be skipped"},
		{"table first id", nil, rawChunk(chunkStrings, append(uv(2, 1, 1), 'x')), atPayload, "want 1"},
		{"batch thread", nil, rawChunk(chunkEvents, uv(0, 0, 1, 0, start)), atPayload, "bad thread"},
		{"batch count", nil, rawChunk(chunkEvents, uv(1, 0, 0)), atPayload, "bad event count"},
		{"dropped count", nil, rawChunk(chunkDropped, nil), atPayload, "dropped-events count"},
		{"back in time", [][]byte{rawChunk(chunkEvents, uv(1, 20, 1, 0, start))}, rawChunk(chunkEvents, uv(1, 10, 1, 0, start)), atPayload, "back in time"},
		// strings: first 1, n 2, "f" (2 bytes), then the second string's
		// length claims more than there is, at payload byte 4.
		{"string entry", nil, rawChunk(chunkStrings, append(uv(1, 2, 1), 'f', 9, 'a')), 4, "string 2: bad length"},
		// stacks: first 1, n 2, stack 1 = (0, 0) at 2, stack 2 at 4.
		{"stack entry", nil, rawChunk(chunkStacks, uv(1, 2, 0, 0, 0, MaxFrames+1)), 4, "stack 2: bad frame count"},
		// stack 1: label 0, 2 frames, frame 0 at 4 (3 bytes), frame 1 at 7.
		{"frame", [][]byte{strs}, rawChunk(chunkStacks, uv(1, 1, 0, 2, 1, 2, 3, 1, 2, 1<<31)), 7, "frame 1: bad line"},
		// var names: n 2, (5, 1) at 1, (6, 9) at 3.
		{"var-name entry", [][]byte{strs}, rawChunk(chunkVarNames, uv(2, 5, 1, 6, 9)), 3, "undefined string id 9"},
		// batch: thread, base, n 3; event 0 at 3, event 1 at 5, event 2 at 7.
		{"event", nil, rawChunk(chunkEvents, uv(1, 0, 3, 0, start, 1, start, 1, 31)), 7, "event 2: invalid kind"},
		// The bad part is event 1's site field (payload byte 8); the offset
		// is the event's first byte (5).
		{"event field", [][]byte{strs, stack}, rawChunk(chunkEvents, uv(1, 0, 2, 0, start, 1, uint64(KindConflict)|fieldSite<<kindBits, 2)), 5, "undefined stack id 2"},
	} {
		data := header()
		for _, c := range tc.before {
			data = append(data, c...)
		}
		chunk := int64(len(data))
		data = append(data, tc.bad...)
		want := chunk + chunkHeaderSize + int64(tc.at)
		if tc.at == atChunk {
			want = chunk
		}
		ce := specCorrupt(t, tc.name, data)
		if ce.Offset != want || !strings.Contains(ce.Error(), tc.msg) {
			t.Errorf("%s: %v, want %q at byte %d", tc.name, ce, tc.msg, want)
		}
	}
	// Data after the end chunk is named at its first byte.
	data := append(header(), rawChunk(chunkEnd, nil)...)
	end := int64(len(data))
	data = append(data, rawChunk(chunkEvents, uv(1, 0, 1, 0, start))...)
	if ce := specCorrupt(t, "after the end", data); ce.Offset != end || !strings.Contains(ce.Error(), "after the end marker") {
		t.Errorf("data after the end: %v, want it at byte %d", ce, end)
	}
}

// Point 7, second half: MaxStringLen binds writers only; a reader takes any
// string that fits in its chunk.
func TestSpecLongString(t *testing.T) {
	long := strings.Repeat("x", MaxStringLen+1000)
	data := header()
	data = append(data, rawChunk(chunkStrings, append(uv(1, 1, uint64(len(long))), long...))...)
	data = append(data, rawChunk(chunkVarNames, uv(1, 3, 1))...)
	data = append(data, rawChunk(chunkEnd, nil)...)
	_, r, err := readAll(data, ReaderOptions{})
	if err != nil || r.VarName(3) != long {
		t.Errorf("string of %d bytes: %v, got %d bytes back", len(long), err, len(r.VarName(3)))
	}
}
