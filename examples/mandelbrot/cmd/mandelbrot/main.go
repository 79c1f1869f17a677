// Command mandelbrot runs the mandelbrot workload and prints what it did;
// `stmlog demo mandelbrot` runs the same code with recording on.
package main

import (
	"github.com/stmlog/stmlog/examples/internal/cli"
	"github.com/stmlog/stmlog/examples/mandelbrot"
)

func main() { cli.Main("mandelbrot", mandelbrot.DefaultSize, mandelbrot.Run) }
