// Package pypybench holds what the PyPy benchmarks of logformat/pypy and
// pypyreport share: the 1M-record c8 log they all read, the bare record
// scans --format pypy is measured against, and the records-per-CPU-second
// metric. One copy, so that the scan pypyreport's BenchmarkPyPyReport
// compares with is the scan logformat/pypy's benchmarks measure.
package pypybench

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/stmlog/stmlog/internal/pypygen"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// logRecords is how many records Log should have; pypygen stops within a
// few records of it (LogRecords is the exact count).
const logRecords = 1_000_000

type benchLog struct {
	data    []byte
	records int64
}

var theLog = sync.OnceValue(func() benchLog {
	var b bytes.Buffer
	res, err := pypygen.Write(&b, pypygen.Config{Seed: 1, Threads: 4, Records: logRecords})
	if err != nil {
		panic(err)
	}
	return benchLog{b.Bytes(), res.Records}
})

// Log is the benchmark log: pypygen's c8 simulation of 4 threads, seed 1,
// about a million records, made once per process.
func Log() []byte { return theLog().data }

// LogRecords is the number of records in Log.
func LogRecords() int64 { return theLog().records }

// Report adds records per wall second and per CPU second of the process
// (cpu0 = CPUSeconds() when the timed loop began) to b's results, for n
// records per iteration.
func Report(b *testing.B, n int64, cpu0 float64) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
	if cpu := CPUSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/cpu/1e6, "Mrecords/cpu-s")
	}
}

// Scan is the bare record scan of data: pypy.Scanner.Next to io.EOF when
// batch is 0, else NextBatch with batch records at a time. Any other
// error fails the benchmark.
func Scan(b *testing.B, data []byte, batch int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	recs := make([]pypy.Record, max(batch, 1))
	var n int64
	cpu0 := CPUSeconds()
	for b.Loop() {
		sc, err := pypy.NewScanner(bytes.NewReader(data), "bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		if batch == 0 {
			for err == nil {
				err = sc.Next(&recs[0])
			}
		} else {
			for err == nil {
				_, err = sc.NextBatch(recs)
			}
		}
		if err != io.EOF {
			b.Fatal(err)
		}
		n = sc.Records()
	}
	Report(b, n, cpu0)
}
