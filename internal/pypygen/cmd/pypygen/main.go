// Command pypygen writes a synthesized PyPy-STM log (see package pypygen),
// for benchmarks on logs too big to commit:
//
//	go run ./internal/pypygen/cmd/pypygen -o /tmp/big.c8.log -size 500MB
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/stmlog/stmlog/internal/pypygen"
	"github.com/stmlog/stmlog/logformat/pypy"
)

func main() {
	out := flag.String("o", "", "output file (required)")
	size := flag.String("size", "", "stop at about this size: 500MB, 2GB, bytes")
	records := flag.Int64("records", 0, "stop at this many records")
	format := flag.String("format", "c8", "c8 or c7")
	seed := flag.Uint64("seed", 1, "simulation seed")
	threads := flag.Int("threads", 4, "threads")
	flag.Parse()
	if err := run(*out, *size, *records, *format, *seed, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "pypygen:", err)
		os.Exit(1)
	}
}

func run(out, size string, records int64, format string, seed uint64, threads int) error {
	cfg := pypygen.Config{Seed: seed, Threads: threads, Records: records}
	switch format {
	case "c8":
		cfg.Format = pypy.C8
	case "c7":
		cfg.Format = pypy.C7
	default:
		return fmt.Errorf("-format %q: want c8 or c7", format)
	}
	if size != "" {
		n, err := pypygen.ParseSize(size)
		if err != nil {
			return err
		}
		cfg.Bytes = n
	}
	if out == "" || cfg.Bytes == 0 && cfg.Records == 0 {
		return fmt.Errorf("usage: pypygen -o FILE (-size 500MB | -records N) [-format c8|c7] [-seed N] [-threads N]")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	res, err := pypygen.Write(f, cfg)
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d records, %d bytes\n", out, res.Records, res.Bytes)
	return nil
}
