// Command loggen writes a large native stmlog log made by package
// analyzetest's seeded bank simulation, so that benchmarks and memory checks
// of the reader, the analyzer and the CLI need no long recording:
//
//	go run ./internal/loggen -o /tmp/big.log -events 10M
//	go run ./internal/loggen -o /tmp/1g.log -size 1GB
//
// The simulation writes about 3.3 events per committed transaction and 4.1
// bytes per event; -events and -size are turned into a transaction count
// from those ratios, so the result is close to, not exactly, what was asked
// (the command prints what it wrote). The same flags give the same bytes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	"github.com/stmlog/stmlog/internal/pypygen"
)

// Measured on the simulation's output (10.3 M events, 41.3 MB at 8 threads).
const (
	eventsPerTx    = 3.3
	bytesPerEvent  = 4.1
	defaultThreads = 8
)

func main() {
	out := flag.String("o", "", "output file (required)")
	events := flag.String("events", "", "about this many events: 10M, 1G, a number")
	size := flag.String("size", "", "about this size: 500MB, 1GB, bytes")
	tx := flag.Int("tx", 0, "committed transactions per thread (instead of -events or -size)")
	threads := flag.Int("threads", defaultThreads, "threads")
	seed := flag.Uint64("seed", 42, "simulation seed")
	flag.Parse()
	if err := run(*out, *events, *size, *tx, *threads, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
}

func run(out, events, size string, tx, threads int, seed uint64) error {
	if out == "" || threads <= 0 {
		return fmt.Errorf("usage: loggen -o FILE (-events 10M | -size 1GB | -tx N) [-threads N] [-seed N]")
	}
	var n float64
	switch {
	case tx > 0:
	case events != "":
		v, err := pypygen.ParseSize(events + "B")
		if err != nil {
			return fmt.Errorf("-events %q: %w", events, err)
		}
		n = float64(v)
	case size != "":
		v, err := pypygen.ParseSize(size)
		if err != nil {
			return fmt.Errorf("-size %q: %w", size, err)
		}
		n = float64(v) / bytesPerEvent
	default:
		return fmt.Errorf("one of -events, -size or -tx is required")
	}
	if tx <= 0 {
		tx = max(1, int(n/eventsPerTx/float64(threads)))
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	got, err := analyzetest.Generate(bw, analyzetest.Config{Threads: threads, Tx: tx, Seed: seed})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d events, %d bytes (%d threads, %d transactions each, seed %d)\n", out, got, st.Size(), threads, tx, seed)
	return nil
}
