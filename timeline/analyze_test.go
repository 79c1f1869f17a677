package timeline

import (
	"bytes"
	"testing"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat/anylog"
)

// analyzeLog analyzes a log held in memory, to compare the trace's counts
// with analyze's.
func analyzeLog(t testing.TB, name string, log []byte) *analyze.Summary {
	t.Helper()
	src, err := anylog.New(bytes.NewReader(log), name, anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(analyze.Options{})
	if err := a.AddNamed(name, src); err != nil {
		t.Fatal(err)
	}
	return a.Summary()
}
