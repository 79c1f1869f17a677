package analyze

// Diff of two analyses: did a change make contention better or worse, and
// where? Groups of the two summaries are joined by Group.Key, which is
// built from the content of the sites (not from per-log stack ids), so the
// same conflict in two runs of a program matches even though every id
// differs. Rows are ranked by how much their lost time changed, either way.
// Package report prints a Diff (text and JSON).

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// Diff compares two summaries.
type Diff struct {
	By       GroupBy  // the grouping of both summaries
	Old, New []string // log names of each side
	Totals   []DiffTotal
	// LostPct is lost time (time charged to conflicts) as a percentage of
	// CPU time in transactions, on each side (the base of a lost=N%cpu limit, FailOverLimit).
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

// Shape names how the transactions changed shape when ShapeChanged:
// "fewer-longer" (fewer commits per second, each running longer) or
// "more-shorter"; "" when they did not.
func (d *Diff) Shape() string {
	switch {
	case !d.ShapeChanged:
		return ""
	case d.NewTxPerSec > d.OldTxPerSec:
		return "more-shorter"
	}
	return "fewer-longer"
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
	// Thread and Var are the group's thread (ByThread) and Var id (ByVar),
	// and Log the name of the log they belong to (Summary.GroupLog) when
	// its summary read several logs, else "".
	Thread     uint32
	Var        uint64
	Log        string
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
func NewDiff(oldS, newS *Summary) (*Diff, error) {
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
	side := func(g *Group) DiffSide {
		return DiffSide{Present: true, Count: g.Count, Aborted: g.Aborted, Paused: g.Paused, Lost: g.Lost}
	}
	for i := range oldS.Groups {
		g := &oldS.Groups[i]
		idx[g.Key] = len(d.Groups)
		dg := diffGroup(oldS, g)
		dg.Old = side(g)
		d.Groups = append(d.Groups, dg)
	}
	for i := range newS.Groups {
		g := &newS.Groups[i]
		j, ok := idx[g.Key]
		if !ok {
			j = len(d.Groups)
			d.Groups = append(d.Groups, diffGroup(newS, g))
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

func diffGroup(s *Summary, g *Group) DiffGroup {
	dg := DiffGroup{Key: g.Key, Kind: g.Kind, This: g.Site, Other: g.OtherSite, VarName: g.VarName,
		Thread: g.Thread, Var: g.Var}
	if len(s.Logs) > 1 {
		dg.Log = s.GroupLog(g)
	}
	return dg
}

func logNames(s *Summary) []string {
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
