package report

// Printing of a diff of two analyses (analyze.Diff, analyze/diff.go): text
// for a terminal and stmlog.diff/v1 JSON.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"
)

// DiffSchema names the JSON layout written by WriteDiffJSON.
const DiffSchema = "stmlog.diff/v1"

// WriteDiffText writes the comparison for a terminal: the totals, then the
// top groups (top <= 0: all) with both sites.
func WriteDiffText(w io.Writer, d *analyze.Diff, top int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "old: %s\nnew: %s\n\n", strings.Join(d.Old, ", "), strings.Join(d.New, ", "))
	fmt.Fprintf(&b, "%-12s %12s %12s %13s %9s\n", "", "old", "new", "delta", "delta%")
	for _, t := range d.Totals {
		o, n, dl := fmt.Sprint(t.Old), fmt.Sprint(t.New), fmt.Sprintf("%+d", t.Delta)
		if t.Duration {
			o, n, dl = durfmt.Dur(time.Duration(t.Old)), durfmt.Dur(time.Duration(t.New)), durfmt.Delta(time.Duration(t.Delta))
		}
		fmt.Fprintf(&b, "%-12s %12s %12s %13s %9s\n", t.Name, o, n, dl, fmtPct(t.DeltaPct, t.HasPercent, t.Delta))
	}
	fmt.Fprintf(&b, "%-12s %12s %12s %13s\n", "lost % cpu",
		fmt.Sprintf("%.1f%%", d.OldLostPct), fmt.Sprintf("%.1f%%", d.NewLostPct),
		fmt.Sprintf("%+.1f pts", d.NewLostPct-d.OldLostPct))
	txPct, txOK := 0.0, d.OldTxPerSec > 0
	if txOK {
		txPct = 100 * (d.NewTxPerSec - d.OldTxPerSec) / d.OldTxPerSec
	}
	fmt.Fprintf(&b, "%-12s %12.0f %12.0f %13s %9s\n", "commits/s", d.OldTxPerSec, d.NewTxPerSec,
		fmt.Sprintf("%+.0f", d.NewTxPerSec-d.OldTxPerSec), fmtPct(txPct, txOK, int64(d.NewTxPerSec-d.OldTxPerSec)))
	if d.ShapeChanged {
		shape := strings.ReplaceAll(d.Shape(), "-", ", ")
		fmt.Fprintf(&b, "note: the transactions changed shape (%s: run time per commit %s -> %s, %.1fx), so commits/s\n"+
			"      does not compare speed; compare lost %% cpu and the time the work took\n",
			shape, durfmt.Dur(d.OldRunPerCommit), durfmt.Dur(d.NewRunPerCommit), float64(d.NewRunPerCommit)/float64(d.OldRunPerCommit))
	}

	shown := d.Groups
	if top > 0 && len(shown) > top {
		shown = shown[:top]
	}
	fmt.Fprintf(&b, "\nconflict groups by change in lost time (%d of %d):\n", len(shown), len(d.Groups))
	if len(shown) > 0 {
		fmt.Fprintf(&b, "%13s %9s %12s %12s %7s %7s  %s\n", "delta", "delta%", "old", "new", "old#", "new#", "kind")
	}
	for i := range shown {
		g := &shown[i]
		kind := g.Kind.String()
		if g.Kind == logformat.ConflictNone {
			kind = "(mixed)"
		}
		if s := g.Status(); s != "" {
			kind += " [" + s + "]"
		}
		fmt.Fprintf(&b, "%13s %9s %12s %12s %7d %7d  %s\n", durfmt.Delta(g.Delta), fmtPct(g.DeltaPct, g.HasPercent, int64(g.Delta)),
			durfmt.Dur(g.Old.Lost), durfmt.Dur(g.New.Lost), g.Old.Count, g.New.Count, kind)
		title := titleOf(d.By, g.Kind, g.Thread, g.Var, g.VarName, g.Log)
		if title != "" {
			fmt.Fprintf(&b, "    %s\n", title)
		}
		switch {
		case d.By == analyze.BySite:
			fmt.Fprintf(&b, "    this:  %s\n", siteLine(g.This))
		case d.By == analyze.ByOther:
			fmt.Fprintf(&b, "    other: %s\n", siteLine(g.Other))
		case g.This != nil || g.Other != nil:
			fmt.Fprintf(&b, "    this:  %s\n    other: %s\n", siteLine(g.This), siteLine(g.Other))
		case title == "":
			fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(g.Key, "\x00", " "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtPct(p float64, ok bool, delta int64) string {
	switch {
	case ok:
		return fmt.Sprintf("%+.1f%%", p)
	case delta == 0:
		return "="
	}
	return "new"
}

// diffJSON is the stmlog.diff/v1 layout (docs/report-json.md says the same
// for users):
//
//	schema            "stmlog.diff/v1"
//	old, new          log names
//	old_lost_pct_cpu, new_lost_pct_cpu
//	                  lost time as % of CPU time in transactions (2 decimals)
//	old_commits_per_sec, new_commits_per_sec
//	                  committed transactions per second of wall time
//	old_run_per_commit_ns, new_run_per_commit_ns
//	                  committed run time per commit: a transaction's own
//	                  length (0 without commits)
//	shape_changed     commits/s and run time per commit moved apart by
//	                  25 % or more, so commits/s does not compare speed
//	shape             "fewer-longer", "more-shorter" or "" (unchanged)
//	totals[]          {name, unit ("ns"|"count"), old, new, delta, delta_pct}
//	                  for wall, cpu, committed, aborted, paused, lost,
//	                  commits, aborts, conflicts
//	group_count       groups on either side (groups[] may be cut by --top)
//	groups[]          ranked by |delta_ns|: {key (opaque join key), kind,
//	                  status ("both"|"new"|"gone"), this, other (sites as in
//	                  stmlog.report/v1, source ""), var, old and new
//	                  {count, aborted_ns, paused_ns, lost_ns}, delta_ns,
//	                  delta_pct}
//
// Durations are integer nanoseconds; delta_pct is null when the old value
// is 0.
type diffJSON struct {
	Schema     string          `json:"schema"`
	Old        []string        `json:"old"`
	New        []string        `json:"new"`
	OldLostPct float64         `json:"old_lost_pct_cpu"`
	NewLostPct float64         `json:"new_lost_pct_cpu"`
	OldTxPerS  float64         `json:"old_commits_per_sec"`
	NewTxPerS  float64         `json:"new_commits_per_sec"`
	OldPerTx   int64           `json:"old_run_per_commit_ns"`
	NewPerTx   int64           `json:"new_run_per_commit_ns"`
	ShapeChg   bool            `json:"shape_changed"`
	Shape      string          `json:"shape"`
	Totals     []diffTotalJSON `json:"totals"`
	GroupCount int             `json:"group_count"`
	Groups     []diffGroupJSON `json:"groups"`
}

type diffTotalJSON struct {
	Name     string   `json:"name"`
	Unit     string   `json:"unit"` // "ns" or "count"
	Old      int64    `json:"old"`
	New      int64    `json:"new"`
	Delta    int64    `json:"delta"`
	DeltaPct *float64 `json:"delta_pct"`
}

type diffGroupJSON struct {
	Key      string       `json:"key"`
	Kind     string       `json:"kind"`
	Status   string       `json:"status"` // "new", "gone" or "both"
	This     *jsonSite    `json:"this"`   // as in stmlog.report/v1 (no source line); null if mixed/unknown
	Other    *jsonSite    `json:"other"`  // idem
	Var      string       `json:"var,omitempty"`
	Old      diffSideJSON `json:"old"`
	New      diffSideJSON `json:"new"`
	DeltaNs  int64        `json:"delta_ns"`
	DeltaPct *float64     `json:"delta_pct"`
}

type diffSideJSON struct {
	Count     int64 `json:"count"`
	AbortedNs int64 `json:"aborted_ns"`
	PausedNs  int64 `json:"paused_ns"`
	LostNs    int64 `json:"lost_ns"`
}

func pctPtr(p float64, ok bool) *float64 {
	if !ok || math.IsNaN(p) || math.IsInf(p, 0) {
		return nil
	}
	p = math.Round(p*100) / 100
	return &p
}

// WriteDiffJSON writes the comparison as stmlog.diff/v1 JSON (top <= 0: all
// groups).
func WriteDiffJSON(w io.Writer, d *analyze.Diff, top int) error {
	out := diffJSON{Schema: DiffSchema, Old: d.Old, New: d.New,
		OldLostPct: math.Round(d.OldLostPct*100) / 100, NewLostPct: math.Round(d.NewLostPct*100) / 100,
		OldTxPerS: math.Round(d.OldTxPerSec*100) / 100, NewTxPerS: math.Round(d.NewTxPerSec*100) / 100,
		OldPerTx: int64(d.OldRunPerCommit), NewPerTx: int64(d.NewRunPerCommit), ShapeChg: d.ShapeChanged, Shape: d.Shape(),
		GroupCount: len(d.Groups), Totals: []diffTotalJSON{}, Groups: []diffGroupJSON{}}
	for _, t := range d.Totals {
		unit := "count"
		if t.Duration {
			unit = "ns"
		}
		out.Totals = append(out.Totals, diffTotalJSON{t.Name, unit, t.Old, t.New, t.Delta, pctPtr(t.DeltaPct, t.HasPercent)})
	}
	shown := d.Groups
	if top > 0 && len(shown) > top {
		shown = shown[:top]
	}
	noSrc := newSourceCache(Options{NoSource: true})
	for i := range shown {
		g := &shown[i]
		side := func(s analyze.DiffSide) diffSideJSON {
			return diffSideJSON{s.Count, int64(s.Aborted), int64(s.Paused), int64(s.Lost)}
		}
		status := g.Status()
		if status == "" {
			status = "both"
		}
		j := diffGroupJSON{Key: g.Key, Kind: g.Kind.String(), Status: status,
			This: jsonSiteOf(g.This, noSrc), Other: jsonSiteOf(g.Other, noSrc), Var: g.VarName,
			Old: side(g.Old), New: side(g.New), DeltaNs: int64(g.Delta), DeltaPct: pctPtr(g.DeltaPct, g.HasPercent)}
		out.Groups = append(out.Groups, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
