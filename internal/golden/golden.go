// Package golden is the golden-file check of the module's tests: one
// -update flag (`go test ./PKG -update` rewrites that package's golden
// files; review the diff by eye before committing them) and one Check.
// A package's tests import it instead of registering a flag and writing a
// helper of their own.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Update is the -update flag.
var Update = flag.Bool("update", false, "rewrite the golden files (then review the diff by eye)")

// Check compares got with the file at path, or under -update writes got
// there (creating its directory).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run '%s' -update creates it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what %s made (go test -update rewrites it):\n%s", path, t.Name(), Diff(got, want))
	}
}

// Diff describes how got differs from want: the lines that differ, for
// text (at most 40 of them), or the sizes and the first differing byte.
func Diff(got, want []byte) string {
	if !text(got) || !text(want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		return fmt.Sprintf("got %d bytes, want %d; they differ from byte %d", len(got), len(want), i)
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl == wl {
			continue
		}
		if n++; n > 40 {
			b.WriteString("...\n")
			break
		}
		fmt.Fprintf(&b, "line %d:\n  got:  %s\n  want: %s\n", i+1, gl, wl)
	}
	return b.String()
}

func text(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }
