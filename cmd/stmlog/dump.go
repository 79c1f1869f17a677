package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/logformat"
)

type dumpFlags struct {
	json  bool
	input inputFlags
}

func newDumpCmd() *cobra.Command {
	f := &dumpFlags{}
	cmd := &cobra.Command{
		Use:   "dump [flags] LOG",
		Short: "Print a log's events, one per line, with byte offsets",
		Long: `Print every event of a log, one per line, in the order the log holds them
(per-thread batches: times are ordered within a thread, not across threads).

Text lines read:
  @OFFSET TIME thread=N KIND [details]
where OFFSET is the byte offset of the chunk (native) or record (PyPy) that
holds the event and TIME is nanoseconds on the log's own clock.

--json writes one JSON object per line with the fields offset, time_ns,
thread, kind, and when they apply conflict, cause, reason, other_thread,
var, var_name, site, other_site (sites as "file:line in func").`,
		Example: `  stmlog dump stm.log | less
  stmlog dump --json stm.log | jq -c 'select(.kind == "conflict")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.input.stdin = cmd.InOrStdin()
			return runDump(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "write JSON lines")
	f.input.register(fl)
	return cmd
}

func runDump(stdout, stderr io.Writer, path string, f *dumpFlags) error {
	lo, err := f.input.options()
	if err != nil {
		return err
	}
	src, closer, err := openLog(path, f.input.stdin, lo)
	if err != nil {
		return err
	}
	defer closer.Close()
	bw := bufio.NewWriterSize(stdout, 64<<10)
	enc := json.NewEncoder(bw)
	var line []byte
	for {
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bw.Flush()
			return inputError(err, lo.Salvage)
		}
		d := logformat.NewDumpEvent(src, ev)
		if f.json {
			if err := enc.Encode(&d); err != nil {
				return err
			}
			continue
		}
		line = d.AppendText(line[:0])
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	for _, w := range src.Stats().Warnings {
		fmt.Fprintf(stderr, "stmlog dump: warning: %s\n", w)
	}
	return nil
}
