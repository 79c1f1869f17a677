package report

import (
	"encoding/json"
	"io"
	"math"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
)

// JSONSchema is the value of the "schema" field of JSON reports. It changes
// only when a field is removed or changes meaning; new fields may be added
// within a version. See docs/report-json.md.
const JSONSchema = "stmlog.report/v1"

// The JSON types below are the schema: their field names are stable, times
// are integer nanoseconds (suffix _ns), and every field is always present
// (no omitempty), so consumers need no defaults.

type jsonReport struct {
	Schema      string      `json:"schema"`
	Logs        []jsonLog   `json:"logs"`
	Options     jsonOptions `json:"options"`
	StartNs     int64       `json:"start_ns"`
	EndNs       int64       `json:"end_ns"`
	WallNs      int64       `json:"wall_ns"`
	CommittedNs int64       `json:"committed_ns"`
	// Profile-level logs: committed_ns is an estimate, within
	// committed_error_ns at 95 %.
	CommittedEst bool         `json:"committed_estimated,omitempty"`
	CommittedErr int64        `json:"committed_error_ns,omitempty"`
	AbortedNs    int64        `json:"aborted_ns"`
	PausedNs     int64        `json:"paused_ns"`
	GCMinorNs    int64        `json:"gc_minor_ns"`
	GCMajorNs    int64        `json:"gc_major_ns"`
	LostNs       int64        `json:"lost_ns"`
	UnattrAbNs   int64        `json:"unattributed_aborted_ns"`
	UnattrPaNs   int64        `json:"unattributed_paused_ns"`
	Commits      int64        `json:"commits"`
	Aborts       int64        `json:"aborts"`
	Conflicts    int64        `json:"conflicts"`
	TxPerSecond  float64      `json:"tx_per_second"`
	AbortCauses  []jsonCause  `json:"abort_causes"`
	PauseReason  []jsonReason `json:"pause_reasons"`
	Threads      []jsonThread `json:"threads"`
	Timeline     []int64      `json:"timeline"`
	GroupsTotal  int          `json:"groups_total"`
	Groups       []jsonGroup  `json:"groups"`
	Warnings     []string     `json:"warnings"`
}

type jsonLog struct {
	Name           string `json:"name"`
	Format         string `json:"format"`
	Events         int64  `json:"events"`
	Bytes          int64  `json:"bytes"`
	SpanNs         int64  `json:"span_ns"`
	CleanEnd       bool   `json:"clean_end"`
	TruncatedBytes int64  `json:"truncated_bytes"`
	Dropped        int64  `json:"dropped"`
	SkippedChunks  int64  `json:"skipped_chunks"`
	SkippedBytes   int64  `json:"skipped_bytes"`
	// What the log says of its recording (native logs of format version
	// 2), absent when unknown.
	Level          string   `json:"level,omitempty"`
	GOMAXPROCS     int      `json:"gomaxprocs,omitempty"`
	NumCPU         int      `json:"num_cpu,omitempty"`
	AvailableProcs *float64 `json:"available_procs,omitempty"`
}

type jsonOptions struct {
	By     string `json:"by"`
	Kind   string `json:"kind"`
	Thread uint32 `json:"thread"`
	FromNs int64  `json:"from_ns"`
	ToNs   int64  `json:"to_ns"`
	Top    int    `json:"top"`
}

type jsonCause struct {
	Cause  string `json:"cause"`
	Count  int64  `json:"count"`
	TimeNs int64  `json:"time_ns"`
}

type jsonReason struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
	TimeNs int64  `json:"time_ns"`
}

type jsonThread struct {
	Log          int    `json:"log"`
	Thread       uint32 `json:"thread"`
	Commits      int64  `json:"commits"`
	Aborts       int64  `json:"aborts"`
	Conflicts    int64  `json:"conflicts"`
	CommittedNs  int64  `json:"committed_ns"`
	AbortedNs    int64  `json:"aborted_ns"`
	PausedNs     int64  `json:"paused_ns"`
	CommittedEst bool   `json:"committed_estimated,omitempty"`
}

type jsonFrame struct {
	Func string `json:"func"`
	File string `json:"file"`
	Line int    `json:"line"`
}

type jsonSite struct {
	Func   string      `json:"func"`
	File   string      `json:"file"`
	Line   int         `json:"line"`
	Source string      `json:"source"`
	Label  string      `json:"label"`
	Frames []jsonFrame `json:"frames"`
}

type jsonGroup struct {
	Rank         int       `json:"rank"`
	Key          string    `json:"key"`
	Kind         string    `json:"kind"`
	This         *jsonSite `json:"this"`
	Other        *jsonSite `json:"other"`
	Log          int       `json:"log"`
	Thread       uint32    `json:"thread"`
	Var          uint64    `json:"var"`
	VarName      string    `json:"var_name"`
	Count        int64     `json:"count"`
	Aborts       int64     `json:"aborts"`
	LostNs       int64     `json:"lost_ns"`
	AbortedNs    int64     `json:"aborted_ns"`
	PausedNs     int64     `json:"paused_ns"`
	AvgNs        int64     `json:"avg_ns"`
	P90Ns        int64     `json:"p90_ns"`
	MaxNs        int64     `json:"max_ns"`
	FirstNs      int64     `json:"first_ns"`
	LastNs       int64     `json:"last_ns"`
	Threads      []uint32  `json:"threads"`
	OtherThreads []uint32  `json:"other_threads"`
	Timeline     []int64   `json:"timeline"`
	Hint         *jsonHint `json:"hint"` // null when no rule of docs/hints.md applies
	Vet          []vetNote `json:"vet"`  // static checker diagnostics at its sites (--vet)
	// IfRemoved is the what-if prediction (docs/whatif.md); null when the
	// report did not make one for this group.
	IfRemoved *jsonIfRemoved `json:"if_removed"`
}

type jsonIfRemoved struct {
	Speedup      *float64 `json:"speedup"` // null without a replay (profile-level log)
	BoundSpeedup float64  `json:"bound_speedup"`
	WallNs       *int64   `json:"wall_ns"`
}

type jsonHint struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// JSON writes the report as one JSON object (indented, newline-terminated).
func JSON(w io.Writer, s *analyze.Summary, opt Options) error {
	src := newSourceCache(opt)
	r := jsonReport{
		Schema:       JSONSchema,
		Logs:         []jsonLog{},
		StartNs:      int64(s.Start),
		EndNs:        int64(s.End),
		WallNs:       int64(s.Wall),
		CommittedNs:  int64(s.Committed),
		CommittedEst: s.Estimated,
		CommittedErr: int64(s.CommittedErr),
		AbortedNs:    int64(s.Aborted),
		PausedNs:     int64(s.Paused),
		GCMinorNs:    int64(s.GCMinor),
		GCMajorNs:    int64(s.GCMajor),
		LostNs:       int64(s.Lost()),
		UnattrAbNs:   int64(s.UnattributedAborted),
		UnattrPaNs:   int64(s.UnattributedPaused),
		Commits:      s.Commits,
		Aborts:       s.Aborts,
		Conflicts:    s.Conflicts,
		TxPerSecond:  s.TxPerSecond(),
		AbortCauses:  []jsonCause{},
		PauseReason:  []jsonReason{},
		Threads:      []jsonThread{},
		Timeline:     s.Timeline[:],
		GroupsTotal:  len(s.Groups),
		Groups:       []jsonGroup{},
		Warnings:     append([]string{}, s.Warnings...),
	}
	o := s.Options
	r.Options = jsonOptions{By: o.By.String(), Thread: o.Thread, FromNs: int64(o.From), ToNs: int64(o.To), Top: max(opt.Top, 0)}
	if o.Kind != logformat.ConflictNone {
		r.Options.Kind = o.Kind.String()
	}
	for _, l := range s.Logs {
		st := l.Stats
		r.Logs = append(r.Logs, jsonLog{Name: l.Name, Format: l.Format, Events: l.Events, Bytes: st.Bytes,
			SpanNs: int64(l.Span), CleanEnd: st.CleanEnd, TruncatedBytes: st.TruncatedBytes, Dropped: st.Dropped,
			SkippedChunks: st.Skipped, SkippedBytes: st.SkippedBytes,
			GOMAXPROCS: l.Meta.GOMAXPROCS, NumCPU: l.Meta.NumCPU})
		jl := &r.Logs[len(r.Logs)-1]
		if l.Meta.Level != logformat.LevelUnknown {
			jl.Level = l.Meta.Level.String()
		}
		if a := l.Meta.Usage.Available(); a > 0 {
			a = math.Round(a*1000) / 1000
			jl.AvailableProcs = &a
		}
	}
	for _, c := range s.AbortCauses {
		r.AbortCauses = append(r.AbortCauses, jsonCause{c.Cause.String(), c.Count, int64(c.Time)})
	}
	for _, p := range s.PauseReasons {
		r.PauseReason = append(r.PauseReason, jsonReason{p.Reason.String(), p.Count, int64(p.Time)})
	}
	for _, t := range s.Threads {
		r.Threads = append(r.Threads, jsonThread{t.Log, t.ID, t.Commits, t.Aborts, t.Conflicts,
			int64(t.Committed), int64(t.Aborted), int64(t.Paused), t.Estimated})
	}
	hints, _ := groupHints(s, src)
	for i, g := range topGroups(s, opt.Top) {
		jg := jsonGroup{
			Rank: i + 1, Key: g.Key, Log: g.Log, Thread: g.Thread, Var: g.Var, VarName: g.VarName,
			This: jsonSiteOf(g.Site, src), Other: jsonSiteOf(g.OtherSite, src),
			Count: g.Count, Aborts: g.Aborts, LostNs: int64(g.Lost), AbortedNs: int64(g.Aborted),
			PausedNs: int64(g.Paused), AvgNs: int64(g.Avg), P90Ns: int64(g.P90), MaxNs: int64(g.Max),
			FirstNs: int64(g.First), LastNs: int64(g.Last),
			Threads: nonNil(g.Threads), OtherThreads: nonNil(g.OtherThreads), Timeline: g.Timeline[:],
		}
		if g.Kind != logformat.ConflictNone {
			jg.Kind = g.Kind.String()
		}
		jg.Vet = groupVet(&g, opt)
		if p := opt.prediction(i + 1); p != nil {
			b := predictionBase(opt.WhatIf, p)
			jg.IfRemoved = &jsonIfRemoved{b.Speedup, b.BoundSpeedup, b.WallNs}
		}
		if h, ok := hints[g.Key]; ok {
			jg.Hint = &jsonHint{h.ID, h.Text}
		}
		r.Groups = append(r.Groups, jg)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&r)
}

func nonNil(s []uint32) []uint32 {
	if s == nil {
		return []uint32{}
	}
	return s
}

func jsonSiteOf(st *logformat.Stack, src *sourceCache) *jsonSite {
	if st == nil {
		return nil
	}
	js := &jsonSite{Label: st.Label, Frames: []jsonFrame{}}
	for _, f := range st.Frames {
		js.Frames = append(js.Frames, jsonFrame{f.Func, f.File, f.Line})
	}
	if len(st.Frames) > 0 {
		leaf := st.Frames[0]
		js.Func, js.File, js.Line = leaf.Func, leaf.File, leaf.Line
		js.Source = src.site(st)
	}
	return js
}
