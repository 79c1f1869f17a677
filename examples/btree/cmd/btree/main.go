// Command btree runs the btree workload and prints what it did;
// `stmlog demo btree` runs the same code with recording on. Use -fixed for
// the tree without the shared header conflict.
package main

import (
	"github.com/stmlog/stmlog/examples/btree"
	"github.com/stmlog/stmlog/examples/internal/cli"
)

func main() { cli.Main("btree", btree.DefaultSize, btree.Run) }
