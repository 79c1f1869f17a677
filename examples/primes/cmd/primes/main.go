// Command primes runs the primes server with its load generator and prints
// what it did; `stmlog demo primes` runs the same code with recording on.
// Use -fixed for the version without the seed's conflicts, -baseline for the
// plain net/http + sync.Mutex server.
package main

import (
	"github.com/stmlog/stmlog/examples/internal/cli"
	"github.com/stmlog/stmlog/examples/primes"
)

func main() { cli.Main("primes", primes.DefaultSize, primes.Run) }
