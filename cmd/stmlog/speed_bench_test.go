//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	"github.com/stmlog/stmlog/logformat"
)

// BenchmarkCommands runs each command that reads native logs on the same
// ~10 M-event log (analyze's benchmark log: 8 threads, 390,000
// transactions each, seed 42, ~41 MB), in process, beside decoding the log
// (the floor), each with its process CPU time per event (cpu-ns/event):
//
//	decode, decode-batch   logformat.Reader: Next or NextBatch until EOF
//	decode-jobs2           NextBatch with ReaderOptions.Jobs 2
//	report, pprof, ...     the command line, --jobs 1 and --jobs 2
//
// diff reads the log twice (OLD and NEW), so its figure is per event of
// both. STMLOG_BENCH_LOG names another log.
func BenchmarkCommands(b *testing.B) {
	path, events := commandsLog(b)
	for _, jobs := range []int{1, 2} {
		b.Run(fmt.Sprintf("decode-batch-jobs%d", jobs), func(b *testing.B) {
			benchCPU(b, events, func() { decodeBench(b, path, jobs, true) })
		})
	}
	b.Run("decode-next", func(b *testing.B) {
		benchCPU(b, events, func() { decodeBench(b, path, 1, false) })
	})
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		args []string
		n    int64 // events read per op, in logs
	}{
		{"report", []string{"report", "--no-source", path}, 1},
		{"report-json", []string{"report", "--format", "json", path}, 1},
		{"pprof", []string{"pprof", "-o", filepath.Join(dir, "p.pb.gz"), path}, 1},
		{"timeline", []string{"timeline", "--max-events", "0", path}, 1},
		{"diff", []string{"diff", path, path}, 2},
	} {
		for _, jobs := range []string{"1", "2"} {
			b.Run(c.name+"-jobs"+jobs, func(b *testing.B) {
				args := append([]string{c.args[0], "--jobs", jobs}, c.args[1:]...)
				benchCPU(b, c.n*events, func() {
					if code := run(args, io.Discard, io.Discard); code != exitOK {
						b.Fatalf("%v: exit %d", args, code)
					}
				})
			})
		}
	}
}

func decodeBench(b *testing.B, path string, jobs int, batch bool) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := logformat.NewReader(f, logformat.ReaderOptions{Jobs: jobs})
	if err != nil {
		b.Fatal(err)
	}
	for {
		if batch {
			_, err = r.NextBatch()
		} else {
			_, err = r.Next()
		}
		if err != nil { // errors.Is per event would cost more than Next
			if errors.Is(err, io.EOF) {
				return
			}
			b.Fatal(err)
		}
	}
}

// benchCPU runs op per iteration and reports events/s (wall) and the
// process CPU time per event.
func benchCPU(b *testing.B, events int64, op func()) {
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		op()
		cpu += cpuTime() - c0
	}
	n := float64(events) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu)/n, "cpu-ns/event")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// commandsLog is analyze's benchmark log (the same file name, so either
// package's benchmarks reuse the other's), generated once.
var commandsLog = func() func(b *testing.B) (string, int64) {
	type res struct {
		path   string
		events int64
		err    error
	}
	once := sync.OnceValue(func() res {
		cfg := analyzetest.Config{Threads: 8, Tx: 390_000, Seed: 42}
		path := os.Getenv("STMLOG_BENCH_LOG")
		if path == "" {
			path = filepath.Join(os.TempDir(), fmt.Sprintf("stmlog-bench-%d-%d-%d.log", cfg.Threads, cfg.Tx, cfg.Seed))
		}
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			f, err := os.Create(path + ".tmp")
			if err != nil {
				return res{err: err}
			}
			bw := bufio.NewWriterSize(f, 1<<20)
			_, err = analyzetest.Generate(bw, cfg)
			if err == nil {
				err = bw.Flush()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(path+".tmp", path)
			}
			if err != nil {
				return res{err: err}
			}
		}
		f, err := os.Open(path)
		if err != nil {
			return res{err: err}
		}
		defer f.Close()
		r, err := logformat.NewReader(f, logformat.ReaderOptions{})
		if err != nil {
			return res{err: err}
		}
		for {
			if _, err := r.NextBatch(); err != nil {
				if !errors.Is(err, io.EOF) {
					return res{err: err}
				}
				return res{path: path, events: r.Stats().Events}
			}
		}
	})
	return func(b *testing.B) (string, int64) {
		r := once()
		if r.err != nil {
			b.Fatal(r.err)
		}
		return r.path, r.events
	}
}()
