package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	"github.com/stmlog/stmlog/internal/pypygen"
)

// Every command that reads native logs prints the same with --jobs 1 (the
// reader decodes in the goroutine that reads), --jobs 2 (the setting run on
// two cores, and where --format pypy starts its second goroutine) and
// --jobs 3 (three decoding goroutines, chunks applied in order): report,
// pprof, timeline, diff and dump, on whole logs and on damaged and cut-off
// ones with --salvage; and report --format pypy on a PyPy-STM c8 log, whole,
// damaged and cut off.
func TestJobsSameOutput(t *testing.T) {
	dir := t.TempDir()
	whole := genLog(t, dir, "whole.log", analyzetest.Config{Threads: 4, Tx: 6000, Seed: 3})
	other := genLog(t, dir, "other.log", analyzetest.Config{Threads: 3, Tx: 4000, Seed: 4})
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 4*64<<10 {
		t.Fatalf("log of %d bytes: want several chunks", len(data))
	}
	damaged := bytes.Clone(data)
	for _, at := range []int{len(data) / 5, len(data) / 2, len(data) * 4 / 5} {
		damaged[at] ^= 0x40
	}
	bad := filepath.Join(dir, "damaged.log")
	cut := filepath.Join(dir, "cut.log")
	if err := os.WriteFile(bad, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	type cmd struct {
		args []string
		out  string // a file the command writes, compared too
	}
	var cmds []cmd
	for _, log := range []string{whole, bad, cut} {
		for _, salvage := range [][]string{nil, {"--salvage"}} {
			with := func(args ...string) []string { return append(append(args, salvage...), log) }
			pb := filepath.Join(dir, "out.pb.gz")
			cmds = append(cmds,
				cmd{args: with("report")},
				cmd{args: with("report", "--no-source")},
				cmd{args: with("report", "--format", "json", "--by", "thread")},
				cmd{args: with("report", "--from", "1ms", "--to", "20ms", "--format", "csv")},
				cmd{args: with("pprof", "-o", pb), out: pb},
				cmd{args: with("timeline")},
				cmd{args: with("dump")},
				cmd{args: with("diff", other)},
			)
		}
	}
	// --format pypy analyzes a c8 log file in parts on two goroutines from
	// --jobs 2 on.
	var c8 bytes.Buffer
	if _, err := pypygen.Write(&c8, pypygen.Config{Seed: 2, Threads: 5, Records: 40_000}); err != nil {
		t.Fatal(err)
	}
	c8Damaged := bytes.Clone(c8.Bytes())
	c8Damaged[c8.Len()/2] ^= 0x10
	for i, d := range [][]byte{c8.Bytes(), c8Damaged, c8.Bytes()[:c8.Len()*2/3+5]} {
		log := filepath.Join(dir, fmt.Sprintf("c8-%d.log", i))
		if err := os.WriteFile(log, d, 0o644); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd{args: []string{"report", "--format", "pypy", "--top", "50", log}})
	}
	for _, c := range cmds {
		var want result
		var wantOut []byte
		for _, jobs := range []string{"1", "2", "3"} {
			args := append([]string{c.args[0], "--jobs", jobs}, c.args[1:]...)
			if c.out != "" {
				os.Remove(c.out)
			}
			got := runIn(args...)
			var gotOut []byte
			if c.out != "" {
				gotOut, _ = os.ReadFile(c.out)
			}
			if jobs == "1" {
				want, wantOut = got, gotOut
				if got.code != exitOK && got.stderr == "" {
					t.Fatalf("%v: exit %d with nothing on stderr", args, got.code)
				}
				continue
			}
			if got != want || !bytes.Equal(gotOut, wantOut) {
				t.Errorf("%v: differs from --jobs 1:\n%s", args, diffResults(got, want, gotOut, wantOut))
			}
		}
	}
}

func diffResults(got, want result, gotOut, wantOut []byte) string {
	s := ""
	if got.code != want.code {
		s += fmt.Sprintf("exit %d, want %d\n", got.code, want.code)
	}
	if got.stderr != want.stderr {
		s += fmt.Sprintf("stderr %q\nwant %q\n", got.stderr, want.stderr)
	}
	if got.stdout != want.stdout {
		s += fmt.Sprintf("stdout (%d bytes) differs from the %d bytes wanted\n", len(got.stdout), len(want.stdout))
	}
	if !bytes.Equal(gotOut, wantOut) {
		s += "output file differs\n"
	}
	return s
}
