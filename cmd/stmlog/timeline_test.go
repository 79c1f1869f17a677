package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
)

// writeTestLog writes a small native log: threads 1 and 2 each run
// `rounds` transactions; with conflicts, each of thread 1's first attempts
// aborts on a write-read conflict with thread 2 at site line `line`.
func writeTestLog(t *testing.T, path string, rounds int, conflicts bool, line int) {
	t.Helper()
	const rd, wr = 1, 2
	src := &logtest.Source{Stacks: map[logformat.StackID]*logformat.Stack{
		rd: logtest.Stack(logtest.Frame("main.read", "app/x.go", line)),
		wr: logtest.Stack(logtest.Frame("main.write", "app/x.go", 99)),
	}}
	for th := uint32(1); th <= 2; th++ {
		tm := int64(th) // thread 1 first
		for range rounds {
			src.Events = append(src.Events, logtest.Start(tm, th))
			if conflicts && th == 1 {
				src.Events = append(src.Events,
					logtest.Conflict(tm+500, th, logformat.ConflictWriteRead, rd, wr, 2, 0),
					logtest.Abort(tm+600, th, logformat.AbortConflict),
					logtest.Start(tm+700, th))
			}
			src.Events = append(src.Events, logtest.Commit(tm+1000, th))
			tm += 2000
		}
	}
	if err := src.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// runCmd runs one command, made by newCmd, without the root (so without
// its exit codes and one-line errors: runIn has those), and returns what it
// wrote and its error.
func runCmd(t *testing.T, newCmd func() *cobra.Command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := newCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return o.String(), e.String(), err
}

type cmdTrace struct {
	TraceEvents []struct {
		Ph   string `json:"ph"`
		Name string `json:"name"`
		Tid  int    `json:"tid"`
	} `json:"traceEvents"`
	OtherData struct {
		Capped bool `json:"capped"`
	} `json:"otherData"`
}

func (c cmdTrace) count(ph, name string, tid int) int {
	n := 0
	for _, e := range c.TraceEvents {
		if e.Ph == ph && (name == "" || e.Name == name) && (tid == 0 || e.Tid == tid) {
			n++
		}
	}
	return n
}

func noSlices(t *testing.T, tr cmdTrace) {
	if n := tr.count("X", "", 0); n != 0 {
		t.Errorf("trace has %d slices, want none", n)
	}
}

func TestTimelineCommand(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.stmlog")
	writeTestLog(t, log, 10, true, 7)
	out := filepath.Join(dir, "trace.json")
	pypy := filepath.Join("..", "..", "testdata", "logs", "pypy", "conformance", "sample3.c8.log")

	for _, tc := range []struct {
		name    string
		args    []string
		stderr  string
		check   func(t *testing.T, tr cmdTrace)
		toFile  bool
		usage   bool
		errText string
	}{
		{name: "whole log to a file", args: []string{log, "-o", out}, toFile: true,
			stderr: "wrote " + out + ": 2 threads, 20 commits, 10 aborts",
			check: func(t *testing.T, tr cmdTrace) {
				if tr.count("M", "thread_name", 0) != 2 || tr.count("X", "commit", 1) != 10 || tr.count("X", "abort", 1) != 10 ||
					tr.count("i", "conflict write-read", 1) != 10 || tr.count("s", "", 2) != 10 || tr.count("f", "", 1) != 10 {
					t.Errorf("unexpected trace: %+v", tr)
				}
			}},
		{name: "one thread to stdout", args: []string{log, "--thread", "2"},
			check: func(t *testing.T, tr cmdTrace) {
				if tr.count("X", "", 1) != 0 || tr.count("X", "commit", 2) != 10 || tr.count("s", "", 0) != 0 {
					t.Errorf("thread filter: %+v", tr)
				}
			}},
		{name: "window", args: []string{log, "--from", "4us", "--to", "7us", "--thread", "2"},
			check: func(t *testing.T, tr cmdTrace) {
				// Thread 2's attempts run [2+2000k, 1002+2000k]: k=2 and k=3 overlap [4001, 7001].
				if n := tr.count("X", "commit", 2); n != 2 {
					t.Errorf("window kept %d attempts, want 2", n)
				}
			}},
		{name: "cap", args: []string{log, "--max-events", "5"}, stderr: "warning: trace stopped after 5 events",
			check: func(t *testing.T, tr cmdTrace) {
				if len(tr.TraceEvents) != 5 || !tr.OtherData.Capped {
					t.Errorf("capped trace has %d events, capped=%v", len(tr.TraceEvents), tr.OtherData.Capped)
				}
			}},
		{name: "PyPy c8 log", args: []string{pypy},
			check: func(t *testing.T, tr cmdTrace) {
				if tr.count("M", "thread_name", 0) < 2 || tr.count("X", "", 0) < 100 {
					t.Errorf("PyPy trace: %d threads, %d slices", tr.count("M", "thread_name", 0), tr.count("X", "", 0))
				}
			}},
		{name: "window after the end", args: []string{log, "--from", "1s"},
			stderr: "warning: " + log + ": nothing in the trace: no events in the window or threads selected (the log has 70 events)",
			check:  noSlices},
		{name: "no such thread", args: []string{log, "--thread", "9"}, stderr: "nothing in the trace", check: noSlices},
		{name: "bad window", args: []string{log, "--from", "2s", "--to", "1s"}, usage: true, errText: "--from 2s --to 1s: want 0 <= from < to"},
		{name: "thread 0", args: []string{log, "--thread", "0"}, usage: true, errText: "numbered from 1"},
		{name: "bad era", args: []string{log, "--pypy-era", "z"}, usage: true, errText: "--pypy-era"},
		{name: "missing file", args: []string{filepath.Join(dir, "nope")}, errText: "nope"},
		{name: "not a log", args: []string{out}, errText: "not an stmlog or PyPy-STM log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runCmd(t, newTimelineCmd, tc.args...)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) || isUsage(err) != tc.usage {
					t.Fatalf("err = %v (usage %v), want %q (usage %v)", err, isUsage(err), tc.errText, tc.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
			data := []byte(stdout)
			if tc.toFile {
				if stdout != "" {
					t.Errorf("stdout not empty with -o: %q", stdout)
				}
				if data, err = os.ReadFile(out); err != nil {
					t.Fatal(err)
				}
			}
			var tr cmdTrace
			if err := json.Unmarshal(data, &tr); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			tc.check(t, tr)
		})
	}
}

// Through the real entry point: exit codes; a damaged log leaves no trace
// file (not even a temporary one) unless --salvage skips the damage.
func TestTimelineExitCodes(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.stmlog")
	writeTestLog(t, log, 200, true, 7)
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "damaged.stmlog")
	bad := append([]byte(nil), data...)
	bad[len(bad)-40] ^= 0xff // inside the last batch: its checksum fails
	if err := os.WriteFile(damaged, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "t.json")
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"timeline", log, "-o", out}, exitOK, "wrote " + out},
		{[]string{"timeline", "--thread", "0", log}, exitUsage, "numbered from 1"},
		{[]string{"timeline", log, log}, exitUsage, "accepts 1 arg"},
		{[]string{"timeline", damaged, "-o", out}, exitError, "damaged.stmlog"},
		{[]string{"timeline", "--salvage", damaged, "-o", out}, exitOK, "wrote " + out},
		{[]string{"timeline", "--salvage", damaged, "-o", out}, exitOK, "salvage: skipped 1 damaged chunks ("},
		{[]string{"diff", log, damaged}, exitError, "damaged.stmlog"},
		{[]string{"diff", log}, exitUsage, "diff compares two logs, OLD and NEW"},
	} {
		os.Remove(out)
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.stderr)
		}
		if tc.code == exitError && strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
			t.Errorf("%v: error is not one line: %q", tc.args, stderr.String())
		}
		if tc.args[0] == "timeline" && tc.code == exitError {
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%v: a trace was written for a damaged log (stat: %v)", tc.args, err)
			}
			if tmp, _ := filepath.Glob(filepath.Join(dir, ".t.json.*")); len(tmp) > 0 {
				t.Errorf("%v: temporary files left behind: %v", tc.args, tmp)
			}
		}
		if tc.args[0] == "timeline" && tc.code == exitOK {
			var tr cmdTrace
			b, _ := os.ReadFile(out)
			if err := json.Unmarshal(b, &tr); err != nil || tr.count("X", "", 0) == 0 {
				t.Errorf("%v: trace file not complete JSON with slices: %v", tc.args, err)
			}
		}
	}
}

// Logs cut inside their header (native) or magic (PyPy) are errors in
// every command: exit 1, one line saying so, and no trace, not "No
// conflicts." for a file whose writer died at its first bytes. A damaged
// log sends nothing to standard output either.
func TestDamagedInputExits1(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.stmlog")
	writeTestLog(t, log, 20, true, 7)
	native, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	c8, err := os.ReadFile(filepath.Join("..", "..", "testdata", "logs", "pypy", "small.c8.log"))
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), native...)
	bad[len(bad)-40] ^= 0xff
	files := map[string][]byte{
		"cut5.stmlog":  native[:5],
		"cut10.c8.log": c8[:10],
		"bad.stmlog":   bad,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const noChunk = "log truncated before the first chunk"
	const cutMagic = "PyPy-STM log cut off inside its 16-byte header (10 bytes)"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "cut5.stmlog"}, noChunk + " (cut inside its 10-byte header: 5 bytes)"},
		{[]string{"report", "--salvage", "cut5.stmlog"}, noChunk},
		{[]string{"timeline", "cut5.stmlog"}, noChunk},
		{[]string{"check", "cut5.stmlog"}, noChunk},
		{[]string{"report", "cut10.c8.log"}, cutMagic},
		{[]string{"report", "--format", "pypy", "cut10.c8.log"}, cutMagic},
		{[]string{"timeline", "cut10.c8.log"}, cutMagic},
		{[]string{"timeline", "bad.stmlog"}, "bad.stmlog"},
	} {
		for i := 1; i < len(tc.args); i++ {
			if strings.HasSuffix(tc.args[i], "log") {
				tc.args[i] = filepath.Join(dir, tc.args[i])
			}
		}
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		last := lines[len(lines)-1]
		if code != exitError || !strings.Contains(last, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", tc.args, code, stderr.String(), tc.want)
		}
		if tc.args[0] != "check" && stdout.Len() > 0 {
			t.Errorf("%v: wrote to stdout:\n%s", tc.args, stdout.String())
		}
	}
}

// A complete header and nothing else is what a program that exits without
// stm.StopLog before its first flush leaves: a log without events, reported
// with the reader's warning, not an error.
func TestHeaderOnlyLogReports(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.stmlog")
	writeTestLog(t, log, 1, false, 7)
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	head := filepath.Join(dir, "head.stmlog")
	if err := os.WriteFile(head, data[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", head}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "no end marker") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and the no-end-marker warning", code, stdout.String(), stderr.String())
	}
}

// A profile-level log times out only its contended transactions: the
// timeline says so in one line, and shows what the log has.
func TestTimelineProfileLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "p.stmlog")
	src := &logtest.Source{
		Meta: logformat.Meta{Level: logformat.LevelProfile, GOMAXPROCS: 2, NumCPU: 2},
		Events: []logformat.Event{
			logtest.Start(10, 1), logtest.Abort(20, 1, logformat.AbortRetry),
			logtest.Start(30, 1), logtest.Commit(40, 1),
		},
		Aggregates: []logformat.Aggregate{{Thread: 1, Start: 0, End: 100, Commits: 50}},
	}
	if err := src.WriteFile(log); err != nil {
		t.Fatal(err)
	}
	r := runIn("timeline", log, "-o", filepath.Join(dir, "t.json"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, "profile-level") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "STMLOG_EVENTS=all") || !strings.Contains(r.stderr, "1 commits") {
		t.Fatalf("stderr %q: want one line saying what a profile-level log lacks, and the one logged commit", r.stderr)
	}
	// dump shows the aggregate record, report counts it, check passes.
	if r := runIn("dump", log); r.code != 0 || !strings.Contains(r.stdout, "thread=1 aggregate from=0 commits=50 timed=0/0ns sampled=0/0ns") {
		t.Errorf("dump: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runIn("report", log); r.code != 0 || !strings.Contains(r.stdout, "51 transactions") || !strings.Contains(r.stdout, "unknown: none was sampled") {
		t.Errorf("report: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runIn("check", log); r.code != 0 {
		t.Errorf("check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
