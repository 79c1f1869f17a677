package analyze_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/analyze/analyzetest"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
	"github.com/stmlog/stmlog/report"
)

// benchCfg yields about 10 million events (3.3 per committed transaction).
var benchCfg = analyzetest.Config{Threads: 8, Tx: 390_000, Seed: 42}

// benchLog generates the benchmark log once into the temporary directory
// (kept between runs: STMLOG_BENCH_LOG names it, for measuring the CLI's
// memory on the same file) and returns its path and event count.
//
// STMLOG_BENCH_TX overrides the transactions per thread, to check that
// memory does not grow with the log.
var benchLog = sync.OnceValues(func() (string, error) {
	if n, err := strconv.Atoi(os.Getenv("STMLOG_BENCH_TX")); err == nil && n > 0 {
		benchCfg.Tx = n
	}
	path := os.Getenv("STMLOG_BENCH_LOG")
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("stmlog-bench-%d-%d-%d.log", benchCfg.Threads, benchCfg.Tx, benchCfg.Seed))
	}
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path, nil
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := analyzetest.Generate(bw, benchCfg); err != nil {
		f.Close()
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(path+".tmp", path)
})

// benchJobs is the ReaderOptions.Jobs of openBench.
var benchJobs int

func openBench(b *testing.B) (*os.File, *logformat.Reader) {
	path, err := benchLog()
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	r, err := logformat.NewReader(f, logformat.ReaderOptions{Name: path, Jobs: benchJobs})
	if err != nil {
		b.Fatal(err)
	}
	return f, r
}

func eventsPerSec(b *testing.B, events int64) {
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReport measures the end-to-end report on a 10M-event log
// (read + analyze + render text), against two baselines in the same run:
// reading alone (the floor), and the two-pass alternative to the streamed
// timelines (a first pass for the time range, then the analysis).
func BenchmarkReport(b *testing.B) {
	b.Run("read-only", func(b *testing.B) {
		var n int64
		for b.Loop() {
			f, r := openBench(b)
			n = 0
			for {
				_, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			f.Close()
		}
		eventsPerSec(b, n)
	})
	b.Run("stream", func(b *testing.B) {
		var n int64
		for b.Loop() {
			f, r := openBench(b)
			a := analyze.New(analyze.Options{})
			if err := a.Add(r); err != nil {
				b.Fatal(err)
			}
			s := a.Summary()
			if err := report.Text(io.Discard, s, report.Options{Top: 10, NoSource: true}); err != nil {
				b.Fatal(err)
			}
			n = s.Logs[0].Events
			f.Close()
		}
		eventsPerSec(b, n)
	})
	b.Run("two-pass", func(b *testing.B) {
		var n int64
		for b.Loop() {
			// Pass 1: the time range (what exact timelines would need).
			f, r := openBench(b)
			var lo, hi int64
			for {
				ev, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				lo, hi = min(lo, ev.Time), max(hi, ev.Time)
			}
			f.Close()
			// Pass 2: the analysis.
			f, r = openBench(b)
			a := analyze.New(analyze.Options{})
			if err := a.Add(r); err != nil {
				b.Fatal(err)
			}
			s := a.Summary()
			if err := report.Text(io.Discard, s, report.Options{Top: 10, NoSource: true}); err != nil {
				b.Fatal(err)
			}
			n = s.Logs[0].Events
			f.Close()
			_ = hi - lo
		}
		eventsPerSec(b, n)
	})
}

// BenchmarkAnalyzeOnly measures the analyzer alone on 1M in-memory events.
func BenchmarkAnalyzeOnly(b *testing.B) {
	path, err := benchLog()
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := logformat.NewReader(f, logformat.ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// In memory: the analyzer's own cost, without decoding.
	m := &logtest.Source{Stacks: map[logformat.StackID]*logformat.Stack{}, Vars: map[uint64]string{}, Stat: logtest.Native}
	for len(m.Events) < 1_000_000 {
		ev, err := r.Next()
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range []logformat.StackID{ev.Site, ev.OtherSite} {
			if id != 0 {
				m.Stacks[id] = r.Stack(id)
			}
		}
		if ev.Var != 0 {
			m.Vars[ev.Var] = r.VarName(ev.Var)
		}
		m.Events = append(m.Events, ev)
	}
	b.ResetTimer()
	for b.Loop() {
		m.Rewind()
		a := analyze.New(analyze.Options{})
		if err := a.Add(m); err != nil {
			b.Fatal(err)
		}
		a.Summary()
	}
	eventsPerSec(b, int64(len(m.Events)))
}
