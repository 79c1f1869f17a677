package main

// Completion of flag values and demo names. The scripts that `stmlog
// completion SHELL` writes ask the binary itself (cobra's hidden __complete
// command), so the values come from the packages that parse them and cannot
// drift from what the flags accept. They are registered by flag name over
// the whole command tree, once, so a command that gains one of these flags
// completes it without a line of its own.

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/examples"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/report"
)

// groupByNames lists the --by values (ParseGroupBy's names), in their order.
func groupByNames() []string {
	var out []string
	for g := analyze.GroupBy(0); ; g++ {
		s := g.String()
		if strings.HasPrefix(s, "by(") { // past the last grouping
			return out
		}
		out = append(out, s)
	}
}

// diffGroupByNames lists the --by values of diff: thread numbers mean
// nothing across runs.
func diffGroupByNames() []string {
	return removeString(groupByNames(), analyze.ByThread.String())
}

// conflictKindNames lists the --kind values.
func conflictKindNames() []string {
	var out []string
	for k := logformat.ConflictKind(1); k.Valid(); k++ {
		out = append(out, k.String())
	}
	return out
}

// formatNames lists the --format values of a command.
func formatNames(cmd string) []string {
	switch cmd {
	case "diff", "whatif":
		return []string{"text", "json"}
	case "timeline":
		return []string{"json", "html"}
	case "report":
		return append(append([]string(nil), report.Formats...), "pypy")
	}
	return report.Formats // record and demo write native logs: no pypy
}

// flagValues gives, by flag name, the values a command's flag completes to.
var flagValues = map[string]func(cmd *cobra.Command) []string{
	"by": func(cmd *cobra.Command) []string {
		if cmd.Name() == "diff" {
			return diffGroupByNames()
		}
		return groupByNames()
	},
	"kind":     func(*cobra.Command) []string { return conflictKindNames() },
	"format":   func(cmd *cobra.Command) []string { return formatNames(cmd.Name()) },
	"pypy-era": func(*cobra.Command) []string { return []string{"a", "b", "c", "d", "e"} },
	"view": func(*cobra.Command) []string {
		var out []string
		for _, v := range report.PprofViews {
			out = append(out, v.String())
		}
		return out
	},
	"sample": func(*cobra.Command) []string { return report.PprofSampleTypes },
	"events": func(*cobra.Command) []string { return eventsNames },
}

// withPrefix keeps the values that start with what was typed (the shells
// filter too, but not all of them, and not always).
func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

func removeString(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// registerCompletions registers the value completions of every command in
// the tree under root, and the workload names of demo.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, values := range flagValues {
			if c.Flags().Lookup(name) == nil {
				continue
			}
			c.RegisterFlagCompletionFunc(name, func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return withPrefix(values(cmd), toComplete), cobra.ShellCompDirectiveNoFileComp
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if demo, _, err := root.Find([]string{"demo"}); err == nil && demo != root {
		demo.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, w := range examples.All() {
				if !strings.HasPrefix(w.Name, toComplete) {
					continue
				}
				summary, _, _ := strings.Cut(w.Summary, ";")
				out = append(out, cobra.CompletionWithDesc(w.Name, summary))
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
	}
}
