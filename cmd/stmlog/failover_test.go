package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/logformat/logtest"
)

// emptyLog writes dir/empty.stmlog, a header and an end marker: the
// recording of a program that ran no transaction.
func emptyLog(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "empty.stmlog")
	if err := (&logtest.Source{}).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportFailOver(t *testing.T) {
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.stmlog"), filepath.Join(dir, "good.stmlog")
	writeTestLog(t, bad, 10, true, 7) // thread 1 aborts every first attempt
	writeTestLog(t, good, 10, false, 7)
	for _, tc := range []struct {
		args   []string
		code   int
		stderr []string
	}{
		{[]string{"report", "--fail-over", "lost=5%", bad}, exitError, []string{
			"gate lost=5%: FAILED", "in 10x write-read", "this:  app/x.go:7 in main.read", "other: app/x.go:99 in main.write",
			"stmlog report: --fail-over lost=5%: exceeded"}},
		{[]string{"report", "--fail-over", "lost=5%", good}, exitOK, []string{"gate lost=5%: ok"}},
		{[]string{"report", "--fail-over", "lost=50%,aborted=1h", bad}, exitOK, []string{"gate lost=50%: ok", "gate aborted=1h: ok"}},
		{[]string{"report", "--format", "json", "--fail-over", "paused=0s,aborted=1us", bad}, exitError, []string{"gate paused=0s: ok", "gate aborted=1us: FAILED"}},
		// The base of a percentage: CPU time unless the limit says wall.
		{[]string{"report", "--fail-over", "lost=30%cpu", bad}, exitError, []string{"gate lost=30%cpu: FAILED: lost 6.000µs = 31.6% of 19.000µs CPU time in transactions",
			"6.000µs lost (31.6% cpu) in 10x write-read"}},
		{[]string{"report", "--fail-over", "lost=32%wall", bad}, exitOK, []string{"gate lost=32%wall: ok: lost 6.000µs = 31.6% of 19.001µs wall time"}},
		{[]string{"report", "--fail-over", "lost=31%wall", bad}, exitError, []string{"gate lost=31%wall: FAILED", "6.000µs lost (31.6% wall) in 10x write-read"}},
		{[]string{"report", "--fail-over", "lost=5%real", bad}, exitUsage, []string{"unknown percentage base"}},
		{[]string{"report", "--fail-over", "lost=5", bad}, exitUsage, []string{"neither a percentage"}},
		{[]string{"report", "--fail-over", "speed=5%", bad}, exitUsage, []string{"unknown metric"}},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\nstderr: %s", tc.args, code, tc.code, stderr.String())
		}
		for _, want := range tc.stderr {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, want, stderr.String())
			}
		}
		if strings.Contains(stdout.String(), "gate ") {
			t.Errorf("%v: gate verdict on stdout (belongs on stderr)", tc.args)
		}
		if tc.code != exitUsage && stdout.Len() == 0 {
			t.Errorf("%v: no report on stdout", tc.args)
		}
	}
}

// A gate over nothing is an error, not a pass: one line, exit 1, saying
// what left nothing to check.
func TestFailOverOnNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.stmlog")
	writeTestLog(t, bad, 10, true, 7) // threads 1 and 2, 20µs
	empty := emptyLog(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--fail-over", "lost=5%", empty}, "--fail-over lost=5%: nothing to check: the log holds no events (a header only: the program recorded nothing)"},
		{[]string{"report", "--fail-over", "lost=5%", "--from", "1ms", bad}, "--fail-over lost=5%: nothing to check: no transactions from 1.000ms to the end after the start (the log spans"},
		{[]string{"report", "--fail-over", "aborted=1s", "--thread", "9", bad}, "--fail-over aborted=1s: nothing to check: thread 9 is not in the log"},
		{[]string{"report", "--fail-over", "lost=5%", bad, empty, "--thread", "3"}, "thread 3 is not in the logs"},
	} {
		r := runIn(tc.args...)
		if r.code != exitError {
			t.Errorf("%v: exit %d, want %d\nstderr: %s", tc.args, r.code, exitError, r.stderr)
			continue
		}
		oneLineErr(t, r, tc.want)
		if strings.Contains(r.stderr, "gate ") {
			t.Errorf("%v: a verdict printed for nothing: %s", tc.args, r.stderr)
		}
	}
}
