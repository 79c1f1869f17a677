package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"
)

// Markdown writes the report for an issue or pull request: the totals as a
// table, the top groups as a table, then each group with its sites and
// source lines in code spans and its timeline in a code block.
func Markdown(w io.Writer, s *analyze.Summary, opt Options) error {
	bw := bufio.NewWriter(w)
	src := newSourceCache(opt)
	u := durfmt.UnitFor(s.Wall)
	fmt.Fprintf(bw, "## stmlog report\n\n")
	for i := range s.Logs {
		fmt.Fprintf(bw, "- log `%s` (%s, %s events)\n", mdCode(s.Logs[i].Name), s.Logs[i].Format, fmtThousands(s.Logs[i].Events))
	}
	if f := filterText(s); f != "" {
		fmt.Fprintf(bw, "- only %s\n", f)
	}
	fmt.Fprintf(bw, "\n")
	t := mdTable(bw, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignLeft})
	t.Header("", "time", "% wall", "")
	t.Append("real time", u.Dur(s.Wall), "", "")
	t.Append("committed", u.Dur(s.Committed), fmtPercent(s.Percent(s.Committed)),
		fmt.Sprintf("%s transactions, %s tx/s", fmtThousands(s.Commits), fmtThousands(int64(s.TxPerSecond()+0.5))))
	t.Append("aborted", u.Dur(s.Aborted), fmtPercent(s.Percent(s.Aborted)), fmtThousands(s.Aborts)+" attempts")
	t.Append("paused", u.Dur(s.Paused), fmtPercent(s.Percent(s.Paused)), "")
	t.Append("lost to conflicts", u.Dur(s.Lost()), fmtPercent(s.Percent(s.Lost())),
		fmt.Sprintf("%s of CPU time; %s conflicts in %s", fmtPercent(cpuPercent(s, s.Lost())), fmtThousands(s.Conflicts), plural(int64(len(s.Groups)), "group")))
	if err := t.Render(); err != nil {
		return err
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintf(bw, "\n")
		for _, x := range s.Warnings {
			fmt.Fprintf(bw, "> **warning:** %s\n", mdEscape(x))
		}
	}
	rows := buildRows(s, opt, src)
	if len(rows.Rows) == 0 {
		fmt.Fprintf(bw, "\nNo conflicts.\n")
		return bw.Flush()
	}
	fmt.Fprintf(bw, "\n### Top %d of %d conflict groups (%s)\n\n", len(rows.Rows), len(s.Groups), byText(s.Options.By))
	// Grouped by sites: both sites; else one "group" column, as in Text.
	aligns := []tw.Align{tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight,
		tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft}
	header := []any{"#", "lost", "aborted", "paused", "count", "p90", "max", "kind", "this", "other"}
	if !rows.HasSites {
		aligns, header = aligns[:9], append(header[:8], "group")
	}
	// The hint's id in the table (its sentence is under the group).
	aligns, header = append(aligns, tw.AlignLeft), append(header, "hint")
	t = mdTable(bw, aligns)
	t.Header(header...)
	for _, r := range rows.Rows {
		row := []any{strconv.Itoa(r.Rank), r.Lost, r.Aborted, r.Paused, r.Count, r.P90, r.Max, r.Kind}
		if rows.HasSites {
			row = append(row, mdSite(r.Group.Site), mdSite(r.Group.OtherSite))
		} else {
			row = append(row, mdEscape(r.Title))
		}
		row = append(row, r.Hint.ID)
		t.Append(row...)
	}
	if err := t.Render(); err != nil {
		return err
	}
	unknown := false
	for _, r := range rows.Rows {
		g := r.Group
		fmt.Fprintf(bw, "\n**#%d** %s lost in aborts, %s paused (%sx %s)", r.Rank, r.Aborted, r.Paused, r.Count, r.Kind)
		if r.Title != "" {
			fmt.Fprintf(bw, ", %s", mdEscape(r.Title))
		}
		fmt.Fprintf(bw, "\n\n")
		fmt.Fprintf(bw, "- %s\n", mdEscape(groupFacts(g)))
		for _, side := range []struct {
			label string
			st    *logformat.Stack
			show  bool
		}{{"this", g.Site, s.Options.By != analyze.ByOther}, {"other", g.OtherSite, s.Options.By != analyze.BySite}} {
			if !side.show || (side.st == nil && !bySites(s.Options.By)) {
				continue
			}
			unknown = unknown || side.st == nil
			fmt.Fprintf(bw, "- %s: %s", side.label, mdSite(side.st))
			if line := src.site(side.st); line != "" {
				fmt.Fprintf(bw, " — `%s`", mdCode(line))
			}
			fmt.Fprintf(bw, "\n")
		}
		if h := r.Hint; h.ID != "" {
			fmt.Fprintf(bw, "- hint (`%s`): %s\n", h.ID, mdEscape(h.Text))
		}
		for _, v := range groupVet(g, opt) {
			fmt.Fprintf(bw, "- stmvet: %s: %s\n", mdEscape(v.Site), mdEscape(v.Message))
		}
		fmt.Fprintf(bw, "\n```\n|%s|\n```\n", fmtTimeline(&g.Timeline))
	}
	if unknown {
		fmt.Fprintf(bw, "\n%s\n", mdEscape(strings.Join(strings.Fields(unknownSiteNote), " ")))
	}
	if rows.Run.ID != "" {
		fmt.Fprintf(bw, "\n**Hint** (`%s`): %s\n", rows.Run.ID, mdEscape(rows.Run.Text))
	}
	return bw.Flush()
}

func mdTable(w io.Writer, aligns []tw.Align) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
}

func mdSite(st *logformat.Stack) string {
	if st == nil {
		return "?"
	}
	return "`" + mdCode(siteLine(st)) + "`"
}

// mdCode makes s safe inside a code span in a table cell.
func mdCode(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdEscape makes s safe as plain text in a table cell or paragraph.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", "[", `\[`)
	return r.Replace(s)
}
