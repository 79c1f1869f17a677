package pypyreport

import (
	"bytes"
	"io"
	"testing"

	"github.com/stmlog/stmlog/internal/pypygen/pypybench"
)

// BenchmarkPyPyReport: Write over a 1M-record c8 log, three ways:
// a seekable input (compact timestamps, one pass), a pipe (the same, no
// seeking) and a seekable input forced to the bounded-memory second pass;
// and beside them in the same run "scan", the bare record scan of the
// same log (pypy.Scanner.Next until EOF), which --format pypy is measured
// against, and "scan-batch", the same through NextBatch (the batches
// summarize takes).
func BenchmarkPyPyReport(b *testing.B) {
	data := pypybench.Log()
	b.Run("scan", func(b *testing.B) { pypybench.Scan(b, data, 0) })
	b.Run("scan-batch", func(b *testing.B) { pypybench.Scan(b, data, batchSize) })
	for _, m := range []struct {
		name   string
		budget int
		pipe   bool
		jobs   int
	}{{"file", timestampBudget, false, 1}, {"pipe", timestampBudget, true, 1}, {"two-pass", 0, false, 1}, {"file-jobs2", timestampBudget, false, 2}} {
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := pypybench.CPUSeconds()
			for b.Loop() {
				var r io.Reader = bytes.NewReader(data)
				if m.pipe {
					r = onlyReader{r}
				}
				if err := run(io.Discard, io.Discard, r, Options{Jobs: m.jobs}, m.budget); err != nil {
					b.Fatal(err)
				}
			}
			pypybench.Report(b, pypybench.LogRecords(), cpu0)
		})
	}
}
