package report

import (
	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
)

// groupRow is one conflict group as the tabular formats show it (what
// pprof's report calls a TextItem): the tables of Text and Markdown and the
// rows of CSV are all built from these, so a column means the same in each
// and is computed once. The human cells are formatted here, in the report's
// notation (durfmt.Unit for times that add up, durfmt.Short for per-event times);
// CSV takes the raw values from Group instead.
type groupRow struct {
	Rank  int
	Group *analyze.Group
	Kind  string // conflictKindName: "mixed" for a group of several kinds
	Title string // groupTitle: what the group is about when not by sites, else ""
	// Name is the group in one cell: the grouped site(s) in short
	// ("a.go:3 <- b.go:9"), else Title.
	Name string
	// Cells of the human tables.
	Lost, PctWall, Aborted, Paused, Count, Avg, P90, Max string
	// IfRemoved is the what-if column (Options.WhatIf), "" without one.
	IfRemoved string
	Hint      analyze.Hint // the group's hint, if any
}

// groupRows are the top groups of a summary (Options.Top) as rows, with the
// hint about the run as a whole.
type groupRows struct {
	Rows     []groupRow
	Run      analyze.Hint
	HasSites bool // grouped by sites: the rows have sites rather than titles
}

// buildRows makes the rows every tabular format renders.
func buildRows(s *analyze.Summary, opt Options, src *sourceCache) groupRows {
	u := durfmt.UnitFor(s.Wall)
	groups := topGroups(s, opt.Top)
	hints, run := groupHints(s, src)
	out := groupRows{Run: run, HasSites: bySites(s.Options.By), Rows: make([]groupRow, len(groups))}
	for i := range groups {
		g := &groups[i]
		r := groupRow{Rank: i + 1, Group: g, Kind: conflictKindName(g.Kind), Title: groupTitle(s, g),
			Lost: u.Dur(g.Lost), PctWall: fmtPercent(s.Percent(g.Lost)), Aborted: u.Dur(g.Aborted), Paused: u.Dur(g.Paused),
			Count: fmtThousands(g.Count), Avg: durfmt.Short(g.Avg), P90: durfmt.Short(g.P90), Max: durfmt.Short(g.Max),
			Hint: hints[g.Key]}
		r.Name = r.Title
		switch {
		case s.Options.By == analyze.BySite:
			r.Name = siteShort(g.Site)
		case s.Options.By == analyze.ByOther:
			r.Name = siteShort(g.OtherSite)
		case out.HasSites:
			r.Name = siteShort(g.Site) + " <- " + siteShort(g.OtherSite)
		}
		if opt.WhatIf != nil {
			r.IfRemoved = fmtIfRemoved(opt.WhatIf, opt.prediction(r.Rank))
		}
		out.Rows[i] = r
	}
	return out
}
