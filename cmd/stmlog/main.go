// Command stmlog records, checks and reports software-transactional-memory
// conflict logs: its own (runtime/stm, STMLOG=path) and PyPy-STM's c7/c8
// logs. Run `stmlog help` for the commands.
//
// The command is a thin layer: flags become option structs for packages
// logformat, analyze and report, which do the work. Each subcommand lives in
// its own file with a newXxxCmd constructor listed in root.go.
package main

import "os"

func main() {
	os.Exit(runIO(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
