package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/internal/golden"
)

// checkGolden compares got with testdata/name, or rewrites it under -update
// (internal/golden).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got))
}

// exampleCommands returns the stmlog command lines of an Example: the parts
// of each line, between pipes and &&, that run stmlog, without comments,
// redirections or the process substitution around them.
func exampleCommands(example string) [][]string {
	var out [][]string
	for _, line := range strings.Split(example, "\n") {
		line, _, _ = strings.Cut(line, " #")
		for _, part := range strings.FieldsFunc(strings.ReplaceAll(line, "&&", "|"), func(r rune) bool { return r == '|' }) {
			part = strings.TrimPrefix(strings.TrimSpace(part), "source <(")
			part = strings.TrimSuffix(part, ")")
			fields := strings.Fields(part)
			if len(fields) == 0 || fields[0] != "stmlog" {
				continue
			}
			if i := indexOf(fields, ">"); i >= 0 {
				fields = fields[:i]
			}
			out = append(out, fields[1:])
		}
	}
	return out
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// Every command has examples, and each example is a command line that
// command accepts: its flags exist and parse, its arguments pass the
// command's checks.
func TestExamples(t *testing.T) {
	top := newRootCmd()
	addCompletionCmd(top)
	for _, c := range top.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		lines := exampleCommands(c.Example)
		if len(lines) == 0 {
			t.Errorf("%s: no examples running stmlog in its help", c.Name())
			continue
		}
		for _, args := range lines {
			// A fresh tree per line: parsing sets the flags.
			root := newRootCmd()
			addCompletionCmd(root)
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == root || (cmd.Name() != c.Name() && cmd.Parent().Name() != c.Name()) {
				t.Errorf("%s example %q: finds command %q (%v)", c.Name(), args, cmd.Name(), err)
				continue
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("%s example %q: %v", c.Name(), args, err)
				continue
			}
			if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
				t.Errorf("%s example %q: arguments: %v", c.Name(), args, err)
			}
		}
	}
}

// Flag values and demo names complete, as the completion scripts ask for
// them (cobra's __complete): the golden file lists what each query offers.
func TestCompletion(t *testing.T) {
	queries := [][]string{
		{"report", "--by", ""},
		{"report", "--kind", ""},
		{"report", "--format", ""},
		{"report", "--format", "m"},
		{"report", "--pypy-era", ""},
		{"diff", "--by", ""},
		{"diff", "--format", ""},
		{"timeline", "--format", ""},
		{"whatif", "--format", ""},
		{"demo", "--format", ""},
		{"demo", ""},
		{"demo", "b", ""},
		{"demo", "b"},
		{"demo", "bank", ""},
		{"record", "--by", ""},
		{"demo", "--events", ""},
		{"record", "--events", ""},
		{"pprof", "--view", ""},
		{"pprof", "--sample", ""},
		{"web", "--kind", ""},
	}
	var b strings.Builder
	for _, q := range queries {
		r := runIn(append([]string{cobra.ShellCompRequestCmd}, q...)...)
		if r.code != 0 {
			t.Fatalf("__complete %q: exit %d: %s", q, r.code, r.stderr)
		}
		b.WriteString("$ stmlog __complete " + strings.Join(q, " ") + "\n" + r.stdout)
	}
	checkGolden(t, "complete.golden", b.String())
}

// demo --help lists the flags that apply to a demo, not those for reading
// other people's logs (--salvage, --pypy-era) or --format pypy.
func TestDemoHelp(t *testing.T) {
	r := runIn("demo", "--help")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, absent := range []string{"--salvage", "--pypy-era", "pypy"} {
		if strings.Contains(r.stdout, absent) {
			t.Errorf("demo --help mentions %s", absent)
		}
	}
	checkGolden(t, "demo-help.golden", r.stdout)
}

// Every --format value a command completes to is one the command takes
// (the completion lists and the commands' checks are written apart).
func TestCompletedFormatsAccepted(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.stmlog")
	writeTestLog(t, log, 5, true, 7)
	for _, c := range []struct {
		name string
		args []string // the format value is appended after --format
	}{
		{"report", []string{"report", log}},
		{"diff", []string{"diff", log, log}},
		{"timeline", []string{"timeline", "-o", filepath.Join(dir, "t.out"), log}},
		{"whatif", []string{"whatif", log}},
	} {
		for _, f := range formatNames(c.name) {
			if f == "pypy" {
				continue // for PyPy-STM logs only, tested with them
			}
			args := append([]string{c.args[0], "--format", f}, c.args[1:]...)
			if r := runIn(args...); r.code != exitOK {
				t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
			}
		}
	}
}
