package pypy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

// rec8 / rec7 describe one record for the test encoders.
type rec8 struct {
	ns     int64
	thread uint32
	event  uint8
	marker string
}

type rec7 struct {
	ns            int64
	thread, other uint32
	event         uint8
	m1, m2        string
}

func encode8(recs ...rec8) []byte {
	b := []byte(MagicC8)
	for _, r := range recs {
		b = binary.LittleEndian.AppendUint32(b, uint32(r.ns/1e9))
		b = binary.LittleEndian.AppendUint32(b, uint32(r.ns%1e9))
		b = binary.LittleEndian.AppendUint32(b, r.thread)
		b = append(b, r.event, byte(len(r.marker)))
		b = append(b, r.marker...)
	}
	return b
}

func encode7(recs ...rec7) []byte {
	b := []byte(MagicC7)
	for _, r := range recs {
		b = binary.LittleEndian.AppendUint32(b, uint32(r.ns/1e9))
		b = binary.LittleEndian.AppendUint32(b, uint32(r.ns%1e9))
		b = binary.LittleEndian.AppendUint32(b, r.thread)
		b = binary.LittleEndian.AppendUint32(b, r.other)
		b = append(b, r.event, byte(len(r.m1)), byte(len(r.m2)))
		b = append(b, r.m1...)
		b = append(b, r.m2...)
	}
	return b
}

// readAll returns every event, rendered with its stacks' labels so tests
// compare meaning rather than StackIDs.
func readAll(t testing.TB, data []byte, opt Options) ([]string, logformat.Stats, error) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		return nil, logformat.Stats{}, err
	}
	var out []string
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out, rd.Stats(), nil
		}
		if err != nil {
			return out, rd.Stats(), err
		}
		out = append(out, render(rd, ev))
	}
}

func render(rd *Reader, ev logformat.Event) string {
	var b strings.Builder
	b.WriteString(strings.Join([]string{itoa(ev.Time), itoa(int64(ev.Thread)), ev.Kind.String()}, " "))
	if ev.Conflict != 0 {
		b.WriteString(" " + ev.Conflict.String())
	}
	if ev.Cause != 0 {
		b.WriteString(" cause=" + ev.Cause.String())
	}
	if ev.Reason != 0 {
		b.WriteString(" reason=" + ev.Reason.String())
	}
	if ev.OtherThread != 0 {
		b.WriteString(" other=" + itoa(int64(ev.OtherThread)))
	}
	if s := rd.Stack(ev.Site); s != nil {
		b.WriteString(" site=" + s.Label)
	}
	if s := rd.Stack(ev.OtherSite); s != nil {
		b.WriteString(" othersite=" + s.Label)
	}
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

const (
	mA = `File "a.py", line 3, in f (#7)`
	mB = `File "b.py", line 9, in g`
)

func TestReaderC8Mapping(t *testing.T) {
	tests := []struct {
		name string
		recs []rec8
		want []string
	}{
		{"commit", []rec8{{10, 1, EvStart, ""}, {20, 1, EvCommit, ""}},
			[]string{"10 1 start", "20 1 commit"}},
		{"write-read abort", []rec8{{10, 1, EvStart, ""}, {15, 1, EvWriteRead, mA}, {16, 1, EvWriteRead, mB}, {20, 1, EvAbort, ""}},
			[]string{"10 1 start", "15 1 conflict write-read othersite=" + mA, "20 1 abort cause=conflict"}},
		{"inevitable wait", []rec8{{10, 2, EvStart, ""}, {11, 2, EvBecomeInevitable, mB}, {12, 2, EvWaitOtherInev, ""},
			{30, 2, EvWaitDone, ""}, {40, 2, EvCommit, ""}},
			[]string{"10 2 start", "11 2 become-inevitable site=" + mB, "12 2 conflict inevitable site=" + mB,
				"12 2 wait reason=inevitable", "30 2 wait-done reason=inevitable", "40 2 commit"}},
		{"wait without become-inevitable", []rec8{{10, 2, EvStart, ""}, {12, 2, EvWaitOtherInev, ""}, {30, 2, EvWaitDone, ""}},
			[]string{"10 2 start", "12 2 wait reason=inevitable", "30 2 wait-done reason=inevitable"}},
		{"failed to become inevitable", []rec8{{10, 3, EvStart, ""}, {11, 3, EvBecomeInevitable, mA}, {12, 3, EvAbort, ""}},
			[]string{"10 3 start", "11 3 become-inevitable site=" + mA, "12 3 abort cause=inevitable"}},
		{"detach reattach", []rec8{{10, 1, EvStart, ""}, {11, 1, EvDetach, ""}, {12, 1, EvReattach, ""},
			{13, 1, EvWaitOtherInev, ""}, {14, 1, EvWaitDone, ""}, {15, 1, EvCommit, ""}},
			[]string{"10 1 start", "11 1 detach", "12 1 reattach", "13 1 conflict inevitable",
				"13 1 wait reason=inevitable", "14 1 wait-done reason=inevitable", "15 1 commit"}},
		{"waits and gc", []rec8{{1, 1, EvWaitFreeSegment, ""}, {2, 1, EvWaitDone, ""}, {3, 1, EvWaitSyncing, ""},
			{4, 1, EvWaitSyncPause, ""}, {5, 1, EvWaitDone, ""}, {6, 1, EvGCMinorStart, ""}, {7, 1, EvGCMinorDone, ""},
			{8, 1, EvGCMajorStart, ""}, {9, 1, EvGCMajorDone, ""}},
			[]string{"1 1 wait reason=free-segment", "2 1 wait-done reason=free-segment", "3 1 wait reason=syncing",
				"4 1 wait reason=sync-pause", "5 1 wait-done reason=sync-pause", "6 1 gc-minor-start",
				"7 1 gc-minor-done", "8 1 gc-major-start", "9 1 gc-major-done"}},
		{"big thread number and time", []rec8{{4_000_000_000*1e9 + 5, 100000, EvStart, ""}},
			[]string{"4000000000000000005 100000 start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st, err := readAll(t, encode8(tt.recs...), Options{Name: "x.log"})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if st.Format != "pypy-c8" || st.Chunks != int64(len(tt.recs)) || st.Events != int64(len(tt.want)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestReaderC8Eras(t *testing.T) {
	// The same story written in each era's numbering must read the same.
	type step struct {
		ev  uint8 // canonical
		mkr string
	}
	story := []step{{EvStart, ""}, {EvWaitOtherInev, ""}, {EvWaitDone, ""}, {EvWriteRead, mA}, {EvAbort, ""},
		{EvGCMinorStart, ""}, {EvGCMinorDone, ""}}
	var want []string
	for _, era := range []Era{EraA, EraB, EraC, EraD, EraE} {
		inv := map[uint8]uint8{}
		for i, c := range era.Table() {
			inv[c] = uint8(i)
		}
		var recs []rec8
		for i, s := range story {
			recs = append(recs, rec8{int64(i + 1), 1, inv[s.ev], s.mkr})
		}
		got, _, err := readAll(t, encode8(recs...), Options{Era: byte(era)})
		if err != nil {
			t.Fatalf("era %c: %v", era, err)
		}
		if want == nil {
			want = got
			if len(want) != len(story) {
				t.Fatalf("era a: %d events, want %d: %q", len(want), len(story), want)
			}
		} else if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("era %c reads\n%s\nwant\n%s", era, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestReaderC7Mapping(t *testing.T) {
	tests := []struct {
		name string
		recs []rec7
		want []string
	}{
		{"write-write self abort", []rec7{{10, 1, 0, C7Start, "", ""}, {11, 2, 0, C7Start, "", ""},
			{12, 1, 2, C7WriteWrite, mA, mB}, {13, 1, 0, C7Abort, "", ""}},
			[]string{"10 1 start", "11 2 start", "12 1 conflict write-write other=2 site=" + mA + " othersite=" + mB,
				"13 1 abort cause=conflict"}},
		{"write-read aborts the reader", []rec7{{10, 1, 0, C7Start, "", ""}, {11, 2, 0, C7Start, "", ""},
			{12, 1, 2, C7WriteRead, mA, ""}, {13, 1, 0, C7AbortingOther, "", ""}, {14, 1, 0, C7Commit, "", ""},
			{15, 2, 0, C7Abort, "", ""}},
			[]string{"10 1 start", "11 2 start", "12 2 conflict write-read other=1 othersite=" + mA,
				"14 1 commit", "15 2 abort cause=conflict"}},
		{"inevitable wait", []rec7{{10, 1, 0, C7Start, "", ""}, {12, 1, 2, C7Inevitable, mA, mB},
			{13, 1, 0, C7WaitContention, "", ""}, {20, 1, 0, C7WaitDone, "", ""}, {21, 1, 0, C7Commit, "", ""}},
			[]string{"10 1 start", "12 1 conflict inevitable other=2 site=" + mA + " othersite=" + mB,
				"13 1 wait reason=contention", "20 1 wait-done reason=contention", "21 1 commit"}},
		{"held contention flushed at the end", []rec7{{12, 1, 2, C7WriteWrite, mA, mB}},
			[]string{"12 1 conflict write-write other=2 site=" + mA + " othersite=" + mB}},
		{"gc and waits", []rec7{{1, 1, 0, C7WaitFreeSegment, "", ""}, {2, 1, 0, C7WaitDone, "", ""},
			{3, 1, 0, C7WaitSyncPause, "", ""}, {4, 1, 0, C7GCMinorStart, "", ""}, {5, 1, 0, C7GCMinorDone, "", ""},
			{6, 1, 0, C7GCMajorStart, "", ""}, {7, 1, 0, C7GCMajorDone, "", ""}},
			[]string{"1 1 wait reason=free-segment", "2 1 wait-done reason=free-segment", "3 1 wait reason=sync-pause",
				"4 1 gc-minor-start", "5 1 gc-minor-done", "6 1 gc-major-start", "7 1 gc-major-done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st, err := readAll(t, encode7(tt.recs...), Options{Name: "x.log"})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if st.Format != "pypy-c7" || st.Chunks != int64(len(tt.recs)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestParseMarker(t *testing.T) {
	tests := []struct {
		in   string
		want logformat.Frame
	}{
		{`File "/srv/shop/cart.py", line 88, in add_item (#41)`, logformat.Frame{Func: "add_item", File: "/srv/shop/cart.py", Line: 88}},
		{`File "x.py", line 0, in <module>`, logformat.Frame{Func: "<module>", File: "x.py", Line: 0}},
		{`File "<ery/long/h.py", line 301, in handle_na> (#88)`, logformat.Frame{Func: "handle_na>", File: "<ery/long/h.py", Line: 301}},
		{`File "a, line 2.py", line 5, in f (#1)`, logformat.Frame{Func: "f", File: "a, line 2.py", Line: 5}},
		{"\x01\x00\x00\x00\x00\x00\x00\x00", logformat.Frame{Func: "\x01\x00\x00\x00\x00\x00\x00\x00"}},
		{`File "x.py", line 99999999999999999999, in f`, logformat.Frame{Func: `File "x.py", line 99999999999999999999, in f`}},
	}
	for _, tt := range tests {
		s := ParseMarker(tt.in)
		if s.Label != tt.in || len(s.Frames) != 1 || s.Frames[0] != tt.want {
			t.Errorf("ParseMarker(%q) = %+v, want frame %+v", tt.in, s, tt.want)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	good := encode8(rec8{1, 1, EvStart, ""})
	tests := []struct {
		name string
		data []byte
		opt  Options
		want string // substring of the error
		is   error
	}{
		{"wrong magic", []byte("STMGC-C9-PROF01\nxxxxxxxxxxxxxxxxx"), Options{Name: "f.log"}, "f.log: not a PyPy-STM log", ErrNotPyPy},
		{"short file", []byte("STMGX"), Options{Name: "f.log"}, "f.log: not a PyPy-STM log", ErrNotPyPy},
		{"cut magic", []byte("STMGC-C7-"), Options{Name: "f.log"}, "f.log: PyPy-STM log cut off inside its 16-byte header (9 bytes), no record", ErrCutHeader},
		{"header only", []byte(MagicC8), Options{Name: "f.log"}, "f.log: PyPy-STM log holds no record", ErrEmpty},
		{"header and a partial record", append([]byte(MagicC7), 1, 2, 3), Options{Name: "f.log"}, "3 bytes after the header", ErrEmpty},
		{"event out of range", encode8(rec8{1, 1, EvStart, ""}, rec8{2, 1, 17, ""}), Options{Name: "f.log"},
			"f.log: byte offset 30: event 17 out of range for c8 numbering e (16 events)", nil},
		{"event out of range for era a", encode8(rec8{2, 1, 11, ""}), Options{Name: "f.log", Era: 'a'},
			"f.log: byte offset 16: event 11 out of range for c8 numbering a (11 events)", nil},
		{"c7 event out of range", encode7(rec7{2, 1, 0, 15, "", ""}), Options{Name: "f.log"},
			"f.log: byte offset 16: event 15 out of range for c7 numbering (15 events)", nil},
		{"unknown era", good, Options{Name: "f.log", Era: 'z'}, `unknown PyPy-STM c8 event numbering "z"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.data, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err %v is not %v", err, tt.is)
			}
			var ce *logformat.CorruptError
			if strings.Contains(tt.want, "out of range") && !errors.As(err, &ce) {
				t.Errorf("err %T is not a *logformat.CorruptError", err)
			}
		})
	}
}

func TestIsPyPy(t *testing.T) {
	for in, want := range map[string]bool{MagicC8 + "x": true, MagicC7: true, "STMGC-C8": false, "stmlog": false, "": false} {
		if IsPyPy([]byte(in)) != want {
			t.Errorf("IsPyPy(%q) = %v", in, !want)
		}
	}
}

func conformance(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "logs", "pypy", "conformance", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReaderSamples(t *testing.T) {
	tests := []struct {
		file      string
		records   int64
		starts    int
		truncated int64
	}{
		{"sample3.c8.log", 14566, 4500, 0},
		{"cut.c8.log", 1936, 600, 9},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := conformance(t, tt.file)
			got, st, err := readAll(t, data, Options{Name: tt.file})
			if err != nil {
				t.Fatal(err)
			}
			starts := 0
			for _, e := range got {
				if strings.Contains(e, " start") {
					starts++
				}
			}
			if starts != tt.starts || st.Chunks != tt.records || st.TruncatedBytes != tt.truncated || st.Bytes != int64(len(data)) {
				t.Errorf("starts %d, stats %+v", starts, st)
			}
			if (tt.truncated > 0) != (len(st.Warnings) > 0 && strings.Contains(strings.Join(st.Warnings, "\n"), "cut off")) {
				t.Errorf("warnings %q", st.Warnings)
			}
		})
	}
}

// TestReaderTruncation cuts a log at every byte: a c8 reader must return a
// prefix of the full event list and count the cut-off bytes, never panic.
func TestReaderTruncation(t *testing.T) {
	data := conformance(t, "cut.c8.log")[:4000]
	full, _, err := readAll(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n++ {
		got, st, err := readAll(t, data[:n], Options{})
		switch {
		case n == 0:
			if !errors.Is(err, ErrNotPyPy) {
				t.Fatalf("cut at %d: err %v", n, err)
			}
			continue
		case n < HeaderSize:
			if !errors.Is(err, ErrCutHeader) {
				t.Fatalf("cut at %d: err %v", n, err)
			}
			continue
		case err != nil:
			if !errors.Is(err, ErrEmpty) || len(got) != 0 {
				t.Fatalf("cut at %d: err %v after %d events", n, err, len(got))
			}
			continue
		}
		if len(got) > len(full) || strings.Join(got, "\n") != strings.Join(full[:len(got)], "\n") {
			t.Fatalf("cut at %d: events are not a prefix of the full log's", n)
		}
		if st.Bytes != int64(n) || st.TruncatedBytes < 0 || st.TruncatedBytes > c8HeadSize+255 {
			t.Fatalf("cut at %d: stats %+v", n, st)
		}
	}
}

func TestReaderBitFlips(t *testing.T) {
	inputs := [][]byte{
		conformance(t, "cut.c8.log")[:1200],
		encode7(rec7{10, 1, 0, C7Start, "", ""}, rec7{12, 1, 2, C7WriteWrite, mA, mB}, rec7{13, 1, 0, C7AbortingOther, "", ""},
			rec7{14, 2, 0, C7Abort, "", ""}, rec7{15, 1, 0, C7WaitContention, "", ""}, rec7{16, 1, 0, C7WaitDone, "", ""}),
	}
	for _, data := range inputs {
		for i := range data {
			for bit := 0; bit < 8; bit++ {
				d := bytes.Clone(data)
				d[i] ^= 1 << bit
				for _, era := range []byte{'a', 'e'} {
					got, _, err := readAll(t, d, Options{Era: era})
					var ce *logformat.CorruptError
					if err != nil && !errors.As(err, &ce) && !errors.Is(err, ErrNotPyPy) && !errors.Is(err, ErrEmpty) {
						t.Fatalf("flip %d.%d: unexpected error %v", i, bit, err)
					}
					if err == nil && len(got) == 0 && len(d) > 40 {
						t.Fatalf("flip %d.%d: no events and no error", i, bit)
					}
				}
			}
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(encode8(rec8{1, 1, EvStart, ""}, rec8{2, 1, EvWriteRead, mA}, rec8{3, 1, EvAbort, ""}), byte('e'))
	f.Add(encode8(rec8{1, 1, EvStart, ""}, rec8{2, 1, EvBecomeInevitable, mA}, rec8{3, 1, EvWaitOtherInev, ""}), byte('c'))
	f.Add(encode7(rec7{1, 1, 2, C7WriteRead, mA, ""}, rec7{2, 1, 0, C7AbortingOther, "", ""}), byte('e'))
	f.Add([]byte(MagicC8), byte('e'))
	f.Add([]byte("STMGC-C8-PROF01\n\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\xff"), byte('a'))
	f.Fuzz(func(t *testing.T, data []byte, era byte) {
		rd, err := NewReader(bytes.NewReader(data), Options{Era: 'a' + era%5})
		if err != nil {
			return
		}
		var n int64
		for {
			ev, err := rd.Next()
			if err != nil {
				break
			}
			n++
			if !ev.Kind.Valid() || ev.Thread != rd.rec.Thread && ev.Kind != logformat.KindConflict {
				t.Fatalf("bad event %+v", ev)
			}
			if rd.Stack(ev.Site) == nil && ev.Site != 0 {
				t.Fatalf("unresolvable site %d", ev.Site)
			}
		}
		if st := rd.Stats(); st.Events != n || st.Bytes > int64(len(data)) {
			t.Fatalf("stats %+v after %d events of %d bytes", st, n, len(data))
		}
	})
}

// zeroReader never returns data nor an error; errReader fails after n bytes.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReaderBrokenInput(t *testing.T) {
	if _, err := NewReader(zeroReader{}, Options{Name: "z"}); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("zero reader: %v", err)
	}
	boom := errors.New("disk on fire")
	data := encode8(rec8{1, 1, EvStart, ""}, rec8{2, 1, EvCommit, ""})
	if _, _, err := readAll(t, nil, Options{}); !errors.Is(err, ErrNotPyPy) {
		t.Errorf("empty input: %v", err)
	}
	rd, err := NewReader(&errReader{data: data[:40], err: boom}, Options{Name: "f.log"})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for {
		_, err = rd.Next()
		if err != nil {
			break
		}
		n++
	}
	// The error names the start of the record whose read failed.
	if n != 1 || !errors.Is(err, boom) || !strings.Contains(err.Error(), "f.log: byte offset 30: disk on fire") {
		t.Errorf("after %d events: %v", n, err)
	}
}
