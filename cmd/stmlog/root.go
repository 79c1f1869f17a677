package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// commands are the subcommand constructors. To add a command, write a file
// with its constructor and add one line here.
var commands = []func() *cobra.Command{
	newReportCmd,
	newPprofCmd,
	newWebCmd,
	newTimelineCmd,
	newDiffCmd,
	newWhatIfCmd,
	newDumpCmd,
	newCheckCmd,
	newRecordCmd,
	newDemoCmd,
	newVersionCmd,
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // bad input, I/O failure, failed check
	exitUsage = 2 // bad flags or arguments
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "stmlog",
		Short: "Find where a transactional program loses time to conflicts",
		Long: `stmlog reads the conflict logs that runtime/stm writes (STMLOG=path) and
PyPy-STM's c7/c8 logs (PYPYSTM=path), and reports where time was lost in
aborted transactions and pauses, ranked by source location, with both sides
of each conflict.

  STMLOG=stm.log ./myprog       record
  stmlog report stm.log         ranked conflicts with source lines
  stmlog record -- go test ./... record and report in one step
  stmlog demo                   a built-in workload, recorded and reported

A LOG of - is standard input (zcat stm.log.gz | stmlog report -), in every
command that reads logs.

Exit status: 0 ok, 1 error (bad or damaged input, failed check), 2 usage.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Reject stray arguments as a usage error (cobra's own check would
		// not say which kind of error it is).
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	for _, c := range commands {
		root.AddCommand(c())
	}
	registerCompletions(root)
	markUsageErrors(root)
	return root
}

// addCompletionCmd adds cobra's completion command, which cobra would add
// at Execute, now, to give it examples. Call it after SetOut: the command
// keeps the writer it finds.
func addCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Example = `  source <(stmlog completion bash)               # this shell; put it in ~/.bashrc to keep it
  stmlog completion zsh > "${fpath[1]}/_stmlog"
  stmlog completion fish > ~/.config/fish/completions/stmlog.fish`
		markUsageErrors(c)
	}
}

// markUsageErrors makes flag and argument errors of every command usage
// errors (exit 2), whatever validator produced them.
func markUsageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		markUsageErrors(c)
	}
}

// run executes the command line with an empty standard input (what "-"
// reads) and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runIO(args, strings.NewReader(""), stdout, stderr)
}

// runIO executes the command line and returns the exit status. Errors are
// printed to stderr as one line; usage errors add where to find help.
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	root := newRootCmd()
	root.SetArgs(negativeTopArg(root, args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(stdin)
	addCompletionCmd(root)
	defer func() {
		// A bug must not print a stack trace at the user: one line, exit 1.
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "stmlog: internal error: %s\n", oneLine(fmt.Sprint(p)))
			code = exitError
		}
	}()
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ex exitStatus
	if errors.As(err, &ex) {
		if msg := ex.Error(); msg != "" {
			fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), oneLine(msg))
		}
		return ex.code
	}
	if isUsage(err) {
		fmt.Fprintf(stderr, "%s: %s (see '%s --help')\n", cmd.CommandPath(), oneLine(err.Error()), cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), oneLine(err.Error()))
	return exitError
}

// usageError marks errors that are the invocation's fault (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitStatus ends the command with a given status and an optional error to
// print (record forwards its child's exit status; check exits 1 on damage
// after printing its own summary). It wraps err, so that errors.As finds a
// *logformat.CorruptError behind a failed check as behind a failed report.
type exitStatus struct {
	code int
	err  error // nil: exit silently
}

func (e exitStatus) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e exitStatus) Unwrap() error { return e.err }

// isUsage reports whether err, or an error it wraps, is a usage error.
func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
