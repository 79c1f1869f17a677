// Command astar runs the A* game workload and prints what it did;
// `stmlog demo astar` runs the same code with recording on.
package main

import (
	"github.com/stmlog/stmlog/examples/astar"
	"github.com/stmlog/stmlog/examples/internal/cli"
)

func main() { cli.Main("astar", astar.DefaultSize, astar.Run) }
