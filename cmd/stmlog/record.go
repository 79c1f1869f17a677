package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

type recordFlags struct {
	rep    reportFlags
	out    string
	events string
}

func newRecordCmd() *cobra.Command {
	f := &recordFlags{}
	cmd := &cobra.Command{
		Use:   "record [flags] -- CMD [ARGS...]",
		Short: "Run a command with STMLOG set, then report its conflicts",
		Long: `Run CMD with STMLOG set so that every process of it that uses runtime/stm
records its conflicts, wait for it, then print the report of all the logs it
wrote (merged). The exit status is CMD's.

Without -o the logs go to a new temporary directory (stm-%p.log, one per
process: "go test ./..." runs one test binary per package); its path is
printed on stderr. -o FILE records to FILE; put %p in it for one file per
process. Report flags (--top, --by, --format, ...) apply to the report.

Interrupting (Ctrl-C) reaches CMD; stmlog waits for it and still reports.`,
		Example: `  stmlog record -- go test ./...
  stmlog record -o stm.log --top 5 -- ./myprog -flag value
  stmlog record --fail-over lost=5%cpu -- go test -run TestLoad ./server`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() > 0 {
				return usageError{fmt.Errorf("put the command after --: stmlog record [flags] -- CMD ARGS")}
			}
			return runRecord(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f, cmd.Flags().Changed("top"))
		},
	}
	f.rep.register(cmd)
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "record to `FILE` (%p: process id); default: a new temporary directory")
	registerEvents(cmd.Flags(), &f.events)
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func runRecord(stdout, stderr io.Writer, args []string, f *recordFlags, topSet bool) error {
	// Check the report flags before running anything.
	if _, _, err := f.rep.load.options(); err != nil {
		return err
	}
	if f.rep.format == "pypy" {
		return usageError{fmt.Errorf("--format pypy is for PyPy-STM logs; record writes native logs")}
	}
	level, err := eventsLevel(f.events)
	if err != nil {
		return err
	}
	path := f.out
	if path == "" {
		dir, err := os.MkdirTemp("", "stmlog-record-")
		if err != nil {
			return err
		}
		defer os.Remove(dir) // only if no log was written (it is empty)
		path = filepath.Join(dir, "stm-%p.log")
		fmt.Fprintf(stderr, "stmlog record: logs in %s\n", dir)
	}
	start := time.Now()
	code, err := runChild(stdout, stderr, args, path, eventsEnv(level))
	if err != nil {
		return err
	}
	logs, err := writtenLogs(path, start)
	if err == nil && len(logs) == 0 {
		err = fmt.Errorf("no log was written to %s: CMD did not use runtime/stm (or exited before its first transaction)", path)
	}
	if err == nil {
		err = runReport(stdout, stderr, logs, &f.rep, topSet)
	}
	switch {
	case code != 0 && err != nil:
		return exitStatus{code, err}
	case code != 0:
		return exitStatus{code, nil}
	}
	return err
}

// runChild runs args with STMLOG=path and STMLOG_EVENTS=events and returns
// its exit status.
// Interrupts are left to the child (it is in our process group and gets
// them too); stmlog only waits, to report what was recorded.
func runChild(stdout, stderr io.Writer, args []string, path, events string) (int, error) {
	c := exec.Command(args[0], args[1:]...)
	c.Env = append(withoutEnv(withoutEnv(os.Environ(), "STMLOG"), "STMLOG_EVENTS"), "STMLOG="+path, "STMLOG_EVENTS="+events)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, stdout, stderr
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err := c.Start(); err != nil {
		return 0, fmt.Errorf("running %s: %w", args[0], err)
	}
	err := c.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("running %s: %w", args[0], err)
	}
	return 0, nil
}

func withoutEnv(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// writtenLogs lists the logs the child wrote to path (a %p pattern may
// have made several), oldest first; files older than start are not its.
func writtenLogs(path string, start time.Time) ([]string, error) {
	if !strings.Contains(path, "%p") {
		st, err := os.Stat(path)
		if err != nil || st.ModTime().Before(start.Add(-time.Second)) {
			return nil, nil
		}
		return []string{path}, nil
	}
	matches, err := filepath.Glob(strings.ReplaceAll(globEscape(path), "%p", "*"))
	if err != nil {
		return nil, err
	}
	type log struct {
		path string
		mod  time.Time
	}
	var logs []log
	for _, m := range matches {
		st, err := os.Stat(m)
		if err == nil && st.Mode().IsRegular() && !st.ModTime().Before(start.Add(-time.Second)) && st.Size() > 0 {
			logs = append(logs, log{m, st.ModTime()})
		}
	}
	sort.Slice(logs, func(i, j int) bool { return logs[i].mod.Before(logs[j].mod) })
	out := make([]string, len(logs))
	for i, l := range logs {
		out[i] = l.path
	}
	return out, nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}
