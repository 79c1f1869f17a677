// Command prodcons runs the producer/consumer workload and prints what it
// did; `stmlog demo prodcons` runs the same code with recording on.
package main

import (
	"flag"

	"github.com/stmlog/stmlog/examples/internal/cli"
	"github.com/stmlog/stmlog/examples/prodcons"
)

func main() {
	flag.IntVar(&prodcons.FixedBatch, "batch", prodcons.Batch, "items per transaction in the -fixed version (1: a buffer per pair and nothing else)")
	cli.Main("prodcons", prodcons.DefaultSize, prodcons.Run)
}
