package pypygen

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/stmlog/stmlog/internal/golden"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// SmallLogs are the committed sample logs and the configs that make them;
// testdata/logs/pypy/README.md quotes these.
var smallLogs = []struct {
	file string
	cfg  Config
}{
	{"small.c8.log", Config{Format: pypy.C8, Seed: 8, Threads: 4, Records: 3000}},
	{"small.c7.log", Config{Format: pypy.C7, Seed: 7, Threads: 3, Records: 3000}},
}

func TestSmallLogsUpToDate(t *testing.T) {
	for _, s := range smallLogs {
		var b bytes.Buffer
		if _, err := Write(&b, s.cfg); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "testdata", "logs", "pypy", s.file)
		golden.Check(t, path, b.Bytes()) // the generator changed on purpose? go test ./internal/pypygen -update
	}
}

// TestWellFormed reads generated logs back and checks the properties the
// analyzers rely on: timestamps never decrease, every START of a thread is
// closed by COMMIT or ABORT before the next START, every wait ends, and
// the size limit is honoured.
func TestWellFormed(t *testing.T) {
	tests := []Config{
		{Format: pypy.C8, Seed: 1, Threads: 1, Records: 500},
		{Format: pypy.C8, Seed: 2, Threads: 8, Records: 5000},
		{Format: pypy.C7, Seed: 3, Threads: 2, Records: 5000},
		{Format: pypy.C7, Seed: 4, Threads: 6, Bytes: 100_000},
	}
	for _, cfg := range tests {
		var b bytes.Buffer
		res, err := Write(&b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Bytes != int64(b.Len()) || cfg.Records > 0 && (res.Records < cfg.Records || res.Records > cfg.Records+int64(20*cfg.Threads)) ||
			cfg.Bytes > 0 && (res.Bytes < cfg.Bytes || res.Bytes > cfg.Bytes+int64(2000*cfg.Threads)) {
			t.Errorf("%+v: result %+v for %d bytes", cfg, res, b.Len())
		}
		rd, err := pypy.NewReader(&b, pypy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inTx := map[uint32]bool{}
		waiting := map[uint32]bool{}
		var last int64
		kinds := map[logformat.Kind]int{}
		for {
			ev, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			kinds[ev.Kind]++
			if ev.Time < last && cfg.Format == pypy.C8 {
				t.Fatalf("%+v: time goes back at %d", cfg, rd.Offset())
			}
			last = max(last, ev.Time)
			switch ev.Kind {
			case logformat.KindTxStart:
				if inTx[ev.Thread] {
					t.Fatalf("%+v: START in a transaction at %d", cfg, rd.Offset())
				}
				inTx[ev.Thread] = true
			case logformat.KindTxCommit, logformat.KindTxAbort:
				if !inTx[ev.Thread] {
					t.Fatalf("%+v: end outside a transaction at %d", cfg, rd.Offset())
				}
				inTx[ev.Thread], waiting[ev.Thread] = false, false
			case logformat.KindWaitStart:
				waiting[ev.Thread] = true
			case logformat.KindWaitDone:
				waiting[ev.Thread] = false
			}
		}
		for th := range inTx {
			if inTx[th] || waiting[th] {
				t.Errorf("%+v: thread %d ends inside a transaction or wait", cfg, th)
			}
		}
		if kinds[logformat.KindConflict] == 0 || kinds[logformat.KindTxAbort] == 0 || kinds[logformat.KindWaitStart] == 0 {
			t.Errorf("%+v: kinds %v lack conflicts, aborts or waits", cfg, kinds)
		}
		if st := rd.Stats(); st.TruncatedBytes != 0 || len(st.Warnings) > 1 {
			t.Errorf("%+v: stats %+v", cfg, st)
		}
	}
}

func TestDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	cfg := Config{Seed: 5, Records: 2000}
	Write(&a, cfg)
	Write(&b, cfg)
	cfg.Seed = 6
	Write(&c, cfg)
	if !bytes.Equal(a.Bytes(), b.Bytes()) || bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("same seed must give the same log, another seed another")
	}
	if _, err := Write(io.Discard, Config{}); err == nil {
		t.Error("no limit must be an error")
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"500MB", 500e6, true}, {"2GB", 2e9, true}, {"64KB", 64e3, true}, {"1000", 1000, true}, {"7B", 7, true},
		{"", 0, false}, {"MB", 0, false}, {"-1MB", 0, false}, {"x", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
}
