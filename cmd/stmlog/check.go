package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"

	"github.com/stmlog/stmlog/logformat/anylog"
)

type checkFlags struct {
	input inputFlags
}

func newCheckCmd() *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check [flags] LOG...",
		Short: "Check a log's integrity (exit 1 if damaged or incomplete)",
		Long: `Read each log to its end and print what it holds: format, bytes, chunks,
events, threads, dropped events, and whether it ends cleanly.

Exit status 1 if any log is damaged (a bad chunk or record: the message names
the byte offset) or incomplete (cut off, or a native log without its end
marker, as after a crash). Dropped events (the recorder's buffers were full)
are reported but are not damage. With --salvage, reading goes on past
damaged chunks to count them all.`,
		Example: `  stmlog check stm.log
  stmlog check --salvage stm-1.log stm-2.log     # count every damaged chunk`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.input.stdin = cmd.InOrStdin()
			return runCheck(cmd.OutOrStdout(), args, f)
		},
	}
	f.input.register(cmd.Flags())
	return cmd
}

func runCheck(stdout io.Writer, paths []string, f *checkFlags) error {
	lo, err := f.input.options()
	if err != nil {
		return err
	}
	if err := checkStdinArgs(paths); err != nil {
		return err
	}
	bad := 0
	var firstErr error
	for _, path := range paths {
		problems, err := checkOne(stdout, path, f.input.stdin, lo)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			bad++
			continue
		}
		if len(problems) > 0 {
			bad++
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %s", logName(path), strings.Join(problems, "; "))
			}
		}
	}
	if bad == 0 {
		return nil
	}
	if len(paths) > 1 {
		return exitStatus{exitError, fmt.Errorf("%d of %d logs damaged or incomplete; first: %w", bad, len(paths), firstErr)}
	}
	return exitStatus{exitError, firstErr}
}

// checkOne prints the integrity summary of one log and returns what is
// wrong with it; a read error is returned as err.
func checkOne(w io.Writer, path string, stdin io.Reader, opt anylog.Options) ([]string, error) {
	src, closer, err := openLog(path, stdin, opt)
	if err != nil { // not even a header to read: say so in the summary too
		fmt.Fprintf(w, "%s: damaged\n  error: %v\n", logName(path), err)
		return nil, err
	}
	defer closer.Close()
	threads := map[uint32]bool{}
	var readErr error
	for {
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		threads[ev.Thread] = true
	}
	st := src.Stats()
	problems := st.Problems(readErr)
	status := "ok"
	if len(problems) > 0 {
		status = strings.Join(problems, "; ")
	}
	fmt.Fprintf(w, "%s: %s\n", logName(path), status)
	fmt.Fprintf(w, "  format %s, %d bytes, %d %ss, %d events, %d threads\n", st.Format, st.Bytes, st.Chunks, st.Unit(), st.Events, len(threads))
	if ms, ok := src.(analyze.MetaSource); ok {
		if line := metaLine(ms.Meta()); line != "" {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if st.Dropped > 0 {
		fmt.Fprintf(w, "  %d events dropped by the recorder (its buffers were full)\n", st.Dropped)
	}
	for _, x := range st.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", x)
	}
	if readErr != nil {
		fmt.Fprintf(w, "  error: %v\n", readErr)
		return problems, readErr
	}
	return problems, nil
}

// metaLine says what a log's process-info and processor-usage records
// tell: the recording level and the processors the recording had; "" when
// the log has neither.
func metaLine(m logformat.Meta) string {
	var parts []string
	if m.Level != logformat.LevelUnknown {
		parts = append(parts, m.Level.String()+" level")
	}
	if m.GOMAXPROCS > 0 {
		parts = append(parts, fmt.Sprintf("GOMAXPROCS %d of %d CPUs", m.GOMAXPROCS, m.NumCPU))
	}
	if a := m.Usage.Available(); a > 0 {
		parts = append(parts, fmt.Sprintf("had %.2f processors (its CPU time plus the machine's idle time over %s)", a, durfmt.Dur(time.Duration(m.Usage.Time))))
	}
	if len(parts) == 0 {
		return ""
	}
	return "recording: " + strings.Join(parts, ", ")
}
