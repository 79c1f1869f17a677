package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

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
		{[]string{"report", "--fail-over", "lost=50%,aborted=1h", bad}, exitOK, []string{"gate lost=50%: ok", "gate aborted=1h0m0s: ok"}},
		{[]string{"report", "--format", "json", "--fail-over", "paused=0s,aborted=1us", bad}, exitError, []string{"gate paused=0s: ok", "gate aborted=1µs: FAILED"}},
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
