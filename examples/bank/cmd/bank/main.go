// Command bank runs the bank workload and prints what it did;
// `stmlog demo bank` runs the same code with recording on.
package main

import (
	"github.com/stmlog/stmlog/examples/bank"
	"github.com/stmlog/stmlog/examples/internal/cli"
)

func main() { cli.Main("bank", bank.DefaultSize, bank.Run) }
