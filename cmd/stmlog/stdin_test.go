package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze/analyzetest"
)

func runStdin(stdin []byte, args ...string) result {
	var out, errb bytes.Buffer
	code := runIO(args, bytes.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// "-" reads the log from standard input in every command that reads logs,
// with the same output as from the file, the log named "stdin".
func TestStdinLog(t *testing.T) {
	dir := t.TempDir()
	native := genLog(t, dir, "a.log", analyzetest.Config{Threads: 3, Tx: 100, Seed: 1})
	nativeData, err := os.ReadFile(native)
	if err != nil {
		t.Fatal(err)
	}
	pypyLog := filepath.Join("..", "..", "testdata", "logs", "pypy", "small.c8.log")
	pypyData, err := os.ReadFile(pypyLog)
	if err != nil {
		t.Fatal(err)
	}
	other := genLog(t, dir, "b.log", analyzetest.Config{Threads: 2, Tx: 80, Seed: 2})
	for _, tc := range []struct {
		name string
		data []byte
		file string
		args []string // "LOG" stands for the log
	}{
		{"report", nativeData, native, []string{"report", "LOG"}},
		{"report json", nativeData, native, []string{"report", "--format", "json", "LOG"}},
		{"report merged", nativeData, native, []string{"report", other, "LOG"}},
		{"report pypy", pypyData, pypyLog, []string{"report", "--format", "pypy", "LOG"}},
		{"report of a PyPy log", pypyData, pypyLog, []string{"report", "LOG"}},
		{"dump", nativeData, native, []string{"dump", "LOG"}},
		{"check", nativeData, native, []string{"check", "LOG"}},
		{"timeline", nativeData, native, []string{"timeline", "LOG"}},
		{"pprof", nativeData, native, []string{"pprof", "LOG"}},
		{"diff new", nativeData, native, []string{"diff", other, "LOG"}},
		{"diff old", nativeData, native, []string{"diff", "LOG", other}},
		{"whatif", nativeData, native, []string{"whatif", "LOG"}},
		{"whatif json", nativeData, native, []string{"whatif", "--format", "json", "LOG"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			with := func(log string) []string {
				a := make([]string, len(tc.args))
				for i, x := range tc.args {
					a[i] = strings.ReplaceAll(x, "LOG", log)
				}
				return a
			}
			fromFile := runIn(with(tc.file)...)
			fromStdin := runStdin(tc.data, with("-")...)
			if fromFile.code != 0 || fromStdin.code != 0 {
				t.Fatalf("exit %d from the file, %d from stdin: %s%s", fromFile.code, fromStdin.code, fromFile.stderr, fromStdin.stderr)
			}
			if fromStdin.stdout == "" {
				t.Fatal("no output from stdin")
			}
			got, want := fromStdin.stdout, fromFile.stdout
			if tc.args[0] == "pprof" { // gzipped protobuf: compare the profiles' text
				got, want = profileText(t, got), profileText(t, want)
			}
			if want = strings.ReplaceAll(want, tc.file, stdinName); got != want {
				t.Errorf("from stdin:\n%s\nwant (the file's output, named stdin):\n%s", fromStdin.stdout, want)
			}
		})
	}

	// Twice "-" cannot work: standard input is read once.
	for _, args := range [][]string{{"report", "-", "-"}, {"diff", "-", "-"}, {"check", "-", "-"}} {
		r := runStdin(nativeData, args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, r.code, exitUsage)
		}
		oneLineErr(t, r, `"-" (standard input) is given 2 times`)
	}
	// Empty and damaged input on stdin: the usual one-line errors.
	r := runStdin(nil, "report", "-")
	if r.code != exitError {
		t.Errorf("empty stdin: exit %d", r.code)
	}
	oneLineErr(t, r, "stdin: empty file, not a log")
	bad := bytes.Clone(nativeData)
	bad[40] ^= 0xff
	r = runStdin(bad, "check", "-")
	if r.code != exitError || !strings.Contains(r.stdout, "stdin: damaged") {
		t.Errorf("damaged stdin: exit %d, stdout %q", r.code, r.stdout)
	}
	oneLineErr(t, r, "stdin: byte ")
}

func profileText(t *testing.T, data string) string {
	t.Helper()
	p, err := profile.Parse(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p.TimeNanos = 0
	return p.String()
}

// web reads a timeline page's log again for every window, so it copies
// standard input to a temporary file first.
func TestSpoolStdin(t *testing.T) {
	paths, cleanup, err := spoolStdin([]string{"a.log", "-"}, strings.NewReader("log bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || paths[0] != "a.log" || paths[1] == "-" {
		t.Fatalf("paths %q", paths)
	}
	if b, err := os.ReadFile(paths[1]); err != nil || string(b) != "log bytes" {
		t.Errorf("spooled file: %q, %v", b, err)
	}
	cleanup()
	if _, err := os.Stat(paths[1]); !os.IsNotExist(err) {
		t.Errorf("spooled file not removed: %v", err)
	}
	if p, _, err := spoolStdin([]string{"a.log"}, nil); err != nil || len(p) != 1 || p[0] != "a.log" {
		t.Errorf("no stdin: %q, %v", p, err)
	}
}
