// Command prodcons runs the producer/consumer workload and prints what it
// did; `stmlog demo prodcons` runs the same code with recording on.
package main

import (
	"github.com/stmlog/stmlog/examples/internal/cli"
	"github.com/stmlog/stmlog/examples/prodcons"
)

func main() { cli.Main("prodcons", prodcons.DefaultSize, prodcons.Run) }
