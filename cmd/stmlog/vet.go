package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/stmlog/stmlog/stmvet"
)

// vetIndex runs stmvet over the module in dir ("" is the current
// directory) and returns its diagnostics by source line. Lines are matched
// by the file's last two path elements and the line number, so that a log
// recorded in another checkout of the same module (a CI machine, a
// container) still meets its diagnostics.
func vetIndex(dir string) (func(file string, line int) []string, error) {
	if dir == "" {
		dir = "."
	}
	fs, err := stmvet.Check(dir, "./...")
	if err != nil {
		return nil, fmt.Errorf("--vet: %w", err)
	}
	idx := map[string][]string{}
	for _, f := range fs {
		k := vetKey(f.File, f.Line)
		idx[k] = append(idx[k], f.Message)
	}
	return func(file string, line int) []string { return idx[vetKey(file, line)] }, nil
}

func vetKey(file string, line int) string {
	file = filepath.ToSlash(file)
	dir := filepath.Base(filepath.Dir(file))
	return dir + "/" + filepath.Base(file) + ":" + strconv.Itoa(line)
}
