package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

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

type dumpEvent struct {
	Offset      int64  `json:"offset"`
	Time        int64  `json:"time_ns"`
	Thread      uint32 `json:"thread"`
	Kind        string `json:"kind"`
	Conflict    string `json:"conflict,omitempty"`
	Cause       string `json:"cause,omitempty"`
	Reason      string `json:"reason,omitempty"`
	OtherThread uint32 `json:"other_thread,omitempty"`
	Var         uint64 `json:"var,omitempty"`
	VarName     string `json:"var_name,omitempty"`
	Site        string `json:"site,omitempty"`
	OtherSite   string `json:"other_site,omitempty"`
	// Aggregate records (profile-level logs): the record's fields.
	Aggregate *dumpAggregate `json:"aggregate,omitempty"`
}

type dumpAggregate struct {
	StartNs   int64   `json:"start_ns"`
	Commits   uint64  `json:"commits"`
	Timed     uint64  `json:"timed"`
	TimedNs   int64   `json:"timed_ns"`
	Sampled   uint64  `json:"sampled"`
	SampledNs int64   `json:"sampled_ns"`
	SampledSq float64 `json:"sampled_sq_ns2"`
	Estimated uint64  `json:"estimated_starts"`
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
	site := func(id logformat.StackID) string {
		if id == 0 {
			return ""
		}
		st := src.Stack(id)
		if st == nil {
			return "#" + strconv.FormatUint(uint64(id), 10)
		}
		if len(st.Frames) == 0 {
			return st.Label
		}
		return st.Frames[0].String()
	}
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
		d := dumpEvent{Offset: src.Offset(), Time: ev.Time, Thread: ev.Thread, Kind: ev.Kind.String(),
			OtherThread: ev.OtherThread, Var: ev.Var, Site: site(ev.Site), OtherSite: site(ev.OtherSite)}
		switch ev.Kind {
		case logformat.KindConflict:
			d.Conflict = ev.Conflict.String()
		case logformat.KindTxAbort:
			d.Cause = ev.Cause.String()
		case logformat.KindWaitStart, logformat.KindWaitDone:
			if ev.Reason != logformat.WaitUnknown || ev.Kind == logformat.KindWaitStart {
				d.Reason = ev.Reason.String()
			}
		case logformat.KindAggregate:
			if as, ok := src.(logformat.AggregateSource); ok {
				a := as.Aggregate()
				d.Aggregate = &dumpAggregate{a.Start, a.Commits, a.Timed, a.TimedNs, a.Sampled, a.SampledNs, a.SampledSq, a.Estimated}
			}
		}
		if ev.Var != 0 {
			d.VarName = src.VarName(ev.Var)
		}
		if f.json {
			if err := enc.Encode(&d); err != nil {
				return err
			}
			continue
		}
		line = appendDumpText(line[:0], &d)
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

func appendDumpText(b []byte, d *dumpEvent) []byte {
	b = append(b, '@')
	b = strconv.AppendInt(b, d.Offset, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, d.Time, 10)
	b = append(b, " thread="...)
	b = strconv.AppendUint(b, uint64(d.Thread), 10)
	b = append(b, ' ')
	b = append(b, d.Kind...)
	for _, kv := range [...]struct{ k, v string }{
		{"", d.Conflict}, {"cause=", d.Cause}, {"reason=", d.Reason},
	} {
		if kv.v != "" {
			b = append(b, ' ')
			b = append(b, kv.k...)
			b = append(b, kv.v...)
		}
	}
	if d.OtherThread != 0 {
		b = append(b, " other_thread="...)
		b = strconv.AppendUint(b, uint64(d.OtherThread), 10)
	}
	if d.Var != 0 {
		b = append(b, " var="...)
		b = strconv.AppendUint(b, d.Var, 10)
		if d.VarName != "" {
			b = append(b, '(')
			b = append(b, d.VarName...)
			b = append(b, ')')
		}
	}
	if d.Site != "" {
		b = append(b, " site="...)
		b = strconv.AppendQuote(b, d.Site)
	}
	if a := d.Aggregate; a != nil {
		b = fmt.Appendf(b, " from=%d commits=%d timed=%d/%dns sampled=%d/%dns sq=%g estimated_starts=%d",
			a.StartNs, a.Commits, a.Timed, a.TimedNs, a.Sampled, a.SampledNs, a.SampledSq, a.Estimated)
	}
	if d.OtherSite != "" {
		b = append(b, " other_site="...)
		b = strconv.AppendQuote(b, d.OtherSite)
	}
	return append(b, '\n')
}
