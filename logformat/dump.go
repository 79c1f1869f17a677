package logformat

// The dump encoding: an event with what its Source knows about it (byte
// offset, sites, Var name, aggregate record), one line of text or one JSON
// object, as `stmlog dump` prints it. It is here, beside the event model,
// so that the names a dump uses are the model's own.

import (
	"fmt"
	"strconv"
)

// DumpEvent is one event as `stmlog dump` prints it. Its JSON form is one
// object with the fields offset, time_ns, thread, kind, and when they apply
// conflict, cause, reason, other_thread, var, var_name, site, other_site
// (sites as "file:line in func") and aggregate.
type DumpEvent struct {
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
	// Aggregate is the record of a KindAggregate event (profile-level
	// logs).
	Aggregate *DumpAggregate `json:"aggregate,omitempty"`
}

// DumpAggregate is an aggregate record's fields (see Aggregate).
type DumpAggregate struct {
	StartNs   int64   `json:"start_ns"`
	Commits   uint64  `json:"commits"`
	Timed     uint64  `json:"timed"`
	TimedNs   int64   `json:"timed_ns"`
	Sampled   uint64  `json:"sampled"`
	SampledNs int64   `json:"sampled_ns"`
	SampledSq float64 `json:"sampled_sq_ns2"`
	Estimated uint64  `json:"estimated_starts"`
	// Retry waits (omitted when there are none).
	RetryWaits     uint64 `json:"retry_waits,omitempty"`
	RetryPausedNs  int64  `json:"retry_paused_ns,omitempty"`
	RetryAbortedNs int64  `json:"retry_aborted_ns,omitempty"`
}

// NewDumpEvent describes ev, the event src returned last.
func NewDumpEvent(src Source, ev Event) DumpEvent {
	d := DumpEvent{Offset: src.Offset(), Time: ev.Time, Thread: ev.Thread, Kind: ev.Kind.String(),
		OtherThread: ev.OtherThread, Var: ev.Var, Site: dumpSite(src, ev.Site), OtherSite: dumpSite(src, ev.OtherSite)}
	switch ev.Kind {
	case KindConflict:
		d.Conflict = ev.Conflict.String()
	case KindTxAbort:
		d.Cause = ev.Cause.String()
	case KindWaitStart, KindWaitDone:
		if ev.Reason != WaitUnknown || ev.Kind == KindWaitStart {
			d.Reason = ev.Reason.String()
		}
	case KindAggregate:
		if as, ok := src.(AggregateSource); ok {
			a := as.Aggregate()
			d.Aggregate = &DumpAggregate{a.Start, a.Commits, a.Timed, a.TimedNs, a.Sampled, a.SampledNs, a.SampledSq, a.Estimated,
				a.RetryWaits, a.RetryPausedNs, a.RetryAbortedNs}
		}
	}
	if ev.Var != 0 {
		d.VarName = src.VarName(ev.Var)
	}
	return d
}

// dumpSite is a site as a dump prints it: the innermost frame, the label of
// a stack without frames, or "#id" for an id the source does not know.
func dumpSite(src Source, id StackID) string {
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

// AppendText appends d's text line, newline included:
//
//	@OFFSET TIME thread=N KIND [details]
func (d *DumpEvent) AppendText(b []byte) []byte {
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
		if a.RetryWaits != 0 || a.RetryPausedNs != 0 || a.RetryAbortedNs != 0 {
			b = fmt.Appendf(b, " retry_waits=%d paused=%dns aborted=%dns", a.RetryWaits, a.RetryPausedNs, a.RetryAbortedNs)
		}
	}
	if d.OtherSite != "" {
		b = append(b, " other_site="...)
		b = strconv.AppendQuote(b, d.OtherSite)
	}
	return append(b, '\n')
}
