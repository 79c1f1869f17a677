package stmvet_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/stmvet"
)

// TestCheckPrimes runs Check, the loader cmd/stmlog's --vet uses, on the
// primes server: the naive handler's two Inevitable lines and nothing in the
// fixed one.
func TestCheckPrimes(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks examples/primes and its dependencies")
	}
	fs, err := stmvet.Check("..", "./examples/primes")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		if !filepath.IsAbs(f.File) {
			t.Errorf("%v: file not absolute", f)
		}
		got = append(got, filepath.Base(f.File)+": "+f.Message)
	}
	if len(fs) != 2 || !strings.Contains(got[0], "only to read the clock (time.Now") || !strings.Contains(got[1], "no side effect after it") {
		t.Errorf("Check(examples/primes) = %q, want the clock and the ETag Inevitable", got)
	}
	if _, err := stmvet.Check("..", "./no/such/package"); err == nil {
		t.Error("Check of a missing package: no error")
	}
}
