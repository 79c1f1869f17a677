package anylog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func nativeLog(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := logformat.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []logformat.Kind{logformat.KindTxStart, logformat.KindTxCommit} {
		if err := w.Write(&logformat.Event{Time: int64(i), Kind: k, Thread: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pypyC8 builds a minimal c8 log: START then COMMIT on thread 1.
func pypyC8() []byte {
	b := []byte("STMGC-C8-PROF01\n")
	rec := func(sec, nsec, thread uint32, ev byte) {
		for _, v := range []uint32{sec, nsec, thread} {
			b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		}
		b = append(b, ev, 0)
	}
	rec(1, 0, 1, 0)
	rec(1, 500, 1, 1)
	return b
}

func countEvents(t *testing.T, src logformat.Source) int {
	t.Helper()
	n := 0
	for {
		_, err := src.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

func TestOpenDetectsFormat(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		data         []byte
	}{
		{"native.stmlog", "stmlog", nativeLog(t)},
		{"run.c8.log", "pypy-c8", pypyC8()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, c, err := Open(writeFile(t, tc.name, tc.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if n := countEvents(t, src); n != 2 {
				t.Errorf("got %d events, want 2", n)
			}
			if got := src.Stats().Format; !strings.HasPrefix(got, tc.format) {
				t.Errorf("Stats().Format = %q, want prefix %q", got, tc.format)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty.log", nil, "empty file"},
		{"text.log", []byte("hello, this is not a log at all\n"), "not an stmlog or PyPy-STM log"},
		{"short.log", []byte("SX"), "not an stmlog or PyPy-STM log"},
		// A PyPy log cut inside its magic is a cut log, not a foreign file.
		{"cut.c8.log", []byte("STMGC-C8-P"), "PyPy-STM log cut off inside its 16-byte header (10 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.name, tc.data)
			_, _, err := Open(p, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Open(%s) error = %v, want one naming the file and %q", tc.name, err, tc.want)
			}
		})
	}
	if _, _, err := Open(filepath.Join(t.TempDir(), "missing.log"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: error = %v, want os.ErrNotExist", err)
	}
}

// A native log cut inside its header is ErrNoChunk at its end, not an
// empty log; a complete header (a program that exited before its first
// flush) or a log cut later still ends in io.EOF.
func TestNoChunk(t *testing.T) {
	full := nativeLog(t)
	for _, tc := range []struct {
		n    int
		want string // "" = io.EOF
	}{
		{1, "x.stmlog: log truncated before the first chunk (cut inside its 10-byte header: 1 bytes)"},
		{9, "x.stmlog: log truncated before the first chunk (cut inside its 10-byte header: 9 bytes)"},
		{10, ""},
		{14, ""},
		{len(full) - 1, ""},
		{len(full), ""},
	} {
		src, err := New(bytes.NewReader(full[:tc.n]), "x.stmlog", Options{})
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = src.Next()
		}
		if tc.want == "" && err != io.EOF || tc.want != "" && (!errors.Is(err, ErrNoChunk) || err.Error() != tc.want) {
			t.Errorf("cut at %d: %v, want %q", tc.n, err, tc.want)
		}
	}
}
