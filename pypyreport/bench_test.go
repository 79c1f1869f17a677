package pypyreport

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/stmlog/stmlog/internal/pypygen"
	"github.com/stmlog/stmlog/logformat/pypy"
)

var pypyBenchLog = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if _, err := pypygen.Write(&b, pypygen.Config{Seed: 1, Threads: 4, Records: 1_000_000}); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// BenchmarkPyPyReport: Write over a 1M-record c8 log, three ways:
// a seekable input (compact timestamps, one pass), a pipe (the same, no
// seeking) and a seekable input forced to the bounded-memory second pass;
// and beside them in the same run "scan", the bare record scan of the
// same log (pypy.Scanner.Next until EOF), which --format pypy is measured
// against, and "scan-batch", the same through NextBatch.
func BenchmarkPyPyReport(b *testing.B) {
	data := pypyBenchLog()
	const records = 1_000_000 // pypygen stops within a few records of it
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		cpu0 := pypyCPUSeconds()
		for b.Loop() {
			sc, err := pypy.NewScanner(bytes.NewReader(data), "bench", 0)
			if err != nil {
				b.Fatal(err)
			}
			var rec pypy.Record
			for {
				if err := sc.Next(&rec); err != nil {
					if err != io.EOF {
						b.Fatal(err)
					}
					break
				}
			}
		}
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
		if cpu := pypyCPUSeconds() - cpu0; cpu > 0 {
			b.ReportMetric(float64(records)*float64(b.N)/cpu/1e6, "Mrecords/cpu-s")
		}
	})
	// The same scan a batch at a time (pypy.Scanner.NextBatch, the
	// batches summarize takes).
	b.Run("scan-batch", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		recs := make([]pypy.Record, batchSize)
		cpu0 := pypyCPUSeconds()
		for b.Loop() {
			sc, err := pypy.NewScanner(bytes.NewReader(data), "bench", 0)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := sc.NextBatch(recs); err != nil {
					if err != io.EOF {
						b.Fatal(err)
					}
					break
				}
			}
		}
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
		if cpu := pypyCPUSeconds() - cpu0; cpu > 0 {
			b.ReportMetric(float64(records)*float64(b.N)/cpu/1e6, "Mrecords/cpu-s")
		}
	})
	for _, m := range []struct {
		name   string
		budget int
		pipe   bool
	}{{"file", timestampBudget, false}, {"pipe", timestampBudget, true}, {"two-pass", 0, false}} {
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := pypyCPUSeconds()
			for b.Loop() {
				var r io.Reader = bytes.NewReader(data)
				if m.pipe {
					r = onlyReader{r}
				}
				if err := run(io.Discard, io.Discard, r, Options{}, m.budget); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
			if cpu := pypyCPUSeconds() - cpu0; cpu > 0 {
				b.ReportMetric(float64(records)*float64(b.N)/cpu/1e6, "Mrecords/cpu-s")
			}
		})
	}
}
