package logformat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// smallLog is a log with every chunk type and several batches per thread,
// small enough to damage at every byte and bit.
func smallLog(t testing.TB) (*genLog, []chunkSpan, []Event) {
	t.Helper()
	g := makeLog(t, genOpts{seed: 11, threads: 3, events: 60, stacks: 6, flushes: 3, profile: true})
	if g.dropped == 0 {
		t.Fatal("test log has no dropped-events chunk; pick another seed")
	}
	spans := chunksOf(t, g.data)
	types := map[byte]bool{}
	for _, s := range spans {
		types[s.typ] = true
	}
	for _, typ := range []byte{chunkStrings, chunkStacks, chunkVarNames, chunkEvents, chunkDropped, chunkEnd, chunkInfo, chunkAggregates, chunkUsage} {
		if !types[typ] {
			t.Fatalf("test log has no chunk of type %d; pick another seed", typ)
		}
	}
	evs, r, err := readAll(g.data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := r.Meta().Usage; u != g.usage {
		t.Fatalf("processor usage read %+v, written last %+v", u, g.usage)
	}
	return g, spans, evs
}

// eventsBefore returns how many events (in file order) are in the events
// chunks that end at or before off.
func eventsBefore(spans []chunkSpan, off int64) int {
	n := 0
	for _, s := range spans {
		if s.end <= off {
			n += s.events
		}
	}
	return n
}

func chunkAt(spans []chunkSpan, off int64) chunkSpan {
	for _, s := range spans {
		if s.start <= off && off < s.end {
			return s
		}
	}
	return chunkSpan{start: -1}
}

// A log cut at any byte reads as every whole chunk before the cut, then
// io.EOF, with the bytes of the partial chunk counted as truncated. (Cut at
// byte 0 it is an empty file, which is not a log: TestSpecEmptyFile.)
func TestTruncatedAtEveryByte(t *testing.T) {
	g, spans, all := smallLog(t)
	for k := 2; k < 2*len(g.data); k++ {
		// Every cut twice: salvage must not change how a cut is handled.
		n, salvage := k/2, k%2 == 1
		evs, r, err := readAll(g.data[:n], ReaderOptions{Name: "cut.stmlog", Salvage: salvage})
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		want := all[:eventsBefore(spans, int64(n))]
		if !reflect.DeepEqual(evs, want) && !(len(evs) == 0 && len(want) == 0) {
			t.Fatalf("cut at %d: got %d events, want the %d of the whole chunks", n, len(evs), len(want))
		}
		lastEnd := int64(min(n, headerSize))
		if n < headerSize {
			lastEnd = 0
		}
		var dropped int64
		for _, s := range spans {
			if s.end <= int64(n) {
				lastEnd = s.end
				if s.typ == chunkDropped {
					c, _ := uvarint(g.data[s.start+chunkHeaderSize:s.end], 0)
					dropped += int64(c)
				}
			}
		}
		st := r.Stats()
		if st.TruncatedBytes != int64(n)-lastEnd || st.Bytes != int64(n) || st.CleanEnd || st.Dropped != dropped {
			t.Fatalf("cut at %d: stats %+v, want %d truncated bytes, %d dropped, no clean end", n, st, int64(n)-lastEnd, dropped)
		}
		if len(st.Warnings) != 1 {
			t.Fatalf("cut at %d: warnings %q, want exactly one", n, st.Warnings)
		}
		if st.TruncatedBytes > 0 && !strings.Contains(st.Warnings[0], "cut.stmlog: log cut off") {
			t.Fatalf("cut at %d: warning %q does not report the cut", n, st.Warnings[0])
		}
	}
}

// Flipping any single bit is detected: a clean error naming the chunk where
// the damage is, after exactly the events of the chunks before it. Never a
// panic, never different events.
func TestBitFlipAtEveryBit(t *testing.T) {
	g, spans, all := smallLog(t)
	data := bytes.Clone(g.data)
	for bit := 0; bit < 8*len(data); bit++ {
		i := bit / 8
		data[i] ^= 1 << (bit % 8)
		evs, _, err := readAll(data, ReaderOptions{Name: "flip.stmlog"})
		data[i] ^= 1 << (bit % 8)
		switch {
		case i < len(Magic):
			if !errors.Is(err, ErrNotNative) || !strings.HasPrefix(err.Error(), "flip.stmlog: not an stmlog log (magic ") {
				t.Fatalf("bit %d (magic): error %v, want not an stmlog log", bit, err)
			}
		case i < headerSize:
			if err == nil || !strings.Contains(err.Error(), "version") {
				t.Fatalf("bit %d (version): error %v, want unsupported version", bit, err)
			}
		default:
			ce := asCorrupt(err)
			c := chunkAt(spans, int64(i))
			if ce == nil || ce.Offset != c.start || ce.Name != "flip.stmlog" {
				t.Fatalf("bit %d (byte %d, chunk at %d): error %v, want a CorruptError at the chunk", bit, i, c.start, err)
			}
			if want := all[:eventsBefore(spans, c.start)]; len(evs) != len(want) || (len(evs) > 0 && !reflect.DeepEqual(evs, want)) {
				t.Fatalf("bit %d: got %d events before the error, want %d", bit, len(evs), len(want))
			}
		}
	}
}

// Under salvage, a damaged chunk is skipped, counted, and reading goes on;
// this holds for damage in the payload and in the header (where the reader
// has to find the next chunk by scanning).
func TestSalvageSkipsDamagedChunk(t *testing.T) {
	g, spans, all := smallLog(t)
	for ci, c := range spans {
		for _, where := range []string{"header", "payload"} {
			if where == "payload" && c.end-c.start == chunkHeaderSize {
				continue // the end chunk has no payload
			}
			data := bytes.Clone(g.data)
			if where == "header" {
				data[c.start+3] ^= 0x10 // in the length
			} else {
				data[(c.start+chunkHeaderSize+c.end)/2] ^= 0x01
			}
			evs, r, err := readAll(data, ReaderOptions{Name: "s.stmlog", Salvage: true})
			if err != nil {
				t.Fatalf("chunk %d %s: %v", ci, where, err)
			}
			st := r.Stats()
			if st.Skipped < 1 || st.SkippedBytes < c.end-c.start {
				t.Fatalf("chunk %d %s: skipped %d chunks / %d bytes, want at least 1 / %d", ci, where, st.Skipped, st.SkippedBytes, c.end-c.start)
			}
			if !strings.Contains(strings.Join(st.Warnings, "\n"), "salvage: skipped") {
				t.Errorf("chunk %d %s: warnings %q do not mention the skipped chunk", ci, where, st.Warnings)
			}
			switch c.typ {
			case chunkEvents, chunkAggregates:
				// Exactly that batch (or those records) is missing;
				// everything else is intact.
				if st.Skipped != 1 || st.SkippedBytes != c.end-c.start {
					t.Errorf("chunk %d %s: skipped %d/%d, want 1/%d", ci, where, st.Skipped, st.SkippedBytes, c.end-c.start)
				}
				first := eventsBefore(spans, c.start)
				want := append(append([]Event(nil), all[:first]...), all[first+c.events:]...)
				if !reflect.DeepEqual(evs, want) {
					t.Errorf("chunk %d %s: got %d events, want %d (all but the damaged batch)", ci, where, len(evs), len(want))
				}
			case chunkEnd:
				if st.CleanEnd || len(evs) != len(all) {
					t.Errorf("chunk %d %s: CleanEnd %v, %d events; want false, %d", ci, where, st.CleanEnd, len(evs), len(all))
				}
			default:
				// Tables: no event is lost; references into a lost table are
				// cleared or resolved to "(lost)", never to a wrong value.
				if len(evs) != len(all) {
					t.Fatalf("chunk %d %s: %d events, want %d", ci, where, len(evs), len(all))
				}
				for k := range evs {
					a, b := evs[k], all[k]
					if a.Site == 0 && b.Site != 0 {
						a.Site = b.Site
					}
					if a.OtherSite == 0 && b.OtherSite != 0 {
						a.OtherSite = b.OtherSite
					}
					if a != b {
						t.Fatalf("chunk %d %s: event %d is %+v, want %+v", ci, where, k, evs[k], all[k])
					}
				}
			}
		}
	}
}

// Garbage between chunks: an error at its offset, or skipped under salvage.
func TestGarbageBetweenChunks(t *testing.T) {
	g, spans, all := smallLog(t)
	at := spans[len(spans)/2].start
	garbage := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x00}, 40)
	data := append(append(bytes.Clone(g.data[:at]), garbage...), g.data[at:]...)

	_, _, err := readAll(data, ReaderOptions{Name: "g"})
	if ce := asCorrupt(err); ce == nil || ce.Offset != at || !strings.HasPrefix(ce.Error(), "g: byte offset "+strconv.FormatInt(at, 10)+": chunk header checksum mismatch") {
		t.Errorf("error %v, want a CorruptError at byte %d", err, at)
	}
	evs, r, err := readAll(data, ReaderOptions{Name: "g", Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); !reflect.DeepEqual(evs, all) || st.Skipped != 1 || st.SkippedBytes != int64(len(garbage)) || !st.CleanEnd {
		t.Errorf("salvage: %d events (want %d), stats %+v", len(evs), len(all), st)
	}

	// Garbage at the end, after the end marker.
	data = append(bytes.Clone(g.data), garbage...)
	_, _, err = readAll(data, ReaderOptions{})
	if ce := asCorrupt(err); ce == nil || ce.Offset != int64(len(g.data)) || !strings.Contains(ce.Err.Error(), "after the end marker") {
		t.Errorf("trailing garbage: error %v, want data after the end marker at %d", err, len(g.data))
	}
	evs, r, err = readAll(data, ReaderOptions{Salvage: true})
	if st := r.Stats(); err != nil || !reflect.DeepEqual(evs, all) || st.SkippedBytes != int64(len(garbage)) {
		t.Errorf("trailing garbage under salvage: %v, %d events, stats %+v", err, len(evs), st)
	}

	// Garbage instead of the end: no valid header anywhere in it.
	data = append(bytes.Clone(g.data[:spans[len(spans)-1].start]), garbage...)
	evs, r, err = readAll(data, ReaderOptions{Salvage: true})
	if st := r.Stats(); err != nil || !reflect.DeepEqual(evs, all) || st.SkippedBytes != int64(len(garbage)) || st.CleanEnd {
		t.Errorf("garbage tail under salvage: %v, %d events, stats %+v", err, len(evs), st)
	}
}

// rawChunk builds a chunk with a valid header and CRCs around any payload,
// for feeding the reader well-framed nonsense.
func rawChunk(typ byte, payload []byte) []byte {
	b := appendChunkHeader(nil, typ, len(payload), crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

func uv(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func header() []byte {
	return binary.LittleEndian.AppendUint16([]byte(Magic), Version)
}

// Chunks whose checksums are fine but whose content is not: each is a
// CorruptError at the offending byte, or skipped under salvage.
func TestSemanticErrors(t *testing.T) {
	strs := rawChunk(chunkStrings, append(uv(1, 2, 1), 'f', 1, 'a')) // ids 1="f", 2="a"
	stack := rawChunk(chunkStacks, uv(1, 1, 0, 1, 1, 2, 7))          // id 1: f at a:7
	good := rawChunk(chunkEvents, uv(1, 0, 1, 0, uint64(KindTxStart)))
	ev := func(thread, zbase, n uint64, rest ...uint64) []byte {
		return rawChunk(chunkEvents, append(uv(thread, zbase, n), uv(rest...)...))
	}
	site := uint64(KindConflict) | fieldSite<<kindBits
	full := uint64(KindConflict) | conflictFields<<kindBits // decodeFields reads these inline
	noVar := full &^ (fieldVar << kindBits)
	tests := []struct {
		name   string
		chunks [][]byte
		at     int // payload offset of the problem in the last chunk
		msg    string
	}{
		{"thread 0", [][]byte{ev(0, 0, 1, 0, 1)}, 0, "bad thread 0"},
		{"no events", [][]byte{ev(1, 0, 0)}, 0, "bad event count 0"},
		{"too many events", [][]byte{ev(1, 0, MaxBatchEvents+1)}, 0, "bad event count"},
		{"invalid kind", [][]byte{ev(1, 0, 2, 0, 1, 5, uint64(numKinds))}, 5, "invalid kind"},
		{"kind 0", [][]byte{ev(1, 0, 1, 0, 0)}, 3, "invalid kind 0"},
		{"unknown field", [][]byte{ev(1, 0, 1, 0, 1|1<<(kindBits+numFieldBits))}, 3, "unknown field mask"},
		{"undefined stack", [][]byte{strs, stack, ev(1, 0, 1, 0, site, 2)}, 3, "undefined stack id 2"},
		{"stack before strings", [][]byte{stack}, 4, "undefined string id"},
		{"bad cause", [][]byte{ev(1, 0, 1, 0, uint64(KindTxAbort)|fieldCause<<kindBits, uint64(numAbortCauses))}, 3, "invalid abort cause"},
		{"bad reason", [][]byte{ev(1, 0, 1, 0, uint64(KindWaitStart)|fieldReason<<kindBits, uint64(numWaitReasons))}, 3, "invalid wait reason"},
		{"bad conflict", [][]byte{ev(1, 0, 1, 0, uint64(KindConflict)|fieldConflict<<kindBits, uint64(numConflictKinds))}, 3, "invalid conflict kind"},
		{"bad conflict, all fields", [][]byte{strs, stack, ev(1, 0, 2, 0, full, uint64(numConflictKinds), 2, 1, 1, 1, 0, 1)}, 3, "invalid conflict kind"},
		{"bad conflict, no var", [][]byte{strs, stack, ev(1, 0, 2, 0, noVar, uint64(numConflictKinds), 2, 1, 1, 0, 1)}, 3, "invalid conflict kind"},
		{"undefined site, all fields", [][]byte{strs, stack, ev(1, 0, 2, 0, full, 0, 2, 1, 2, 1, 0, 1)}, 3, "undefined stack id 2"},
		{"undefined other site, all fields", [][]byte{strs, stack, ev(1, 0, 2, 0, full, 0, 2, 300, 1, 2, 0, 1)}, 3, "undefined stack id 2"},
		{"undefined other site, no var", [][]byte{strs, stack, ev(1, 0, 2, 0, noVar, 0, 2, 1, 2, 0, 1)}, 3, "undefined stack id 2"},
		{"other > 32 bits", [][]byte{ev(1, 0, 1, 0, uint64(KindConflict)|fieldOther<<kindBits, 1<<32)}, 3, "bad field"},
		{"batch runs out", [][]byte{rawChunk(chunkEvents, append(uv(1, 0, 2, 0, 1), 0x80, 0x80))}, 5, "bad encoding"},
		{"count beyond payload", [][]byte{ev(1, 0, 3, 0, 1)}, 0, "exceeds what the chunk holds"},
		{"time overflow", [][]byte{ev(1, 2*(1<<62), 2, 0, 1, 1<<62, 1)}, 14, "time overflows"},
		{"back in time", [][]byte{ev(1, 20, 1, 0, 1), ev(1, 10, 1, 0, 1)}, 0, "goes back in time"},
		{"strings gap", [][]byte{rawChunk(chunkStrings, append(uv(3, 1, 1), 'x'))}, 0, "starts at id 3, want 1"},
		{"string too long", [][]byte{rawChunk(chunkStrings, append(uv(1, 1, 5), 'x'))}, 2, "bad length"},
		{"stacks gap", [][]byte{rawChunk(chunkStacks, uv(2, 1, 0, 0))}, 0, "starts at id 2, want 1"},
		{"too many frames", [][]byte{rawChunk(chunkStacks, uv(1, 1, 0, MaxFrames+1))}, 2, "bad frame count"},
		{"bad line", [][]byte{strs, rawChunk(chunkStacks, uv(1, 1, 0, 1, 1, 2, 1<<31))}, 4, "bad line"},
		{"var name undefined", [][]byte{rawChunk(chunkVarNames, uv(1, 5, 1))}, 1, "undefined string id 1"},
		{"critical chunk", [][]byte{good, rawChunk(200, nil)}, -chunkHeaderSize, "must not be skipped"},
		{"bad dropped", [][]byte{rawChunk(chunkDropped, nil)}, 0, "bad dropped-events count"},
		{"bad length", [][]byte{append(appendChunkHeader(nil, chunkEvents, MaxChunkSize+1, 0), make([]byte, 20)...)}, -chunkHeaderSize, "exceeds"},
	}
	for _, tt := range tests {
		data := header()
		for _, c := range tt.chunks {
			data = append(data, c...)
		}
		last := int64(len(data) - len(tt.chunks[len(tt.chunks)-1]))
		// and through raw batches (their own decoding loop) the same
		if d := sameRaw(data, ReaderOptions{Name: "sem"}, 1); d != "" {
			t.Errorf("%s: raw: %s", tt.name, d)
		}
		// and by a parallel reader's walk (its workers defer stack checks)
		if d := sameRaw(data, ReaderOptions{Name: "sem", Jobs: 3}, 1); d != "" {
			t.Errorf("%s: raw, 3 jobs: %s", tt.name, d)
		}
		_, _, err := readAll(data, ReaderOptions{Name: "sem"})
		ce := asCorrupt(err)
		if ce == nil || ce.Offset != last+chunkHeaderSize+int64(tt.at) || !strings.Contains(ce.Err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want %q at byte %d", tt.name, err, tt.msg, last+chunkHeaderSize+int64(tt.at))
			continue
		}
		// Under salvage the bad chunk is skipped and counted, except that
		// dangling references (to chunks salvage may have skipped) are
		// cleared or resolved to "(lost)" so the rest of the chunk is kept.
		evs, r, err := readAll(data, ReaderOptions{Name: "sem", Salvage: true})
		st := r.Stats()
		switch tt.name {
		case "undefined stack":
			if err != nil || st.Skipped != 0 || len(evs) != 1 || evs[0].Site != 0 ||
				!strings.Contains(strings.Join(st.Warnings, "\n"), "cleared 1 references") {
				t.Errorf("%s: salvage: %v, events %+v, stats %+v; want the reference cleared", tt.name, err, evs, st)
			}
		case "undefined site, all fields", "undefined other site, all fields", "undefined other site, no var":
			if err != nil || st.Skipped != 0 || len(evs) != 2 || evs[0].Site+evs[0].OtherSite != 1 ||
				!strings.Contains(strings.Join(st.Warnings, "\n"), "cleared 1 references") {
				t.Errorf("%s: salvage: %v, events %+v, stats %+v; want the reference cleared", tt.name, err, evs, st)
			}
		case "stack before strings":
			if s := r.Stack(1); err != nil || s == nil || s.Frames[0] != (Frame{Func: lostString, File: lostString, Line: 7}) {
				t.Errorf("%s: salvage: %v, stack %+v; want (lost) names", tt.name, err, s)
			}
		case "var name undefined":
			if err != nil || r.VarName(5) != lostString {
				t.Errorf("%s: salvage: %v, name %q; want (lost)", tt.name, err, r.VarName(5))
			}
		default:
			if err != nil || st.Skipped != 1 {
				t.Errorf("%s: salvage: %v, stats %+v; want the chunk skipped", tt.name, err, st)
			}
		}
	}
}

// Unknown optional chunk types and bytes appended to known payloads (what a
// future version may add) are ignored.
func TestForwardCompatibility(t *testing.T) {
	data := header()
	data = append(data, rawChunk(chunkStrings, append(uv(1, 1, 1), "f"...))...)
	data = append(data, rawChunk(100, []byte("future metadata"))...)
	data = append(data, rawChunk(chunkStacks, uv(1, 1, 0, 1, 1, 1, 3, 99, 99))...)
	data = append(data, rawChunk(chunkVarNames, uv(1, 7, 1, 42))...)
	site := uint64(KindBecomeInevitable) | fieldSite<<kindBits
	data = append(data, rawChunk(chunkEvents, uv(2, 10, 2, 0, uint64(KindTxStart), 5, site, 1, 0xff, 0xff))...)
	data = append(data, rawChunk(chunkDropped, uv(3, 0))...)
	data = append(data, rawChunk(chunkEnd, []byte{1, 2, 3})...)
	evs, r, err := readAll(data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Time: 5, Kind: KindTxStart, Thread: 2}, {Time: 10, Kind: KindBecomeInevitable, Thread: 2, Site: 1}}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events %+v, want %+v", evs, want)
	}
	st := r.Stats()
	if s := r.Stack(1); s == nil || !reflect.DeepEqual(*s, Stack{Frames: []Frame{{Func: "f", File: "f", Line: 3}}}) {
		t.Errorf("stack 1 = %+v", s)
	}
	if r.VarName(7) != "f" || st.Dropped != 3 || !st.CleanEnd || st.Chunks != 7 || len(st.Warnings) != 0 {
		t.Errorf("var 7 %q, stats %+v", r.VarName(7), st)
	}
}

func TestNotNative(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string // "" means no error from NewReader
	}{
		{"text", []byte("hello world, this is text"), `x.log: not an stmlog log (magic "hello wo")`},
		{"pypy", []byte("STMGC-C8-PROF01\n"), `x.log: not an stmlog log (magic "STMGC-C8")`},
		{"short", []byte("hi"), `x.log: not an stmlog log (magic "hi")`},
		{"version 3", append([]byte(Magic), 3, 0), "x.log: stmlog log format version 3 is not supported (this reader reads versions 1 to 2)"},
		{"version 0", append([]byte(Magic), 0, 0), "x.log: stmlog log format version 0 is not supported (this reader reads versions 1 to 2)"},
		{"empty", nil, "x.log: not an stmlog log (empty file)"},
		{"cut magic", []byte(Magic[:5]), ""},
		{"cut version", append([]byte(Magic), 1), ""},
	}
	for _, tt := range tests {
		r, err := NewReader(bytes.NewReader(tt.data), ReaderOptions{Name: "x.log"})
		if tt.want != "" {
			if err == nil || err.Error() != tt.want {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if _, err := r.Next(); err == nil || err.Error() != "EOF" {
			t.Errorf("%s: Next = %v, want io.EOF", tt.name, err)
		}
		if st := r.Stats(); st.TruncatedBytes != int64(len(tt.data)) || st.CleanEnd || len(st.Warnings) != 1 {
			t.Errorf("%s: stats %+v", tt.name, st)
		}
	}
	for _, tt := range []struct {
		prefix string
		want   bool
	}{
		{string(header()), true},
		{Magic, true},
		{Magic[:3], true}, // a log cut inside its magic
		{"", false},
		{"STMGC-C8-PROF01\n", false},
		{"\x89STMLOG\r", false},
		{"STMLOG", false},
	} {
		if got := IsNative([]byte(tt.prefix)); got != tt.want {
			t.Errorf("IsNative(%q) = %v, want %v", tt.prefix, got, tt.want)
		}
	}
}

// An I/O error from the underlying reader is returned (wrapped with the file
// and offset), not mistaken for the end of the log.
func TestReaderIOError(t *testing.T) {
	g, _, _ := smallLog(t)
	boom := errors.New("boom")
	r, err := NewReader(&errAfter{data: g.data[:100], err: boom}, ReaderOptions{Name: "io"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
	}
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "io: byte offset ") {
		t.Errorf("error %v, want boom with file and offset", err)
	}
}

type errAfter struct {
	data []byte
	err  error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// A length field never makes the reader allocate more than the chunk cap:
// lengths above it are refused before allocating, and a claimed length is
// allocated once at most.
func TestReaderAllocationBound(t *testing.T) {
	tests := []struct {
		name     string
		length   uint32
		maxAlloc uint64
		corrupt  bool
	}{
		{"length 4 GiB", math.MaxUint32, 256 << 10, true},
		{"just over the cap", MaxChunkSize + 1, 256 << 10, true},
		{"at the cap, cut off", MaxChunkSize, MaxChunkSize + 256<<10, false},
	}
	for _, tt := range tests {
		for _, jobs := range []int{1, 3} {
			data := append(header(), appendChunkHeader(nil, chunkEvents, int(tt.length), 0)...)
			data = append(data, make([]byte, 100)...)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, r, err := readAll(data, ReaderOptions{Jobs: jobs})
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > tt.maxAlloc {
				t.Errorf("%s: allocated %d bytes, want at most %d", tt.name, got, tt.maxAlloc)
			}
			if tt.corrupt {
				if ce := asCorrupt(err); ce == nil || !strings.Contains(ce.Err.Error(), "exceeds") {
					t.Errorf("%s: error %v, want a length error", tt.name, err)
				}
			} else if err != nil || r.Stats().TruncatedBytes != chunkHeaderSize+100 {
				t.Errorf("%s: %v, stats %+v; want a truncated tail", tt.name, err, r.Stats())
			}
		}
	}
}

// Salvage names the byte ranges it skipped (first byte to last byte of
// each damaged chunk), so the user can look at them with stmlog dump.
func TestSalvageNamesSkippedRanges(t *testing.T) {
	g, spans, _ := smallLog(t)
	var hit []chunkSpan
	for _, s := range spans {
		if s.typ == chunkEvents && len(hit) < 2 && (len(hit) == 0 || s.start > hit[0].end) {
			hit = append(hit, s)
		}
	}
	if len(hit) < 2 {
		t.Fatalf("the small log has %d separate events chunks, want 2", len(hit))
	}
	data := append([]byte(nil), g.data...)
	for _, s := range hit {
		data[s.end-1] ^= 0xff // inside the payload: its checksum fails
	}
	_, r, err := readAll(data, ReaderOptions{Name: "x.stmlog", Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("x.stmlog: salvage: skipped 2 damaged chunks (%d bytes: bytes %d-%d, %d-%d)",
		hit[0].end-hit[0].start+hit[1].end-hit[1].start, hit[0].start, hit[0].end-1, hit[1].start, hit[1].end-1)
	if w := r.Stats().Warnings; !slices.Contains(w, want) {
		t.Errorf("warnings %q, want %q", w, want)
	}
}
