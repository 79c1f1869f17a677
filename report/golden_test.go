package report

import (
	"path/filepath"
	"testing"

	"github.com/stmlog/stmlog/internal/golden"
)

// checkGolden compares got with testdata/name, or rewrites it under -update
// (internal/golden).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}
