package analyze_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/report"
)

// BenchmarkSpeed puts the report beside decoding the same ~10 M-event log
// (benchLog) in one run, each with its process CPU time per event
// (cpu-ns/event), the figure that counts on a shared machine:
//
//   - decode: logformat.Reader.Next until EOF, the floor of any Source
//     consumer;
//   - decode-batch: the same with NextBatch (what the analyzer uses);
//   - report: stmlog report --no-source (Reader, Analyzer, text).
func BenchmarkSpeed(b *testing.B) {
	b.Run("decode", func(b *testing.B) {
		benchEvents(b, func(r *logformat.Reader) int64 {
			var n int64
			for {
				_, err := r.Next()
				if err != nil { // errors.Is per event would cost more than Next
					if errors.Is(err, io.EOF) {
						return n
					}
					b.Fatal(err)
				}
				n++
			}
		})
	})
	b.Run("decode-batch", func(b *testing.B) {
		benchEvents(b, func(r *logformat.Reader) int64 {
			var n int64
			for {
				evs, err := r.NextBatch()
				if errors.Is(err, io.EOF) {
					return n
				}
				if err != nil {
					b.Fatal(err)
				}
				n += int64(len(evs))
			}
		})
	})
	b.Run("decode-batch-jobs2", func(b *testing.B) {
		benchJobs = 2
		defer func() { benchJobs = 0 }()
		benchEvents(b, func(r *logformat.Reader) int64 {
			var n int64
			for {
				evs, err := r.NextBatch()
				if errors.Is(err, io.EOF) {
					return n
				}
				if err != nil {
					b.Fatal(err)
				}
				n += int64(len(evs))
			}
		})
	})
	for _, jobs := range []int{1, 2} {
		b.Run(fmt.Sprintf("report-jobs%d", jobs), func(b *testing.B) {
			benchJobs = jobs
			defer func() { benchJobs = 0 }()
			benchEvents(b, reportEvents(b))
		})
	}
	b.Run("report", func(b *testing.B) {
		benchEvents(b, func(r *logformat.Reader) int64 {
			a := analyze.New(analyze.Options{})
			if err := a.Add(r); err != nil {
				b.Fatal(err)
			}
			s := a.Summary()
			if err := report.Text(io.Discard, s, report.Options{Top: 10, NoSource: true}); err != nil {
				b.Fatal(err)
			}
			return s.Logs[0].Events
		})
	})
}

func reportEvents(b *testing.B) func(r *logformat.Reader) int64 {
	return func(r *logformat.Reader) int64 {
		a := analyze.New(analyze.Options{})
		if err := a.Add(r); err != nil {
			b.Fatal(err)
		}
		s := a.Summary()
		if err := report.Text(io.Discard, s, report.Options{Top: 10, NoSource: true}); err != nil {
			b.Fatal(err)
		}
		return s.Logs[0].Events
	}
}

// benchEvents runs read on the benchmark log per op and reports events/s
// and cpu-ns/event.
func benchEvents(b *testing.B, read func(*logformat.Reader) int64) {
	var n int64
	var cpu time.Duration
	for b.Loop() {
		f, r := openBench(b)
		cpu0 := processCPUTime()
		n = read(r)
		cpu += processCPUTime() - cpu0
		f.Close()
	}
	eventsPerSec(b, n)
	if cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu)/float64(n*int64(b.N)), "cpu-ns/event")
	}
}
