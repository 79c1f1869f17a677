// Command stmlog records, checks and reports software-transactional-memory
// conflict logs: its own (runtime/stm, STMLOG=path) and PyPy-STM's c7/c8
// logs. Run `stmlog help` for the commands.
//
// The command is a thin layer: flags become option structs for packages
// logformat, analyze and report, which do the work. Each subcommand lives in
// its own file with a newXxxCmd constructor listed in root.go.
package main

import (
	"os"
	"runtime/debug"
)

func main() {
	// Collect garbage at half the heap growth of Go's default (unless
	// GOGC says otherwise): what a report keeps is mostly pointer-free (the
	// what-if schedule's segments, decoded event buffers), cheap to collect,
	// and at GOGC=100 the heap's headroom alone took a report of a 1 GB log
	// past 100 MB of RSS (101-113 MB; 79-88 MB at 50, the same CPU time).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	os.Exit(runIO(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
