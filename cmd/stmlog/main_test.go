package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
	"github.com/stmlog/stmlog/runtime/stm"
)

// TestMain lets the test binary act as a recorded program for `record`:
// with STMLOG_TEST_CHILD set it runs conflicting transactions (recorded
// through STMLOG), stops the log and exits with status 3.
func TestMain(m *testing.M) {
	if os.Getenv("STMLOG_TEST_CHILD") != "" {
		childProgram()
		return
	}
	os.Exit(m.Run())
}

func childProgram() {
	v := stm.NewVar(0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				stm.Atomically(func(tx *stm.Tx) error {
					v.Store(tx, v.Load(tx)+1)
					return nil
				})
			}
		}()
	}
	wg.Wait()
	if err := stm.StopLog(); err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		os.Exit(4)
	}
	os.Stdout.WriteString("child done\n")
	os.Exit(3)
}

// genLog writes a generated native log into dir and returns its path.
func genLog(t *testing.T, dir, name string, cfg analyzetest.Config) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := analyzetest.Generate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

func runIn(args ...string) result {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// oneLineErr checks the error contract: exactly one line on stderr.
func oneLineErr(t *testing.T, r result, wants ...string) {
	t.Helper()
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q lacks %q", r.stderr, w)
		}
	}
	if strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("stack trace on stderr: %q", r.stderr)
	}
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	good := genLog(t, dir, "good.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})
	other := genLog(t, dir, "other.log", analyzetest.Config{Threads: 2, Tx: 100, Seed: 2, Start: 7e9})
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.log")
	os.WriteFile(cut, full[:len(full)*2/3], 0o644)
	damaged := filepath.Join(dir, "damaged.log")
	bad := bytes.Clone(full)
	bad[40] ^= 0xff // inside the first chunk's payload
	os.WriteFile(damaged, bad, 0o644)
	empty := filepath.Join(dir, "empty.log")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, not a log\n"), 0o644)
	pypyFull, err := os.ReadFile(filepath.Join("..", "..", "testdata", "logs", "pypy", "small.c8.log"))
	if err != nil {
		t.Fatal(err)
	}
	pypyCut := filepath.Join(dir, "cut.c8.log")
	os.WriteFile(pypyCut, pypyFull[:1000], 0o644) // 38 records and 9 bytes of the next

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings of stdout
		stderr []string // substrings of the one-line stderr (for errors)
	}{
		{"report text", []string{"report", good}, 0, []string{"stmlog report: " + good, "Top 3 of 3 conflict groups", "lost in aborts"}, nil},
		{"report top N positional", []string{"report", good, "1"}, 0, []string{"Top 1 of 3"}, nil},
		{"report top flag", []string{"report", "--top", "2", good}, 0, []string{"Top 2 of 3"}, nil},
		{"report by site", []string{"report", "--by", "site", good}, 0, []string{"(by this site)"}, nil},
		{"report kind", []string{"report", "--kind", "write-read", good}, 0, []string{"Top 1 of 1", "write-read"}, nil},
		{"report window", []string{"report", "--from", "2ms", "--to", "8ms", good}, 0, []string{"Total real time:       6.000ms", "time 2.000ms to 8.000ms"}, nil},
		{"report markdown", []string{"report", "--format", "markdown", good}, 0, []string{"## stmlog report", "| # |"}, nil},
		{"report csv", []string{"report", "--format", "csv", good}, 0, []string{"rank,kind,lost_ns"}, nil},
		{"report merged", []string{"report", good, other}, 0, []string{"2 logs", "good.log", "other.log"}, nil},
		{"report thread", []string{"report", "--thread", "2", good}, 0, []string{"Only: thread 2"}, nil},
		{"dump", []string{"dump", good}, 0, []string{"thread=1 start", "conflict write-write"}, nil},
		{"check ok", []string{"check", good}, 0, []string{good + ": ok", "1971 events, 3 threads"}, nil},
		{"version", []string{"version"}, 0, []string{"stmlog "}, nil},
		{"completion", []string{"completion", "bash"}, 0, []string{"bash completion"}, nil},

		{"bad flag", []string{"report", "--bogus", good}, 2, nil, []string{"unknown flag: --bogus", "--help"}},
		{"bad by", []string{"report", "--by", "color", good}, 2, nil, []string{"--by"}},
		{"bad kind", []string{"report", "--kind", "read-read", good}, 2, nil, []string{"--kind"}},
		{"bad window", []string{"report", "--from", "5ms", "--to", "1ms", good}, 2, nil, []string{"--from"}},
		{"bad format", []string{"report", "--format", "xml", good}, 2, nil, []string{"--format"}},
		{"no args", []string{"report"}, 2, nil, []string{"requires at least 1 arg"}},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{`unknown command "frobnicate"`}},
		{"pypy with filter", []string{"report", "--format", "pypy", "--kind", "inevitable", good}, 2, nil, []string{"do not apply"}},
		{"pypy with gate", []string{"report", "--format", "pypy", "--fail-over", "lost=5%", good}, 2, nil, []string{"does not apply"}},
		{"pypy format of a native log", []string{"report", "--format", "pypy", good}, 1, nil, []string{"good.log", "not a PyPy-STM log", "use --format text"}},
		{"missing file", []string{"report", filepath.Join(dir, "nope.log")}, 1, nil, []string{"nope.log", "no such file"}},
		{"not a log", []string{"report", text}, 1, nil, []string{"notes.txt", "not an stmlog"}},
		{"damaged", []string{"report", damaged}, 1, nil, []string{"damaged.log", "byte ", "--salvage"}},
		{"damaged dump", []string{"dump", damaged}, 1, nil, []string{"damaged.log", "byte "}},
		{"check damaged", []string{"check", damaged}, 1, []string{"damaged"}, []string{"damaged.log", "byte "}},
		{"check cut", []string{"check", cut}, 1, []string{"cut off"}, []string{"cut.log", "cut off"}},
		{"check cut PyPy log", []string{"check", pypyCut}, 1, []string{"the last 9 bytes are an incomplete record", "format pypy-c8, 1000 bytes, 38 records"},
			[]string{"cut.c8.log", "cut off"}},
		// A 0-byte file is not a log, the same verdict everywhere (see the
		// logformat package doc).
		{"check empty", []string{"check", empty}, 1, nil, []string{"empty.log", "empty file, not a log"}},
		{"report empty", []string{"report", empty}, 1, nil, []string{"empty.log", "empty file, not a log"}},
		{"check several", []string{"check", good, cut}, 1, []string{good + ": ok"}, []string{"1 of 2 logs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if tc.code != 0 {
				oneLineErr(t, r, tc.stderr...)
			}
		})
	}
}

func TestCLIJSONAndMerge(t *testing.T) {
	dir := t.TempDir()
	a := genLog(t, dir, "a.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})
	b := genLog(t, dir, "b.log", analyzetest.Config{Threads: 2, Tx: 100, Seed: 2})
	type rep struct {
		Schema  string `json:"schema"`
		Commits int64  `json:"commits"`
		Conf    int64  `json:"conflicts"`
		Logs    []struct {
			Name string `json:"name"`
		} `json:"logs"`
		Groups []struct {
			Count int64 `json:"count"`
		} `json:"groups"`
	}
	get := func(args ...string) rep {
		t.Helper()
		r := runIn(append([]string{"report", "--format", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var x rep
		if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	ra, rb, rab := get(a), get(b), get(a, b)
	if rab.Schema != "stmlog.report/v1" || len(rab.Logs) != 2 {
		t.Fatalf("merged report: %+v", rab)
	}
	if rab.Commits != ra.Commits+rb.Commits || rab.Conf != ra.Conf+rb.Conf {
		t.Errorf("merged commits %d conflicts %d, want %d and %d", rab.Commits, rab.Conf, ra.Commits+rb.Commits, ra.Conf+rb.Conf)
	}
	// Same sites in both logs: the groups merge instead of doubling.
	if len(rab.Groups) != len(ra.Groups) {
		t.Errorf("merged %d groups, single log %d", len(rab.Groups), len(ra.Groups))
	}
	var sum int64
	for _, g := range rab.Groups {
		sum += g.Count
	}
	if sum != rab.Conf {
		t.Errorf("group counts sum to %d, conflicts %d", sum, rab.Conf)
	}
	// A window keeps fewer conflicts than the whole log.
	if w := get("--from", "2ms", "--to", "4ms", a); w.Conf == 0 || w.Conf >= ra.Conf {
		t.Errorf("window kept %d of %d conflicts", w.Conf, ra.Conf)
	}
}

func TestCLIDumpJSONLines(t *testing.T) {
	dir := t.TempDir()
	p := genLog(t, dir, "a.log", analyzetest.Config{Threads: 2, Tx: 20, Seed: 5})
	r := runIn("dump", "--json", p)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	jr := runIn("report", "--format", "json", p)
	var rep struct {
		Logs []struct {
			Events int64 `json:"events"`
		} `json:"logs"`
	}
	if err := json.Unmarshal([]byte(jr.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if int64(len(lines)) != rep.Logs[0].Events {
		t.Errorf("dump wrote %d lines, the log has %d events", len(lines), rep.Logs[0].Events)
	}
	for i, l := range lines {
		var ev struct {
			Offset *int64  `json:"offset"`
			Time   *int64  `json:"time_ns"`
			Kind   *string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Offset == nil || ev.Time == nil || ev.Kind == nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if *ev.Offset < 10 {
			t.Errorf("line %d: offset %d is inside the file header", i, *ev.Offset)
		}
	}
}

func TestCLIPyPyFormat(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "logs", "pypy")
	log := filepath.Join(root, "small.c8.log")
	want, err := os.ReadFile(filepath.Join("..", "..", "pypyreport", "testdata", "golden", "small.c8.top5.expected"))
	if err != nil {
		t.Fatal(err)
	}
	r := runIn("report", "--format", "pypy", "--source-root", root, log, "5")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != string(want) {
		t.Errorf("--format pypy output differs from print_stm_log.py's:\n%s", r.stdout)
	}
	// The same log through the native analyzer.
	r = runIn("report", log)
	if r.code != 0 || !strings.Contains(r.stdout, "pypy-c8") {
		t.Errorf("text report of a PyPy log: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// "report --format pypy LOG -1" is print_stm_log.py's negative N (every
// conflict but the last), although "-1" looks like a flag; other formats
// refuse a negative N, and "--top -1" still reads -1 as the flag's value.
func TestCLIPyPyNegativeTop(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "logs", "pypy", "conformance")
	log := filepath.Join(dir, "sample3.c8.log")
	want, err := os.ReadFile(filepath.Join(dir, "sample3.c8.top-1.expected"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"report", "--format", "pypy", "--source-root", dir, log, "-1"},
		{"report", "--source-root", dir, "--format", "pypy", log, "--top", "-1"},
		{"report", "--format=pypy", "--source-root", dir, log, "--", "-1"},
	} {
		r := runIn(args...)
		if r.code != 0 || r.stdout != string(want) {
			t.Errorf("%q: exit %d, stderr %q, stdout:\n%s", args, r.code, r.stderr, r.stdout)
		}
	}
	r := runIn("report", log, "-1")
	if r.code != 2 || !strings.Contains(r.stderr, "--top -1: want 0 (all) or more") {
		t.Errorf("text format with -1: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestCLIRecord(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("STMLOG_TEST_CHILD", "1")
	out := filepath.Join(dir, "rec-%p.log")
	r := runIn("record", "-o", out, "--", exe)
	if r.code != 3 {
		t.Fatalf("exit %d, want the child's 3\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "child done") || !strings.Contains(r.stdout, "2,000 transactions") {
		t.Errorf("record output:\n%s", r.stdout)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "rec-*.log"))
	if len(logs) != 1 {
		t.Errorf("logs written: %v", logs)
	}
	// No log written: the temporary directory it made for them goes too.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if r := runIn("record", "--", filepath.Join(dir, "no-such-program")); r.code != 1 {
		t.Errorf("record of a missing program: exit %d, stderr %q", r.code, r.stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "stmlog-record-*")); len(left) != 0 {
		t.Errorf("record of a missing program left %v behind", left)
	}
}

func TestCLIDemo(t *testing.T) {
	r := runIn("demo", "--duration", "100ms", "--workers", "2", "bank")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "stmlog report: ") || !strings.Contains(r.stdout, "transactions") {
		t.Errorf("demo report:\n%s", r.stdout)
	}
	if r := runIn("demo", "nosuch"); r.code != 2 {
		t.Errorf("demo nosuch: exit %d", r.code)
	}
	if r := runIn("demo", "--list"); r.code != 0 || !strings.Contains(r.stdout, "primes") {
		t.Errorf("demo --list: exit %d\n%s", r.code, r.stdout)
	}
}

// TestBinary builds stmlog and checks the exit codes and the one-line
// errors of the real executable.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "stmlog")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	good := genLog(t, dir, "good.log", analyzetest.Config{Threads: 2, Tx: 50, Seed: 9})
	full, _ := os.ReadFile(good)
	full[50] ^= 0x55
	damaged := filepath.Join(dir, "damaged.log")
	os.WriteFile(damaged, full, 0o644)
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"report", good}, 0},
		{[]string{"report", "--nope", good}, 2},
		{[]string{"report", damaged}, 1},
		{[]string{"check", good}, 0},
		{[]string{"check", damaged}, 1},
	}
	for _, tc := range tests {
		c := exec.Command(bin, tc.args...)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errb.String())
		}
		if tc.code != 0 {
			oneLineErr(t, result{code, out.String(), errb.String()})
		}
	}
}

// TestCorruptErrorThroughCommands checks that damage reaches the command's
// error as a *logformat.CorruptError (wrapped with %w all the way), for a
// native and a PyPy-STM log, whatever command reads it.
func TestCorruptErrorThroughCommands(t *testing.T) {
	dir := t.TempDir()
	good := genLog(t, dir, "good.log", analyzetest.Config{Threads: 2, Tx: 50, Seed: 3})
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(full)
	bad[40] ^= 0xff // inside the first chunk's payload
	native := filepath.Join(dir, "damaged.log")
	os.WriteFile(native, bad, 0o644)
	// A c8 record (sec, nsec, thread as uint32s, event, marker length)
	// whose event number is out of range.
	pypyLog := filepath.Join(dir, "bad.c8.log")
	rec := append([]byte("STMGC-C8-PROF01\n"), 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0)
	os.WriteFile(pypyLog, rec, 0o644)
	for _, tc := range []struct {
		path string
		args []string
	}{
		{native, []string{"report"}},
		{native, []string{"check"}},
		{native, []string{"dump"}},
		{native, []string{"pprof", "-o", filepath.Join(dir, "p.pb.gz")}},
		{pypyLog, []string{"report"}},
		{pypyLog, []string{"check"}},
	} {
		root := newRootCmd()
		root.SetArgs(append(tc.args, tc.path))
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		_, err := root.ExecuteC()
		var ce *logformat.CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("%v %s: error %v (%T) is not a *logformat.CorruptError", tc.args, tc.path, err, err)
			continue
		}
		if ce.Name != tc.path || ce.Offset <= 0 || ce.Unwrap() == nil {
			t.Errorf("%v %s: CorruptError %+v, want the file, a byte offset and the cause", tc.args, tc.path, ce)
		}
	}
}

// check says what a log's process-info and processor-usage records tell:
// the level, GOMAXPROCS and the processors the recording had.
func TestCheckRecordingLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.log")
	src := &logtest.Source{
		Events: []logformat.Event{{Thread: 1, Time: 10, Kind: logformat.KindTxStart}, {Thread: 1, Time: 20, Kind: logformat.KindTxCommit}},
		Meta: logformat.Meta{Level: logformat.LevelProfile, GOMAXPROCS: 2, NumCPU: 4,
			Usage: logformat.Usage{Time: 2e9, ProcessCPU: 1e9, Idle: 5e8, CPUs: 4}},
	}
	if err := src.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	r := runIn("check", path)
	want := "\n  recording: profile level, GOMAXPROCS 2 of 4 CPUs, had 0.75 processors (its CPU time plus the machine's idle time over 2.000s)\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("check: exit %d, stdout\n%s\nwant it to hold %q", r.code, r.stdout, want)
	}
}
