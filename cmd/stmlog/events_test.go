package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

// logLevel reads a whole log and returns the level its header names.
func logLevel(t *testing.T, path string) logformat.Level {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := logformat.NewReader(f, logformat.ReaderOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for {
		if _, err := r.Next(); err != nil {
			break
		}
	}
	return r.Meta().Level
}

// --events selects the recording level of demo's log and of record's
// child; without it $STMLOG_EVENTS decides; a bad value is a usage error.
func TestEventsFlag(t *testing.T) {
	kept := regexp.MustCompile(`log kept in (\S+)`)
	demo := func(env string, args ...string) logformat.Level {
		t.Helper()
		t.Setenv("STMLOG_EVENTS", env)
		r := runIn(append([]string{"demo", "--keep", "--duration", "50ms", "--workers", "2"}, append(args, "bank")...)...)
		if r.code != 0 {
			t.Fatalf("demo %v: exit %d: %s", args, r.code, r.stderr)
		}
		m := kept.FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("demo %v: no kept log in %q", args, r.stderr)
		}
		defer os.Remove(m[1])
		return logLevel(t, m[1])
	}
	for _, tc := range []struct {
		env  string
		args []string
		want logformat.Level
	}{
		{"", nil, logformat.LevelProfile},
		{"", []string{"--events", "all"}, logformat.LevelFull},
		{"", []string{"--events", "profile"}, logformat.LevelProfile},
		{"all", nil, logformat.LevelFull},
		{"all", []string{"--events", "profile"}, logformat.LevelProfile},
	} {
		if got := demo(tc.env, tc.args...); got != tc.want {
			t.Errorf("demo STMLOG_EVENTS=%q %v: log level %v, want %v", tc.env, tc.args, got, tc.want)
		}
	}
	t.Setenv("STMLOG_EVENTS", "")
	r := runIn("demo", "--events", "some", "bank")
	if r.code != 2 {
		t.Errorf("demo --events some: exit %d, want 2", r.code)
	}
	oneLineErr(t, r, "--events some: want all or profile")

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("STMLOG_TEST_CHILD", "1")
	for _, tc := range []struct {
		events string
		want   logformat.Level
	}{{"all", logformat.LevelFull}, {"profile", logformat.LevelProfile}} {
		out := filepath.Join(dir, "rec-"+tc.events+".log")
		r := runIn("record", "--events", tc.events, "-o", out, "--", exe)
		if r.code != 3 || !strings.Contains(r.stdout, "child done") {
			t.Fatalf("record --events %s: exit %d, want the child's 3\n%s%s", tc.events, r.code, r.stdout, r.stderr)
		}
		if got := logLevel(t, out); got != tc.want {
			t.Errorf("record --events %s: log level %v, want %v", tc.events, got, tc.want)
		}
	}
}
