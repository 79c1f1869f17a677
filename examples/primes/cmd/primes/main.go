// Command primes runs the primes server with its load generator and prints
// what it did; `stmlog demo primes` runs the same code with recording on.
// Use -fixed for the version without the seed's conflicts, -baseline for the
// plain net/http + sync.Mutex server, and -compare for the table of
// requests per second of all three at 1, 2 and 4 workers (-d each).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/stmlog/stmlog/examples/internal/cli"
	"github.com/stmlog/stmlog/examples/primes"
)

func main() {
	cfg := cli.Flags(primes.DefaultSize)
	compare := flag.Bool("compare", false, "print requests/s of naive, fixed and baseline at 1, 2 and 4 workers")
	flag.Parse()
	if !*compare {
		cli.Run("primes", *cfg, primes.Run)
		return
	}
	_, err := primes.Compare(context.Background(), cfg.Duration, cfg.Size, os.Stdout)
	cli.StopLog("primes")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
