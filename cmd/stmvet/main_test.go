package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestGoVetExamples runs stmvet the way a user's CI would, as go vet's
// tool, over the examples: it must flag the naive primes server's two
// transaction bodies (the inevitable time.Now() and ETag lines the demo's
// report ranks first) and nothing else, so the fixed server and the other
// workloads stay clean.
func TestGoVetExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds stmvet and vets the examples")
	}
	bin := filepath.Join(t.TempDir(), "stmvet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command("go", "vet", "-vettool="+bin, "./examples/...")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("go vet found nothing in the examples:\n%s", out)
	}
	diag := regexp.MustCompile(`^(?:\./)?(examples/[^:]+):(\d+):\d+: (.*)$`)
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		if m := diag.FindStringSubmatch(line); m != nil {
			got = append(got, m[1]+":"+m[2])
		} else if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("unexpected go vet output: %s", line)
		}
	}
	want := []string{
		"examples/primes/server.go:" + lineOf(t, "../../examples/primes/server.go", "start := func() time.Time { tx.Inevitable()"),
		"examples/primes/server.go:" + lineOf(t, "../../examples/primes/server.go", "etag = func() string { tx.Inevitable()"),
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("go vet -vettool=stmvet ./examples/... flagged\n%s\nwant exactly %v\n(output:\n%s)", strings.Join(got, "\n"), want, out)
	}
}

// lineOf returns the number of the one line of file that contains s.
func lineOf(t *testing.T, file, s string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := ""
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), s) {
			if found != "" {
				t.Fatalf("%s: %q on more than one line", file, s)
			}
			found = strconv.Itoa(n)
		}
	}
	if found == "" {
		t.Fatalf("%s: no line contains %q", file, s)
	}
	return found
}
