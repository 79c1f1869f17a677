//go:build tools

// Package tools pins the project's named dependencies in go.mod before every
// package that uses them has landed, so parallel work does not race on go.sum.
package tools

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/google/pprof/driver"
	_ "github.com/google/pprof/profile"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/term"
)
