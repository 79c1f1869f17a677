package pypyreport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/internal/golden"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// checkGolden compares got with testdata/golden/name, or rewrites it under
// -update (internal/golden).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), got)
}

var pypyDir = filepath.Join("..", "testdata", "logs", "pypy")

// onlyReader hides Seek, to exercise the non-seekable (pipe) path.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestPyPyConformance checks the output of print_stm_log.py for the
// samples, byte for byte, through a file (seekable), a pipe-like reader,
// and a file with a tiny timestamp budget (second pass).
// TestPyPyTopZero: "print_stm_log.py LOG 0" slices the conflicts to
// nothing and prints only the summary block; an unset Top is the default.
func TestPyPyTopZero(t *testing.T) {
	dir := filepath.Join(pypyDir, "conformance")
	want, err := os.ReadFile(filepath.Join(dir, "sample3.c8.top5.expected"))
	if err != nil {
		t.Fatal(err)
	}
	header := want[:bytes.Index(want, []byte("\n\n"))+2]
	for _, tc := range []struct {
		opt  Options
		want []byte
	}{
		{Options{Top: 0, TopGiven: true}, header},
		{Options{Top: 0}, want},
		{Options{Top: 5, TopGiven: true}, want},
	} {
		f, err := os.Open(filepath.Join(dir, "sample3.c8.log"))
		if err != nil {
			t.Fatal(err)
		}
		var stdout bytes.Buffer
		err = Write(&stdout, io.Discard, f, tc.opt)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stdout.Bytes(), tc.want) {
			t.Errorf("%+v: got\n%s\nwant\n%s", tc.opt, stdout.Bytes(), tc.want)
		}
	}
}

func TestPyPyConformance(t *testing.T) {
	dir := filepath.Join(pypyDir, "conformance")
	tests := []struct {
		log, stdout, stderr string
		top                 int
		stderrExtra         string // what stmlog adds after the original's stderr file
	}{
		{"sample3.c8.log", "sample3.c8.top5.expected", "sample3.c8.stderr.expected", 0, ""},
		{"sample3.c8.log", "sample3.c8.top15.expected", "sample3.c8.stderr.expected", 15, ""},
		// Hand-made samples (the README works their output out).
		{"freeseg.c8.log", "freeseg.c8.top5.expected", "", 0, "\n"},
		{"strip.c8.log", "strip.c8.top5.expected", "", 0, "\n"},
		{"sample3.c8.log", "sample3.c8.top-1.expected", "sample3.c8.stderr.expected", -1, ""},
		{"cut.c8.log", "cut.c8.top5.expected", "", 5,
			strings.Repeat("note: double STM_CONTENTION_WRITE_READ\n", 4) + "\n" +
				"note: cut.c8.log: the log ends in the middle of a record: the last 9 bytes (from byte offset 44204) were ignored, as print_stm_log.py does\n"},
	}
	modes := []struct {
		name   string
		budget int
		open   func(f *os.File) io.Reader
		jobs   int
	}{
		{"file", timestampBudget, func(f *os.File) io.Reader { return f }, 1},
		{"pipe", timestampBudget, func(f *os.File) io.Reader { return onlyReader{f} }, 1},
		{"two-pass", 16, func(f *os.File) io.Reader { return f }, 1},
		{"file-jobs2", timestampBudget, func(f *os.File) io.Reader { return f }, 2},
		{"two-pass-jobs2", 16, func(f *os.File) io.Reader { return f }, 2},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.stdout+"/"+m.name, func(t *testing.T) {
				f, err := os.Open(filepath.Join(dir, tt.log))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				var stdout, stderr bytes.Buffer
				err = run(&stdout, &stderr, m.open(f), Options{Top: tt.top, Name: tt.log, SourceRoot: dir, Jobs: m.jobs}, m.budget)
				if err != nil {
					t.Fatal(err)
				}
				want := readFile(t, filepath.Join(dir, tt.stdout))
				if stdout.String() != want {
					t.Errorf("stdout differs:\n%s", golden.Diff([]byte(stdout.String()), []byte(want)))
				}
				wantErr := tt.stderrExtra // the whole stderr when no expected file
				if tt.stderr != "" {
					wantErr = readFile(t, filepath.Join(dir, tt.stderr)) + tt.stderrExtra
				}
				if stderr.String() != wantErr {
					t.Errorf("stderr:\n%q\nwant:\n%q", stderr.String(), wantErr)
				}
			})
		}
	}
}

// TestPyPyGoldens: the synthesized logs of testdata/logs/pypy (see its
// README) against their golden reports in testdata/golden. The
// goldens were cross-checked against a Python restatement of
// print_stm_log.py that reproduces the conformance samples.
func TestPyPyGoldens(t *testing.T) {
	tests := []struct {
		log, golden string
		top         int
		source      bool // a source line of src/app.py is in the output
	}{
		{"small.c8.log", "small.c8.top5", 0, true},
		{"small.c8.log", "small.c8.top15", 15, true},
		{"small.c7.log", "small.c7.top15", 0, true},
		{"small.c7.log", "small.c7.top3", 3, false},
	}
	for _, tt := range tests {
		for _, jobs := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/jobs%d", tt.golden, jobs), func(t *testing.T) {
				f, err := os.Open(filepath.Join(pypyDir, tt.log))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				var stdout, stderr bytes.Buffer
				if err := Write(&stdout, &stderr, f, Options{Top: tt.top, Name: tt.log, SourceRoot: pypyDir, Jobs: jobs}); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, tt.golden+".expected", stdout.Bytes())
				checkGolden(t, tt.golden+".stderr.expected", stderr.Bytes())
				if tt.source != strings.Contains(stdout.String(), "\n    ") {
					t.Errorf("source lines printed: %v, want %v (src/app.py resolved against SourceRoot)", !tt.source, tt.source)
				}
			})
		}
	}
}

// TestPyPyWorkingDirectory: with no SourceRoot, relative markers resolve
// against the working directory, like linecache.
func TestPyPyWorkingDirectory(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join(pypyDir, "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	data := readFile(t, filepath.Join(dir, "sample3.c8.log"))
	t.Chdir(dir)
	var stdout bytes.Buffer
	if err := Write(&stdout, io.Discard, strings.NewReader(data), Options{Top: 15}); err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, "sample3.c8.top15.expected"); stdout.String() != want {
		t.Errorf("stdout differs:\n%s", golden.Diff([]byte(stdout.String()), []byte(want)))
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pypyRec builds c8 (era e) records for the edge-case tests.
type pypyRec struct {
	sec, nsec uint32
	thread    uint32
	event     uint8
	marker    string
}

func pypyLog(recs ...pypyRec) []byte {
	b := []byte(pypy.MagicC8)
	for _, r := range recs {
		b = binary.LittleEndian.AppendUint32(b, r.sec)
		b = binary.LittleEndian.AppendUint32(b, r.nsec)
		b = binary.LittleEndian.AppendUint32(b, r.thread)
		b = append(b, r.event, byte(len(r.marker)))
		b = append(b, r.marker...)
	}
	return b
}

// TestPyPyEdgeCases covers the inputs where the original crashes or
// refuses, checking the exact output stmlog prints instead.
func TestPyPyEdgeCases(t *testing.T) {
	const m = `File "nowhere.py", line 1, in f (#1)`
	tests := []struct {
		name    string
		data    []byte
		top     int
		want    string // stdout, or substring of the error
		wantErr bool
	}{
		{"conflict at the last timestamp goes in the last cell", pypyLog(
			pypyRec{1, 0, 1, pypy.EvStart, ""},
			pypyRec{2, 0, 1, pypy.EvWriteRead, m},
			pypyRec{2, 0, 1, pypy.EvAbort, ""}), 0,
			"\nTotal real time:         1.000s\n" +
				"CPU time in STM mode:    0.000s (0.0%) committed\n" +
				"                         1.000s (100%) aborted\n" +
				"                         0.000s (0.0%) paused\n" +
				"                         1.000s (100%) TOTAL\n" +
				"           including     0.000s (0.0%) minor GC collections\n" +
				"                 and     0.000s (0.0%) major GC collections\n" +
				"Total number of transactions:      1 committed: 0.0% aborted: 100%\n" +
				"     transactions per second:      1\n\n" +
				"1.000s lost in aborts, 0.000s paused (1x STM_CONTENTION_WRITE_READ)\n" +
				"  " + m + "\n" +
				"time line: |                                                           X|\n\n", false},
		{"zero real time and no transaction", pypyLog(pypyRec{5, 0, 1, pypy.EvGCMinorStart, ""}), 0,
			"\nTotal real time:         0.000s\n" +
				"CPU time in STM mode:    0.000s (nan%) committed\n" +
				"                         0.000s (nan%) aborted\n" +
				"                         0.000s (nan%) paused\n" +
				"                         0.000s (nan%) TOTAL\n" +
				"           including     0.000s (nan%) minor GC collections\n" +
				"                 and     0.000s (nan%) major GC collections\n" +
				"Total number of transactions:      0 committed: nan% aborted: nan%\n" +
				"     transactions per second:    nan\n\n", false},
		{"detach without reattach, then a new transaction; reattach wait keyed by REATTACH", pypyLog(
			pypyRec{1, 0, 1, pypy.EvStart, ""},
			pypyRec{1, 500000000, 1, pypy.EvDetach, ""},
			pypyRec{2, 0, 1, pypy.EvStart, ""},
			pypyRec{2, 0, 1, pypy.EvReattach, ""},
			pypyRec{2, 0, 1, pypy.EvWaitOtherInev, ""},
			pypyRec{3, 0, 1, pypy.EvWaitDone, ""},
			pypyRec{4, 0, 1, pypy.EvCommit, ""}), 1,
			"\nTotal real time:         3.000s\n" +
				"CPU time in STM mode:    1.000s ( 33%) committed\n" +
				"                         0.000s (0.0%) aborted\n" +
				"                         1.000s ( 33%) paused\n" +
				"                         2.000s ( 66%) TOTAL\n" +
				"           including     0.000s (0.0%) minor GC collections\n" +
				"                 and     0.000s (0.0%) major GC collections\n" +
				"Total number of transactions:      1 committed: 100% aborted: 0.0%\n" +
				"     transactions per second:      0\n\n" +
				"0.000s lost in aborts, 1.000s paused (1x STM_TRANSACTION_REATTACH)\n" +
				"  \n" +
				"time line: |                    X                                       |\n\n", false},
		{"free segment wait leaves the thread stopped", pypyLog(
			pypyRec{1, 0, 1, pypy.EvWaitFreeSegment, ""},
			pypyRec{2, 0, 1, pypy.EvWaitDone, ""},
			pypyRec{2, 0, 1, pypy.EvStart, ""},
			pypyRec{3, 0, 1, pypy.EvCommit, ""}), 0,
			"\nTotal real time:         2.000s\n" +
				"CPU time in STM mode:    1.000s ( 50%) committed\n" +
				"                         0.000s (0.0%) aborted\n" +
				"                         0.000s (0.0%) paused\n" +
				"                         1.000s ( 50%) TOTAL\n" +
				"           including     0.000s (0.0%) minor GC collections\n" +
				"                 and     0.000s (0.0%) major GC collections\n" +
				"Total number of transactions:      1 committed: 100% aborted: 0.0%\n" +
				"     transactions per second:      1\n\n", false},
		{"decreasing timestamps", pypyLog(pypyRec{2, 0, 1, pypy.EvStart, ""}, pypyRec{1, 0, 1, pypy.EvCommit, ""}), 0,
			"x.log: byte offset 30: decreasing timestamps: 2.000000000 -> 1.000000000", true},
		{"header only", []byte(pypy.MagicC8), 0, "x.log: PyPy-STM log holds no record", true},
		{"not a log", []byte("hello, world, this is text"), 0, "x.log: not a PyPy-STM log", true},
		{"event out of range", pypyLog(pypyRec{1, 0, 1, 16, ""}), 0,
			"x.log: byte offset 16: event 16 out of range for c8 numbering e (16 events)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Write(&stdout, &stderr, bytes.NewReader(tt.data), Options{Top: tt.top, Name: "x.log"})
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) || stdout.Len() != 0 {
					t.Fatalf("err = %v, stdout %q; want error %q", err, stdout.String(), tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.want {
				t.Errorf("stdout:\n%s", golden.Diff([]byte(stdout.String()), []byte(tt.want)))
			}
			if stderr.String() != "\n" {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
}

// TestPyPyEras: a log re-encoded in an older c8 numbering and read with
// that Era gives the same report. (Records the older era cannot express,
// DETACH/REATTACH, are left out of both.)
func TestPyPyEras(t *testing.T) {
	data := []byte(readFile(t, filepath.Join(pypyDir, "conformance", "sample3.c8.log")))
	for _, era := range []pypy.Era{pypy.EraC, pypy.EraD} {
		inv := map[uint8]uint8{}
		for i, c := range era.Table() {
			inv[c] = uint8(i)
		}
		sc, err := pypy.NewScanner(bytes.NewReader(data), "x", 0)
		if err != nil {
			t.Fatal(err)
		}
		final, old := []byte(pypy.MagicC8), []byte(pypy.MagicC8)
		var rec pypy.Record
		for sc.Next(&rec) == nil {
			n, ok := inv[rec.Event]
			if !ok {
				continue
			}
			b := data[sc.Offset() : sc.Offset()+14+int64(len(rec.Marker))]
			final = append(final, b...)
			old = append(old, b...)
			old[len(old)-len(b)+12] = n
		}
		var want, got bytes.Buffer
		if err := Write(&want, io.Discard, bytes.NewReader(final), Options{Top: 15}); err != nil {
			t.Fatal(err)
		}
		if err := Write(&got, io.Discard, bytes.NewReader(old), Options{Top: 15, Era: byte(era)}); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() || !strings.Contains(got.String(), "STM_BECOME_INEVITABLE") {
			t.Errorf("era %c:\n%s", era, golden.Diff([]byte(got.String()), []byte(want.String())))
		}
	}
}

// TestPyPyReaderAgrees cross-checks the two independent paths over the
// same logs: the conflicts pypy.Reader maps to events must be the ones
// print_stm_log.py's algorithm counts (on these logs, where no wait is
// left open at an abort): per c8 conflict key (event, marker), and per
// c7 conflict kind (the reader puts a c7 conflict on the paying side, so
// its two sites may be swapped relative to the report's key).
func TestPyPyReaderAgrees(t *testing.T) {
	c7Names := map[logformat.ConflictKind]string{
		logformat.ConflictWriteWrite: "STM_CONTENTION_WRITE_WRITE",
		logformat.ConflictWriteRead:  "STM_CONTENTION_WRITE_READ",
		logformat.ConflictInevitable: "STM_CONTENTION_INEVITABLE",
	}
	for _, file := range []string{"small.c8.log", "small.c7.log", filepath.Join("conformance", "sample3.c8.log")} {
		data := []byte(readFile(t, filepath.Join(pypyDir, file)))
		rd, err := pypy.NewReader(bytes.NewReader(data), pypy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		fromReader := map[string]int{}
		for {
			ev, err := rd.Next()
			if err != nil {
				break
			}
			if ev.Kind != logformat.KindConflict {
				continue
			}
			switch {
			case rd.Format() == pypy.C7:
				fromReader[c7Names[ev.Conflict]]++
			case ev.Conflict == logformat.ConflictWriteRead:
				fromReader["STM_CONTENTION_WRITE_READ "+rd.Stack(ev.OtherSite).Label]++
			case ev.Site == 0:
				fromReader["STM_TRANSACTION_REATTACH "]++
			default:
				fromReader["STM_BECOME_INEVITABLE "+rd.Stack(ev.Site).Label]++
			}
		}
		var out bytes.Buffer
		if err := Write(&out, io.Discard, bytes.NewReader(data), Options{Top: 1000}); err != nil {
			t.Fatal(err)
		}
		fromReport := map[string]int{}
		lines := strings.Split(out.String(), "\n")
		for i, l := range lines {
			var lost, paused float64
			var n int
			var name string
			if _, err := fmt.Sscanf(l, "%fs lost in aborts, %fs paused (%dx %s", &lost, &paused, &n, &name); err != nil {
				continue
			}
			name = strings.TrimSuffix(name, ")")
			if rd.Format() == pypy.C7 {
				fromReport[name] += n
			} else {
				fromReport[name+" "+strings.TrimPrefix(lines[i+1], "  ")] += n
			}
		}
		if len(fromReport) < 3 || fmt.Sprint(fromReader) != fmt.Sprint(fromReport) {
			t.Errorf("%s: reader conflicts\n%v\nreport conflicts\n%v", file, fromReader, fromReport)
		}
	}
}

// TestPyPyCutMarker: a log cut inside the last record's marker. The
// original reads the partial marker and uses it; so does stmlog, which
// then says so on stderr.
func TestPyPyCutMarker(t *testing.T) {
	const m = `File "cut.py", line 4, in f (#1)`
	data := pypyLog(pypyRec{1, 0, 1, pypy.EvStart, ""}, pypyRec{3, 0, 1, pypy.EvWriteRead, m})
	data = data[:len(data)-20]
	var stdout, stderr bytes.Buffer
	if err := Write(&stdout, &stderr, bytes.NewReader(data), Options{Name: "x.log"}); err != nil {
		t.Fatal(err)
	}
	wantOut := "2.000s lost in aborts, 0.000s paused (1x STM_CONTENTION_WRITE_READ)\n  " + m[:len(m)-20] + "\ntime line: |" +
		strings.Repeat(" ", 59) + "X|\n\n"
	if !strings.HasSuffix(stdout.String(), wantOut) {
		t.Errorf("stdout:\n%s\nwant suffix:\n%s", stdout.String(), wantOut)
	}
	wantErr := "\nnote: x.log: the log ends in the middle of a record: the record at byte offset 30 misses 20 marker bytes; " +
		"its partial marker was used, as print_stm_log.py does\n"
	if stderr.String() != wantErr {
		t.Errorf("stderr %q, want %q", stderr.String(), wantErr)
	}
}

// progressLog is the conformance sample for the progress line
// (testdata/logs/pypy/conformance/README.md, "progress"): too big to
// commit (14 MB), so built here. One thread, 1,048,580 records of 14
// bytes, 1 µs apart, alternating START and COMMIT, except that the
// transaction started at record 524,288 reads twice too early (two
// WRITE_READ records, the second a "double" note) and aborts.
func progressLog() []byte {
	const n = 1_048_580
	b := make([]byte, 0, pypy.HeaderSize+14*n)
	b = append(b, pypy.MagicC8...)
	for i := 0; i < n; i++ {
		ev := uint8(pypy.EvStart)
		switch {
		case i == progressEvery+1 || i == progressEvery+2:
			ev = pypy.EvWriteRead
		case i == progressEvery+3:
			ev = pypy.EvAbort
		case i%2 == 1:
			ev = pypy.EvCommit
		}
		us := uint32(i)
		b = binary.LittleEndian.AppendUint32(b, 100+us/1_000_000)
		b = binary.LittleEndian.AppendUint32(b, us%1_000_000*1000)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = append(b, ev, 0)
	}
	return b
}

// TestPyPyProgress: every 0x80000 records the original prints the file
// position as '%.0f%%' with Python 2's "print >>f, x," on stderr, whose
// pending space goes before the next thing printed (here a note), and a
// newline at the end, with no space before it.
func TestPyPyProgress(t *testing.T) {
	data := progressLog()
	if len(data) != 14_680_136 {
		t.Fatalf("progress log of %d bytes, the README's arithmetic wants 14680136", len(data))
	}
	const want = "50% note: double STM_CONTENTION_WRITE_READ\n100%\n"
	var stderr bytes.Buffer
	if err := Write(io.Discard, &stderr, bytes.NewReader(data), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	// Without a size (a pipe), no percentage can be computed: none is
	// printed, and the note starts the line.
	stderr.Reset()
	if err := Write(io.Discard, &stderr, onlyReader{bytes.NewReader(data)}, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := stderr.String(), "note: double STM_CONTENTION_WRITE_READ\n\n"; got != want {
		t.Errorf("pipe: stderr %q, want %q", got, want)
	}
}

func TestPyPyPercentAndFloat(t *testing.T) {
	tests := []struct {
		f, total float64
		want     string
	}{
		{5.3, 100, "5.3%"}, {12, 100, "12%"}, {380, 100, "380%"}, {0.05, 100, "0.1%"}, {0.25, 1000, "0.0%"},
		{99.95, 100, "100%"}, {9.96, 100, "10%"}, {1, 0, "inf%"}, {0, 0, "nan%"}, {-5, 100, "-5%"},
	}
	for _, tt := range tests {
		if got := pyPercent(tt.f, tt.total); got != tt.want {
			t.Errorf("pyPercent(%v, %v) = %q, want %q", tt.f, tt.total, got, tt.want)
		}
	}
	// '%.3f' rounds the exact binary value half to even: 0.0005 is just
	// above a half, 2.5 and 0.125 are exact ties.
	for x, want := range map[float64]string{0.0005: "0.001", 0.125: "0.125", 2.0625: "2.062", 2.0675: "2.067"} {
		if got := pyFloat(x, 3); got != want {
			t.Errorf("pyFloat(%v, 3) = %q, want %q", x, got, want)
		}
	}
	if got := pyFloatW(2.5, 0, 6); got != "     2" {
		t.Errorf("%%6.f of 2.5 = %q", got)
	}
}

func TestPyPyCells(t *testing.T) {
	c := timeCells{start: 10, span: 2, n: 60}
	for ts, want := range map[float64]int{10: 0, 12: 59, 11: 30, 9.99: 0, 9.9: 58, 100: 59} {
		if got := c.index(ts); got != want {
			t.Errorf("index(%v) = %d, want %d", ts, got, want)
		}
	}
	if got := (&timeCells{start: 1, span: 0, n: 60}).index(1); got != 0 {
		t.Errorf("zero span: %d", got)
	}
}

func TestPyPyTimestampsRoundTrip(t *testing.T) {
	var c conflictSummary
	var off timeCells
	// Jumps of 2^52 seconds' worth of key and more take the 9-byte form.
	in := [][2]uint32{{5, 999999999}, {5, 0}, {4294967295, 4294967295}, {0, 0}, {7, 12},
		{1 << 21, 0}, {0, 0}, {1 << 31, 5}, {3, 3}, {1<<31 + 9, 1}}
	x := uint64(1)
	for i := 0; i < 200_000; i++ { // across many chunks
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		in = append(in, [2]uint32{uint32(x>>40) % 4, uint32(x) >> (x % 31)})
	}
	for _, p := range in {
		c.addTime(p[0], p[1], &off)
	}
	var out [][2]uint32
	c.timestamps(func(s, n uint32) { out = append(out, [2]uint32{s, n}) })
	if len(out) != len(in) {
		t.Fatalf("got %v", out)
	}
	for i := range in {
		if in[i] != out[i] {
			t.Errorf("timestamp %d: %v, want %v", i, out[i], in[i])
		}
	}
}

// TestPyPyNeverPanics: truncation at every byte and bit flips of a sample
// give either a report or an error, never a panic.
func TestPyPyNeverPanics(t *testing.T) {
	data := []byte(readFile(t, filepath.Join(pypyDir, "conformance", "cut.c8.log")))[:1500]
	for n := 0; n <= len(data); n += 1 {
		var out bytes.Buffer
		err := Write(&out, io.Discard, bytes.NewReader(data[:n]), Options{})
		if (err == nil) != (n >= pypy.HeaderSize+14) {
			t.Fatalf("cut at %d: err %v", n, err)
		}
	}
	for i := pypy.HeaderSize; i < len(data); i += 3 {
		d := bytes.Clone(data)
		d[i] ^= 1 << (i % 8)
		var out bytes.Buffer
		err := Write(&out, io.Discard, bytes.NewReader(d), Options{Era: 'a' + byte(i%5)})
		var ce *logformat.CorruptError
		if err != nil && !errors.As(err, &ce) && !strings.Contains(err.Error(), "decreasing") {
			t.Fatalf("flip at %d: %v", i, err)
		}
	}
}

func FuzzPyPyReport(f *testing.F) {
	f.Add(pypyLog(pypyRec{1, 0, 1, pypy.EvStart, ""}, pypyRec{2, 0, 1, pypy.EvWriteRead, "File \"a\", line 1"}), byte(0))
	f.Add([]byte(pypy.MagicC7+"\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x01\x00x"), byte(4))
	f.Fuzz(func(t *testing.T, data []byte, era byte) {
		runBoth(t, "fuzz", data, Options{Era: 'a' + era%5, Top: int(era % 7)}, 64)
	})
}

// c7Rec is one c7 record for the tests (two markers and the other thread).
type c7Rec struct {
	sec, nsec, thread, other uint32
	event                    uint8
	m1, m2                   string
}

func c7Log(recs ...c7Rec) []byte {
	b := []byte(pypy.MagicC7)
	for _, r := range recs {
		for _, v := range []uint32{r.sec, r.nsec, r.thread, r.other} {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		b = append(b, r.event, byte(len(r.m1)), byte(len(r.m2)))
		b = append(b, r.m1...)
		b = append(b, r.m2...)
	}
	return b
}

// A c7 log whose last record is an ABORTING_OTHER_CONTENTION that moved a
// conflict: the original's stop time is then the contention's (its loop
// variable is rebound), so real time is 0.500 s, not 0.600 s, and the
// conflict sits at the stop time, where the original fails with an
// IndexError and stmlog uses the last cell (docs/pypy-log-format.md §6).
// Any record after it restores the last record's time.
func TestPyPyC7EndsInAbortingOther(t *testing.T) {
	const a, b = `File "a.py", line 1, in f`, `File "b.py", line 2, in g`
	recs := []c7Rec{
		{1, 0, 1, 0, pypy.C7Start, "", ""},
		{1, 100_000_000, 2, 0, pypy.C7Start, "", ""},
		{1, 500_000_000, 1, 2, pypy.C7WriteWrite, a, b},
		{1, 600_000_000, 1, 0, pypy.C7AbortingOther, "", ""},
	}
	want := "\nTotal real time:             0.500s\nTotal CPU time in STM mode:  0.000s (0.0%)\n\n" +
		"0.000s lost in aborts, 0.000s paused (1x STM_CONTENTION_WRITE_WRITE)\n  " + a + "\n  " + b + "\n" +
		"time line: " + strings.Repeat(".", 47) + "x\n\n"
	var stdout bytes.Buffer
	if err := Write(&stdout, io.Discard, bytes.NewReader(c7Log(recs...)), Options{}); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != want {
		t.Errorf("got\n%s\nwant\n%s", stdout.String(), want)
	}
	recs = append(recs, c7Rec{1, 700_000_000, 2, 0, pypy.C7Commit, "", ""})
	stdout.Reset()
	if err := Write(&stdout, io.Discard, bytes.NewReader(c7Log(recs...)), Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "\nTotal real time:             0.700s\n") {
		t.Errorf("with a record after it:\n%s", stdout.String())
	}
}
