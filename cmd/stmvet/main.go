// Command stmvet checks runtime/stm transaction bodies (package stmvet says
// what it reports and why).
//
//	stmvet ./...
//	go vet -vettool=$(which stmvet) ./...
//
// It takes the flags of every go/analysis single checker (-fix applies the
// suggested fixes, -json prints the diagnostics as JSON).
package main

import (
	"github.com/stmlog/stmlog/stmvet"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() { singlechecker.Main(stmvet.Analyzer) }
