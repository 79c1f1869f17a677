package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/tw"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"
)

// WhatIfSchema is the value of the "schema" field of `stmlog whatif
// --format json`; see docs/whatif.md.
const WhatIfSchema = "stmlog.whatif/v1"

// WriteWhatIf renders a what-if prediction for the summary it was made
// from, as "text" or "json".
func WriteWhatIf(w io.Writer, format string, s *analyze.Summary, wi *analyze.WhatIf) error {
	switch format {
	case "text", "":
		return whatIfText(w, s, wi)
	case "json":
		return whatIfJSON(w, s, wi)
	}
	return fmt.Errorf("unknown what-if format %q (want text or json)", format)
}

// fmtSpeedup is "1.83x".
func fmtSpeedup(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) + "x" }

// fmtChange is the relative change of b from a: "-28.3%".
func fmtChange(a, b float64) string {
	if a <= 0 {
		return "?"
	}
	c := 100 * (b - a) / a
	s := strconv.FormatFloat(c, 'f', 1, 64)
	if c >= 0 && !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	if s == "+0.0" || s == "-0.0" {
		s = "0.0"
	}
	return s + "%"
}

func procsText(wi *analyze.WhatIf, s *analyze.Summary) string {
	var parts []string
	for _, p := range wi.Procs {
		t := procsNumber(p.Procs) + " processors"
		if p.Procs == 1 {
			t = "1 processor"
		}
		had := ""
		if p.HadFewer() && !p.Measured {
			had = ", of which it had " + procsNumber(p.Available)
		}
		switch {
		case p.Measured && p.Assumed:
			t += fmt.Sprintf(" (what the recording had: its CPU time plus the machine's idle time; the log does not record GOMAXPROCS, and has %d threads)", p.Recorded)
		case p.Measured:
			t += fmt.Sprintf(" (what the recording had: its CPU time plus the machine's idle time; GOMAXPROCS %d, other processes used the rest)", p.Recorded)
		case p.Procs != float64(p.Recorded) && p.Assumed:
			t += fmt.Sprintf(" (--procs; the log does not record GOMAXPROCS, and has %d threads)", p.Recorded)
		case p.Procs != float64(p.Recorded):
			t += fmt.Sprintf(" (--procs; the recording had GOMAXPROCS %d%s)", p.Recorded, had)
		case p.Assumed:
			t += " (assumed: the number of threads seen; the log does not record GOMAXPROCS)"
		default:
			t += " (GOMAXPROCS of the recording" + had + ")"
		}
		if len(wi.Procs) > 1 {
			t = s.Logs[p.Log].Name + ": " + t
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "; ")
}

// procsNumber prints a number of processors: whole, or to a tenth.
func procsNumber(p float64) string {
	if p == math.Trunc(p) {
		return strconv.Itoa(int(p))
	}
	return strconv.FormatFloat(p, 'f', 1, 64)
}

func whatIfText(w io.Writer, s *analyze.Summary, wi *analyze.WhatIf) error {
	bw := bufio.NewWriter(w)
	u := durfmt.UnitFor(s.Wall)
	logsHeading(bw, "stmlog whatif", "each replayed on its own processors", s.Logs)
	fmt.Fprintf(bw, "\n")
	switch {
	case wi.Replayed && wi.Part > 0:
		fmt.Fprintf(bw, "Replayed on %s: the first %s of the %s recorded, all that --limit keeps in memory\n", procsText(wi, s), u.Dur(wi.Part), u.Dur(s.Wall))
		fmt.Fprintf(bw, "(--limit N keeps more, at about 110 bytes per run, pause or gap); every figure below is of that part.\n")
		fmt.Fprintf(bw, "Its recorded wall time %s; the replay, unchanged, %s (%s).\n", u.Dur(wi.Part), u.Dur(wi.ReplayWall),
			fmtChange(float64(wi.Part), float64(wi.ReplayWall)))
	case wi.Replayed:
		fmt.Fprintf(bw, "Replayed on %s.\n", procsText(wi, s))
		fmt.Fprintf(bw, "Recorded wall time %s; the replay, unchanged, %s (%s).\n", u.Dur(s.Wall), u.Dur(wi.ReplayWall),
			fmtChange(float64(s.Wall), float64(wi.ReplayWall)))
	default:
		fmt.Fprintf(bw, "No replay: %s.\nOnly the bound is given (the most any replay could predict).\n", wi.Reason)
	}
	for _, x := range s.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", x)
	}
	if len(wi.Groups) == 0 {
		fmt.Fprintf(bw, "\nNo conflicts.\n")
		return bw.Flush()
	}
	fmt.Fprintf(bw, "\nIf the conflicts of a group did not happen (%s):\n", byText(s.Options.By))
	t := asciiTable(bw, []tw.Align{tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight,
		tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft})
	t.Header("#", "lost", "throughput", "at most", "wall", "change", "kind", "group")
	row := func(rank string, p *analyze.Prediction, kind, name string) {
		sp, wall, ch := "-", "-", "-"
		if wi.Replayed {
			sp, wall, ch = fmtSpeedup(p.Speedup), u.Dur(p.Wall), fmtChange(float64(wi.ReplayWall), float64(p.Wall))
		}
		t.Append(rank, u.Dur(p.Lost), sp, fmtSpeedup(p.BoundSpeedup), wall, ch, kind, name)
	}
	for i := range wi.Groups {
		p := &wi.Groups[i]
		g := &s.Groups[p.Rank-1]
		row(strconv.Itoa(p.Rank), p, conflictKindName(g.Kind), groupName(s, g))
	}
	if len(wi.Groups) > 1 {
		row("all", &wi.All, "", fmt.Sprintf("the %d groups above at once", len(wi.Groups)))
	}
	if err := t.Render(); err != nil {
		return err
	}
	if note := waitsNote(s, u); note != "" {
		fmt.Fprintf(bw, "\n%s\n", note)
	}
	fmt.Fprintf(bw, "\nthroughput: commits per second, after / before (each thread's own rate, summed);\n")
	fmt.Fprintf(bw, "at most: the bound; wall: the same commits' wall time. Model and limits: docs/whatif.md.\n")
	return bw.Flush()
}

// waitsNote says, when the run paused longer with no conflict pending
// (Retry waits, above all) than it lost to every group together, that no
// group's removal gives that time back: a run bound by its hand-offs gains
// from batching them, not from removing conflicts. Empty otherwise.
func waitsNote(s *analyze.Summary, u durfmt.Unit) string {
	if s.UnattributedPaused <= s.Lost() || s.UnattributedPaused < s.Wall/10 {
		return ""
	}
	var retry time.Duration
	for _, r := range s.PauseReasons {
		if r.Reason == logformat.WaitRetry {
			retry = r.Time
		}
	}
	return fmt.Sprintf("Not in any group: %s paused with no conflict pending (Retry waits in all: %s), more than all groups lost.\n"+
		"Removing conflicts does not give it back: the run waits for its hand-offs; batching them\n"+
		"(several items per transaction) or a channel is the lever (hint batch-handoff, docs/hints.md).",
		u.Dur(s.UnattributedPaused), u.Dur(retry))
}

// groupName is the compact name of a group in tables.
func groupName(s *analyze.Summary, g *analyze.Group) string {
	switch {
	case s.Options.By == analyze.BySite:
		return siteShort(g.Site)
	case s.Options.By == analyze.ByOther:
		return siteShort(g.OtherSite)
	case bySites(s.Options.By):
		return siteShort(g.Site) + " <- " + siteShort(g.OtherSite)
	}
	return groupTitle(s, g)
}

type jsonWhatIf struct {
	Schema       string          `json:"schema"`
	Logs         []jsonWhatIfLog `json:"logs"`
	By           string          `json:"by"`
	Replayed     bool            `json:"replayed"`
	Reason       string          `json:"reason"`
	WallNs       int64           `json:"wall_ns"`
	ReplayWallNs *int64          `json:"replay_wall_ns"`
	// the log's first part, when only it was replayed (--limit)
	PartWallNs  *int64             `json:"part_wall_ns,omitempty"`
	GroupsTotal int                `json:"groups_total"`
	Groups      []jsonPrediction   `json:"groups"`
	All         jsonPredictionBase `json:"all"`
	Warnings    []string           `json:"warnings"`
}

type jsonWhatIfLog struct {
	Name          string  `json:"name"`
	Format        string  `json:"format"`
	Procs         float64 `json:"procs"`
	RecordedProcs int     `json:"recorded_procs"`
	ProcsAssumed  bool    `json:"procs_assumed"`
	// the processors the recording had by its processor-usage records,
	// when known, and whether the replay ran on them
	AvailableProcs *float64 `json:"available_procs,omitempty"`
	ProcsMeasured  bool     `json:"procs_measured,omitempty"`
}

// jsonPredictionBase is the part of a prediction shared with `stmlog
// report`'s if_removed: speedup and wall_ns are null without a replay.
type jsonPredictionBase struct {
	LostNs       int64    `json:"lost_ns"`
	Speedup      *float64 `json:"speedup"`
	BoundSpeedup float64  `json:"bound_speedup"`
	WallNs       *int64   `json:"wall_ns"`
}

type jsonPrediction struct {
	Rank  int    `json:"rank"`
	Key   string `json:"key"`
	Kind  string `json:"kind"`
	Group string `json:"group"`
	jsonPredictionBase
}

func round4(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 4, 64), 64)
	return v
}

func predictionBase(wi *analyze.WhatIf, p *analyze.Prediction) jsonPredictionBase {
	b := jsonPredictionBase{LostNs: int64(p.Lost), BoundSpeedup: round4(p.BoundSpeedup)}
	if wi.Replayed {
		sp, wall := round4(p.Speedup), int64(p.Wall)
		b.Speedup, b.WallNs = &sp, &wall
	}
	return b
}

func whatIfJSON(w io.Writer, s *analyze.Summary, wi *analyze.WhatIf) error {
	r := jsonWhatIf{Schema: WhatIfSchema, Logs: []jsonWhatIfLog{}, By: s.Options.By.String(),
		Replayed: wi.Replayed, Reason: wi.Reason, WallNs: int64(s.Wall), GroupsTotal: len(s.Groups),
		Groups: []jsonPrediction{}, All: predictionBase(wi, &wi.All), Warnings: append([]string{}, s.Warnings...)}
	if wi.Replayed {
		rw := int64(wi.ReplayWall)
		r.ReplayWallNs = &rw
		if wi.Part > 0 {
			pw := int64(wi.Part)
			r.PartWallNs = &pw
		}
	}
	for _, p := range wi.Procs {
		l := s.Logs[p.Log]
		jl := jsonWhatIfLog{Name: l.Name, Format: l.Format, Procs: p.Procs, RecordedProcs: p.Recorded, ProcsAssumed: p.Assumed, ProcsMeasured: p.Measured}
		if p.Available > 0 {
			jl.AvailableProcs = &p.Available
		}
		r.Logs = append(r.Logs, jl)
	}
	for i := range wi.Groups {
		p := &wi.Groups[i]
		g := &s.Groups[p.Rank-1]
		jp := jsonPrediction{Rank: p.Rank, Key: p.Key, Group: groupName(s, g), jsonPredictionBase: predictionBase(wi, p)}
		if g.Kind != logformat.ConflictNone {
			jp.Kind = g.Kind.String()
		}
		r.Groups = append(r.Groups, jp)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&r)
}
