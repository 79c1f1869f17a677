package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiffCommand(t *testing.T) {
	dir := t.TempDir()
	oldLog, newLog := filepath.Join(dir, "old.stmlog"), filepath.Join(dir, "new.stmlog")
	writeTestLog(t, oldLog, 10, true, 7)  // 10 conflicts at x.go:7
	writeTestLog(t, newLog, 10, false, 7) // none
	moved := filepath.Join(dir, "moved.stmlog")
	writeTestLog(t, moved, 10, true, 8) // the conflict moved to line 8

	out, _, err := runCmd(t, newDiffCmd, oldLog, newLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"old: " + oldLog, "new: " + newLog, "aborts                 10            0",
		"conflict groups by change in lost time (1 of 1)", "-100.0%", "write-read [gone]",
		"this:  app/x.go:7 in main.read", "other: app/x.go:99 in main.write"} {
		if !strings.Contains(out, want) {
			t.Errorf("text diff lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runCmd(t, newDiffCmd, "--format", "json", oldLog, moved)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Schema string
		Groups []struct {
			Status  string
			DeltaNs int64 `json:"delta_ns"`
		}
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Same lost time, different line: one group gone, one new, by content.
	if d.Schema != "stmlog.diff/v1" || len(d.Groups) != 2 || d.Groups[0].DeltaNs != -d.Groups[1].DeltaNs ||
		d.Groups[0].Status == d.Groups[1].Status {
		t.Errorf("json diff = %s", out)
	}

	// A log against itself: nothing changed.
	out, _, err = runCmd(t, newDiffCmd, "--top", "0", oldLog, oldLog)
	if err != nil || !strings.Contains(out, "lost % cpu") || strings.Contains(out, "[new]") || strings.Contains(out, "[gone]") {
		t.Errorf("self diff: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"--format", "xml", oldLog, newLog}, "--format", true},
		{[]string{"--by", "thread", oldLog, newLog}, "cannot be compared", true},
		{[]string{"--by", "nope", oldLog, newLog}, "--by", true},
		{[]string{"--kind", "nope", oldLog, newLog}, "--kind", true},
		{[]string{"--top", "-1", oldLog, newLog}, "--top", true},
		{[]string{oldLog, filepath.Join(dir, "missing")}, "missing", false},
	} {
		_, _, err := runCmd(t, newDiffCmd, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || isUsage(err) != tc.usage {
			t.Errorf("%v: err = %v, want %q (usage %v)", tc.args, err, tc.want, tc.usage)
		}
	}
}

// diff with one log says what it needs (a usage error, exit 2).
func TestDiffOneArgument(t *testing.T) {
	r := runIn("diff", "before.log")
	if r.code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", r.code, exitUsage, r.stderr)
	}
	oneLineErr(t, r, "diff compares two logs, OLD and NEW", "got 1")
}
