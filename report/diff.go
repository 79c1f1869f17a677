package report

// Diff of two analyses: did a change make contention better or worse, and
// where? Groups of the two summaries are joined by analyze.Group.Key, which
// is built from the content of the sites (not from per-log stack ids), so the
// same conflict in two runs of a program matches even though every id
// differs. Rows are ranked by how much their lost time changed, either way.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
)

// DiffSchema names the JSON layout written by WriteDiffJSON.
const DiffSchema = "stmlog.diff/v1"

// Diff compares two summaries.
type Diff struct {
	By       analyze.GroupBy // the grouping of both summaries
	Old, New []string        // log names of each side
	Totals   []DiffTotal
	// LostPct is lost time (time charged to conflicts) as a percentage of
	// CPU time in transactions, on each side (see FailOverLimit).
	OldLostPct, NewLostPct float64
	// Committed transactions per second of wall time, on each side.
	OldTxPerSec, NewTxPerSec float64
	// Run time of a committed transaction (committed time per commit), on
	// each side (0 without commits): the transaction's own length, without
	// the aborts and pauses that conflicts added.
	OldRunPerCommit, NewRunPerCommit time.Duration
	// ShapeChanged says the transactions changed shape: commits/s and run
	// time per commit moved apart by 25 % or more (fewer, longer
	// transactions, or more, shorter ones), so commits/s alone says little
	// about speed.
	ShapeChanged bool
	Groups       []DiffGroup // ranked by |Delta|, largest first
}

// shapeChange is the factor by which commits/s and CPU per commit must
// move apart for Diff.ShapeChanged.
const shapeChange = 1.25

// DiffTotal compares one summary total. Durations are in nanoseconds.
type DiffTotal struct {
	Name       string // e.g. "lost", "commits"
	Duration   bool   // Old/New/Delta are nanoseconds, else counts
	Old, New   int64
	Delta      int64
	DeltaPct   float64 // Delta as a percentage of Old
	HasPercent bool    // false when Old is 0 (no meaningful percentage)
}

// DiffGroup compares one conflict group (present on either side or both).
type DiffGroup struct {
	Key     string
	Kind    logformat.ConflictKind
	This    *logformat.Stack
	Other   *logformat.Stack
	VarName string
	// Title names the group when the grouping is not by sites ("var
	// balance", "kind inevitable"), as the report does; else "".
	Title      string
	Old, New   DiffSide
	Delta      time.Duration // New.Lost - Old.Lost
	DeltaPct   float64       // Delta as a percentage of Old.Lost
	HasPercent bool          // false when Old.Lost is 0
}

// DiffSide is one group's figures in one summary (zero when absent).
type DiffSide struct {
	Present bool
	Count   int64
	Aborted time.Duration
	Paused  time.Duration
	Lost    time.Duration
}

// Status says "new", "gone" or "" (on both sides).
func (g *DiffGroup) Status() string {
	switch {
	case !g.Old.Present:
		return "new"
	case !g.New.Present:
		return "gone"
	}
	return ""
}

// NewDiff compares two summaries made with the same grouping.
func NewDiff(oldS, newS *analyze.Summary) (*Diff, error) {
	if oldS.Options.By != newS.Options.By {
		return nil, fmt.Errorf("cannot compare summaries grouped by %v and by %v", oldS.Options.By, newS.Options.By)
	}
	d := &Diff{By: oldS.Options.By, Old: logNames(oldS), New: logNames(newS)}
	total := func(name string, dur bool, o, n int64) {
		t := DiffTotal{Name: name, Duration: dur, Old: o, New: n, Delta: n - o}
		t.DeltaPct, t.HasPercent = pct(t.Delta, o)
		d.Totals = append(d.Totals, t)
	}
	oLost, nLost := oldS.Lost(), newS.Lost()
	total("wall", true, int64(oldS.Wall), int64(newS.Wall))
	total("cpu", true, int64(oldS.CPU()), int64(newS.CPU()))
	total("committed", true, int64(oldS.Committed), int64(newS.Committed))
	total("aborted", true, int64(oldS.Aborted), int64(newS.Aborted))
	total("paused", true, int64(oldS.Paused), int64(newS.Paused))
	total("lost", true, int64(oLost), int64(nLost))
	total("commits", false, oldS.Commits, newS.Commits)
	total("aborts", false, oldS.Aborts, newS.Aborts)
	total("conflicts", false, oldS.Conflicts, newS.Conflicts)
	d.OldLostPct, _ = pct(int64(oLost), int64(oldS.CPU()))
	d.NewLostPct, _ = pct(int64(nLost), int64(newS.CPU()))
	d.OldTxPerSec, d.NewTxPerSec = oldS.TxPerSecond(), newS.TxPerSecond()
	if oldS.Commits > 0 && newS.Commits > 0 {
		d.OldRunPerCommit = oldS.Committed / time.Duration(oldS.Commits)
		d.NewRunPerCommit = newS.Committed / time.Duration(newS.Commits)
	}
	if d.OldTxPerSec > 0 && d.NewTxPerSec > 0 && d.OldRunPerCommit > 0 && d.NewRunPerCommit > 0 {
		tx := d.NewTxPerSec / d.OldTxPerSec
		per := float64(d.NewRunPerCommit) / float64(d.OldRunPerCommit)
		d.ShapeChanged = (tx <= 1/shapeChange && per >= shapeChange) || (tx >= shapeChange && per <= 1/shapeChange)
	}

	idx := map[string]int{}
	side := func(g *analyze.Group) DiffSide {
		return DiffSide{Present: true, Count: g.Count, Aborted: g.Aborted, Paused: g.Paused, Lost: g.Lost}
	}
	for i := range oldS.Groups {
		g := &oldS.Groups[i]
		idx[g.Key] = len(d.Groups)
		d.Groups = append(d.Groups, DiffGroup{Key: g.Key, Kind: g.Kind, This: g.Site, Other: g.OtherSite, VarName: g.VarName,
			Title: groupTitle(oldS, g), Old: side(g)})
	}
	for i := range newS.Groups {
		g := &newS.Groups[i]
		j, ok := idx[g.Key]
		if !ok {
			j = len(d.Groups)
			d.Groups = append(d.Groups, DiffGroup{Key: g.Key, Kind: g.Kind, This: g.Site, Other: g.OtherSite, VarName: g.VarName,
				Title: groupTitle(newS, g)})
		}
		d.Groups[j].New = side(g)
	}
	for i := range d.Groups {
		g := &d.Groups[i]
		g.Delta = g.New.Lost - g.Old.Lost
		g.DeltaPct, g.HasPercent = pct(int64(g.Delta), int64(g.Old.Lost))
	}
	slices.SortFunc(d.Groups, func(x, y DiffGroup) int {
		return cmp.Or(cmp.Compare(absDur(y.Delta), absDur(x.Delta)),
			cmp.Compare(y.Delta, x.Delta), // regressions before improvements of the same size
			cmp.Compare(y.New.Lost, x.New.Lost),
			strings.Compare(x.Key, y.Key))
	})
	return d, nil
}

func logNames(s *analyze.Summary) []string {
	var n []string
	for _, l := range s.Logs {
		n = append(n, l.Name)
	}
	return n
}

func pct(part, whole int64) (float64, bool) {
	if whole == 0 {
		return 0, false
	}
	return 100 * float64(part) / float64(whole), true
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// WriteDiffText writes the comparison for a terminal: the totals, then the
// top groups (top <= 0: all) with both sites.
func WriteDiffText(w io.Writer, d *Diff, top int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "old: %s\nnew: %s\n\n", strings.Join(d.Old, ", "), strings.Join(d.New, ", "))
	fmt.Fprintf(&b, "%-12s %12s %12s %13s %9s\n", "", "old", "new", "delta", "delta%")
	for _, t := range d.Totals {
		o, n, dl := fmt.Sprint(t.Old), fmt.Sprint(t.New), fmt.Sprintf("%+d", t.Delta)
		if t.Duration {
			o, n, dl = fmtDur(time.Duration(t.Old)), fmtDur(time.Duration(t.New)), fmtDelta(time.Duration(t.Delta))
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
		shape := "fewer, longer"
		if d.NewTxPerSec > d.OldTxPerSec {
			shape = "more, shorter"
		}
		fmt.Fprintf(&b, "note: the transactions changed shape (%s: run time per commit %s -> %s, %.1fx), so commits/s\n"+
			"      does not compare speed; compare lost %% cpu and the time the work took\n",
			shape, fmtDur(d.OldRunPerCommit), fmtDur(d.NewRunPerCommit), float64(d.NewRunPerCommit)/float64(d.OldRunPerCommit))
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
		fmt.Fprintf(&b, "%13s %9s %12s %12s %7d %7d  %s\n", fmtDelta(g.Delta), fmtPct(g.DeltaPct, g.HasPercent, int64(g.Delta)),
			fmtDur(g.Old.Lost), fmtDur(g.New.Lost), g.Old.Count, g.New.Count, kind)
		if g.Title != "" {
			fmt.Fprintf(&b, "    %s\n", g.Title)
		}
		switch {
		case d.By == analyze.BySite:
			fmt.Fprintf(&b, "    this:  %s\n", siteLine(g.This))
		case d.By == analyze.ByOther:
			fmt.Fprintf(&b, "    other: %s\n", siteLine(g.Other))
		case g.This != nil || g.Other != nil:
			fmt.Fprintf(&b, "    this:  %s\n    other: %s\n", siteLine(g.This), siteLine(g.Other))
		case g.Title == "":
			fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(g.Key, "\x00", " "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtDur prints a duration with three significant decimals in a unit that
// suits it, so small test logs and long runs both read well.
func fmtDur(d time.Duration) string {
	a := absDur(d)
	switch {
	case a == 0:
		return "0s"
	case a >= time.Second:
		return fmt.Sprintf("%.3fs", d.Seconds())
	case a >= time.Millisecond:
		return fmt.Sprintf("%.3fms", float64(d)/1e6)
	case a >= time.Microsecond:
		return fmt.Sprintf("%.3fµs", float64(d)/1e3)
	}
	return fmt.Sprintf("%dns", int64(d))
}

func fmtDelta(d time.Duration) string {
	if d > 0 {
		return "+" + fmtDur(d)
	}
	return fmtDur(d)
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

// diffJSON is the stmlog.diff/v1 layout:
//
//	schema            "stmlog.diff/v1"
//	old, new          log names
//	old_lost_pct_cpu, new_lost_pct_cpu
//	                  lost time as % of CPU time in transactions (2 decimals)
//	old_commits_per_sec, new_commits_per_sec
//	                  committed transactions per second of wall time
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
func WriteDiffJSON(w io.Writer, d *Diff, top int) error {
	out := diffJSON{Schema: DiffSchema, Old: d.Old, New: d.New,
		OldLostPct: math.Round(d.OldLostPct*100) / 100, NewLostPct: math.Round(d.NewLostPct*100) / 100,
		OldTxPerS: math.Round(d.OldTxPerSec*100) / 100, NewTxPerS: math.Round(d.NewTxPerSec*100) / 100,
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
		side := func(s DiffSide) diffSideJSON {
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
