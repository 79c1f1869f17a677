package pypyreport

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stmlog/stmlog/internal/pypygen"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// runBoth runs the report with the c8 analyzer's own loop (scan, reading
// Scanner.Window) and with every record read by Next, and fails if their
// stdout, stderr or error differ.
func runBoth(t *testing.T, name string, data []byte, opt Options, budget int) {
	t.Helper()
	var outs [2]string
	for i, one := range []bool{false, true} {
		recordAtATime = one
		var out, errOut bytes.Buffer
		err := run(&out, &errOut, bytes.NewReader(data), opt, budget)
		outs[i] = fmt.Sprintf("%s\n--- stderr\n%s\n--- error %v", out.String(), errOut.String(), err)
	}
	recordAtATime = false
	if outs[0] != outs[1] {
		t.Fatalf("%s (era %c, budget %d): scan's report\n%s\nrecord at a time\n%s", name, opt.Era, budget, tail(outs[0]), tail(outs[1]))
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// TestC8ScanSameAsRecord: the c8 analyzer's loop over the scanner's
// buffer prints what it prints reading each record with Next, on
// generated logs (also with thread numbers past the small table, and
// past a progress percentage), the samples, their cuts, flipped bits and
// every era's event range and order check.
func TestC8ScanSameAsRecord(t *testing.T) {
	inputs := map[string][]byte{}
	for i, cfg := range []pypygen.Config{
		{Seed: 5, Threads: 4, Records: 30_000},
		{Seed: 6, Threads: 300, Records: 20_000},
		{Seed: 7, Threads: 2, Records: progressEvery + 3000},
	} {
		var b bytes.Buffer
		if _, err := pypygen.Write(&b, cfg); err != nil {
			t.Fatal(err)
		}
		inputs[fmt.Sprintf("gen%d", i)] = b.Bytes()
	}
	for _, name := range []string{"sample3.c8.log", "cut.c8.log", "freeseg.c8.log", "strip.c8.log"} {
		inputs[name] = []byte(readFile(t, filepath.Join(pypyDir, "conformance", name)))
	}
	for name, data := range inputs {
		for _, era := range []byte{'a', 'c', 'd', 'e'} {
			runBoth(t, name, data, Options{Era: era, Top: 20}, timestampBudget)
		}
		runBoth(t, name, data, Options{}, 0)
		runBoth(t, name, data, Options{}, 64)
	}
	gen := inputs["gen0"][:20_000]
	for n := 0; n < len(gen); n += 997 {
		runBoth(t, fmt.Sprintf("gen0[:%d]", n), gen[:n], Options{}, timestampBudget)
	}
	for i := pypy.HeaderSize; i < len(gen); i += 211 {
		d := bytes.Clone(gen)
		d[i] ^= 1 << (i % 8)
		runBoth(t, fmt.Sprintf("gen0 flip %d", i), d, Options{Era: 'a' + byte(i%5)}, timestampBudget)
	}
}

// TestC8ScanInevQueue: runs of ends of waits for the inevitable
// transaction longer than scan's queue (pendInev), between
// contentions whose conflicts come after them in file order, from
// interleaved threads, give what reading each record with Next gives.
func TestC8ScanInevQueue(t *testing.T) {
	var recs []pypyRec
	ns := uint32(0)
	add := func(th uint32, ev uint8, m string) {
		ns += 1000 + 37*uint32(len(recs)%7)
		recs = append(recs, pypyRec{ns / 1e9, ns % 1e9, th, ev, m})
	}
	marks := []string{"inev a (#1)", "inev b (#2)", "inev c (#3)", "x (#4)", "inev-e"}
	for i := range 600 {
		th := uint32(i%3) + 1
		add(th, pypy.EvStart, "")
		add(th, pypy.EvBecomeInevitable, marks[(i/7)%len(marks)])
		add(th, pypy.EvWaitOtherInev, "")
		add(th, pypy.EvWaitDone, "")
		if i%150 == 149 {
			add(th, pypy.EvWriteRead, marks[i%len(marks)])
			add(th, pypy.EvAbort, "")
			continue
		}
		add(th, pypy.EvCommit, "")
	}
	data := pypyLog(recs...)
	runBoth(t, "inev runs", data, Options{Top: 50}, timestampBudget)
	runBoth(t, "inev runs, two passes", data, Options{Top: 50}, 0)
}
