package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat"
)

// maxThreadRows caps the per-thread table of the text and markdown reports;
// beyond it the threads that lost the most are shown.
const maxThreadRows = 16

// Text writes the human-readable report: header block, per-thread table,
// table of the top groups, then one block per group with both sites, their
// source lines and a timeline.
func Text(w io.Writer, s *analyze.Summary, opt Options) error {
	bw := bufio.NewWriter(w)
	src := newSourceCache(opt)
	u := durfmt.UnitFor(s.Wall)
	textHeader(bw, s)

	if len(s.Threads) > 0 {
		rows, note := threadRows(s)
		fmt.Fprintf(bw, "\nThreads%s:\n", note)
		t := asciiTable(bw, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight})
		t.Header("thread", "commits", "aborts", "conflicts", "committed", "aborted", "paused")
		for _, r := range rows {
			committed := u.Dur(r.Committed)
			if r.Estimated {
				committed = "~" + committed // an estimate (profile-level log)
			}
			t.Append(threadName(s, r), fmtThousands(r.Commits), fmtThousands(r.Aborts), fmtThousands(r.Conflicts),
				committed, u.Dur(r.Aborted), u.Dur(r.Paused))
		}
		if err := t.Render(); err != nil {
			return err
		}
	}

	rows := buildRows(s, opt, src)
	if len(rows.Rows) == 0 {
		fmt.Fprintf(bw, "\nNo conflicts.\n")
		return bw.Flush()
	}
	fmt.Fprintf(bw, "\nTop %d of %d conflict groups (%s):\n", len(rows.Rows), len(s.Groups), byText(s.Options.By))
	aligns := []tw.Align{tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight,
		tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}
	t := asciiTable(bw, aligns)
	last := "this site <- other site"
	switch {
	case !rows.HasSites:
		last = "group"
	case s.Options.By == analyze.BySite:
		last = "this site"
	case s.Options.By == analyze.ByOther:
		last = "other site"
	}
	header := []any{"#", "lost", "% wall", "aborted", "paused", "count", "avg", "p90", "max", "kind", last}
	if opt.WhatIf != nil {
		aligns = append(aligns[:9:9], tw.AlignRight, tw.AlignLeft, tw.AlignLeft)
		t = asciiTable(bw, aligns)
		header = append(header[:9:9], "if removed", "kind", last)
	}
	t.Header(header...)
	for _, r := range rows.Rows {
		row := []any{strconv.Itoa(r.Rank), r.Lost, r.PctWall, r.Aborted, r.Paused, r.Count, r.Avg, r.P90, r.Max, r.Kind, r.Name}
		if opt.WhatIf != nil {
			row = append(row[:9:9], r.IfRemoved, r.Kind, r.Name)
		}
		t.Append(row...)
	}
	if err := t.Render(); err != nil {
		return err
	}
	if wi := opt.WhatIf; wi != nil {
		fmt.Fprintf(bw, "%s\n", ifRemovedNote(wi, s))
	}
	unknown := false
	for _, r := range rows.Rows {
		unknown = textGroup(bw, s, r, src, groupVet(r.Group, opt)) || unknown
	}
	if unknown {
		fmt.Fprintf(bw, "\n%s\n", unknownSiteNote)
	}
	if rows.Run.ID != "" {
		fmt.Fprintf(bw, "\nhint: %s [%s]\n", rows.Run.Text, rows.Run.ID)
	}
	return bw.Flush()
}

func asciiTable(w io.Writer, aligns []tw.Align) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
}

func bySites(by analyze.GroupBy) bool {
	switch by {
	case analyze.ByConflict, analyze.BySite, analyze.ByOther, analyze.ByPair:
		return true
	}
	return false
}

func byText(by analyze.GroupBy) string {
	switch by {
	case analyze.ByConflict:
		return "by kind, this site, other site"
	case analyze.BySite:
		return "by this site"
	case analyze.ByOther:
		return "by other site"
	case analyze.ByPair:
		return "by this site, other site"
	}
	return "by " + by.String()
}

func logLine(l *analyze.Log) string {
	return fmt.Sprintf("%s (%s, %s events)", l.Name, l.Format, fmtThousands(l.Events))
}

// logsHeading is the first line of a text report by cmd: its log, or how
// many logs there are (and how they were combined, how) and then each.
func logsHeading(w io.Writer, cmd, how string, logs []analyze.Log) {
	switch len(logs) {
	case 0:
		fmt.Fprintf(w, "%s: no logs\n", cmd)
	case 1:
		fmt.Fprintf(w, "%s: %s\n", cmd, logLine(&logs[0]))
	default:
		fmt.Fprintf(w, "%s: %d logs, %s\n", cmd, len(logs), how)
		for i := range logs {
			fmt.Fprintf(w, "  %s\n", logLine(&logs[i]))
		}
	}
}

func textHeader(w io.Writer, s *analyze.Summary) {
	u := durfmt.UnitFor(s.Wall)
	logsHeading(w, "stmlog report", "laid over one another from their starts", s.Logs)
	if f := filterText(s); f != "" {
		fmt.Fprintf(w, "Only: %s\n", f)
	}
	fmt.Fprintf(w, "\n")
	// Percentages here are of the wall time (the gate's are of CPU time
	// unless it says wall: the lost line gives both).
	row := func(label string, d time.Duration, rest string) {
		line := fmt.Sprintf("%-20s%10s %13s  %s", label, u.Dur(d), "("+fmtPercent(s.Percent(d))+" wall)", rest)
		fmt.Fprintf(w, "%s\n", strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "%-20s%10s\n", "Total real time:", u.Dur(s.Wall))
	est := ""
	if s.Estimated {
		est = fmt.Sprintf("; time estimated ±%s (95 %%): uncontended transactions were sampled (profile-level log)", u.Dur(s.CommittedErr))
		if s.CommittedErr < 0 {
			est = "; time of the uncontended transactions unknown: none was sampled (profile-level log)"
		}
	}
	row("CPU time committed:", s.Committed, fmt.Sprintf("%s transactions, %s tx/s%s",
		fmtThousands(s.Commits), fmtThousands(int64(s.TxPerSecond()+0.5)), est))
	var causes []string
	for _, c := range s.AbortCauses {
		causes = append(causes, fmt.Sprintf("%s %s", c.Cause, fmtThousands(c.Count)))
	}
	row("           aborted:", s.Aborted, fmt.Sprintf("%s attempts%s", fmtThousands(s.Aborts), listSuffix(causes)))
	var reasons []string
	for _, r := range s.PauseReasons {
		reasons = append(reasons, fmt.Sprintf("%s %s", r.Reason, u.Dur(r.Time)))
	}
	row("            paused:", s.Paused, strings.TrimPrefix(listSuffix(reasons), ": "))
	row("             TOTAL:", s.CPU(), "")
	if s.GCMinor > 0 || s.GCMajor > 0 {
		row("  incl. minor GC:", s.GCMinor, "")
		row("    and major GC:", s.GCMajor, "")
	}
	row("Lost to conflicts:", s.Lost(), fmt.Sprintf("%s of CPU time; %s conflicts in %s", fmtPercent(cpuPercent(s, s.Lost())),
		fmtThousands(s.Conflicts), plural(int64(len(s.Groups)), "group")))
	if s.UnattributedAborted > 0 || s.UnattributedPaused > 0 {
		fmt.Fprintf(w, "%-20s%10s aborted, %s paused with no conflict pending\n", "  not attributed:",
			u.Dur(s.UnattributedAborted), u.Dur(s.UnattributedPaused))
	}
	if bar := fmtTimeline(&s.Timeline); strings.TrimSpace(bar) != "" {
		fmt.Fprintf(w, "%-20s|%s|\n", "Conflicts over time:", bar)
	}
	for _, x := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
}

func listSuffix(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return ": " + strings.Join(items, ", ")
}

func filterText(s *analyze.Summary) string {
	var f []string
	o := s.Options
	if o.Kind != logformat.ConflictNone {
		f = append(f, "conflicts of kind "+o.Kind.String())
	}
	if o.Thread != 0 {
		f = append(f, "thread "+strconv.FormatUint(uint64(o.Thread), 10))
	}
	if o.From != 0 || o.To > 0 {
		to := "end"
		if o.To > 0 {
			to = durfmt.Dur(o.To)
		}
		f = append(f, fmt.Sprintf("time %s to %s after the start", durfmt.Dur(o.From), to))
	}
	return strings.Join(f, ", ")
}

func threadName(s *analyze.Summary, t analyze.Thread) string {
	if len(s.Logs) > 1 {
		return fmt.Sprintf("%d:%d", t.Log+1, t.ID)
	}
	return strconv.FormatUint(uint64(t.ID), 10)
}

// threadRows returns the threads to list and a note when some are left out.
func threadRows(s *analyze.Summary) ([]analyze.Thread, string) {
	if len(s.Threads) <= maxThreadRows {
		return s.Threads, ""
	}
	rows := slices.Clone(s.Threads)
	slices.SortStableFunc(rows, func(a, b analyze.Thread) int {
		return cmp.Compare(b.Aborted+b.Paused, a.Aborted+a.Paused)
	})
	return rows[:maxThreadRows], fmt.Sprintf(" (%d of %d, most aborted+paused first)", maxThreadRows, len(s.Threads))
}

// unknownSiteNote explains a side printed as "?": the two ways a log ends up
// without a site for it (docs/hints.md, inevitable-forced; runtime/stm's
// package doc on the recording levels).
const unknownSiteNote = `? = the log has no site for that side. Either the runtime made the transaction
    inevitable itself, after it aborted again and again (older logs record no site
    for that; the group's hint names the conflict that caused the aborts), or
    the recording captured a Var's write sites only from its first conflict on, as
    both levels do (record with STMLOG_EVENTS=all STMLOG_SITES=all to have every site).`

// textGroup prints one group's section; it reports whether a side had no
// site, so that the report explains "?" once after the groups.
func textGroup(w io.Writer, s *analyze.Summary, r groupRow, src *sourceCache, vet []vetNote) (unknown bool) {
	g, hint := r.Group, r.Hint
	fmt.Fprintf(w, "\n#%d  %s lost in aborts, %s paused (%sx %s)", r.Rank, r.Aborted, r.Paused, r.Count, r.Kind)
	if r.Title != "" {
		fmt.Fprintf(w, "  %s", r.Title)
	}
	fmt.Fprintf(w, "\n")
	type side struct {
		label string
		st    *logformat.Stack
	}
	var sides []side
	if s.Options.By != analyze.ByOther {
		sides = append(sides, side{"this: ", g.Site})
	}
	if s.Options.By != analyze.BySite {
		sides = append(sides, side{"other:", g.OtherSite})
	}
	width := 0
	for _, sd := range sides {
		width = max(width, len(siteLine(sd.st)))
	}
	for _, sd := range sides {
		if sd.st == nil && !bySites(s.Options.By) {
			continue // mixed sites: nothing to show
		}
		text := siteLine(sd.st)
		if sd.st == nil {
			text = "? (not in the log, see below)"
			unknown = true
		}
		if line := src.site(sd.st); line != "" {
			fmt.Fprintf(w, "  %s %-*s  %s\n", sd.label, width, text, line)
		} else {
			fmt.Fprintf(w, "  %s %s\n", sd.label, text)
		}
	}
	fmt.Fprintf(w, "  %s\n", groupFacts(g))
	fmt.Fprintf(w, "  time line: |%s|\n", fmtTimeline(&g.Timeline))
	if hint.ID != "" {
		fmt.Fprintf(w, "  hint: %s [%s]\n", hint.Text, hint.ID)
	}
	for _, v := range vet {
		fmt.Fprintf(w, "  stmvet: %s: %s\n", v.Site, v.Message)
	}
	return unknown
}

// groupFacts is the line of a group's details after its sites: Var,
// threads, time per event, aborts.
func groupFacts(g *analyze.Group) string {
	var facts []string
	if g.VarName != "" || g.Var != 0 {
		facts = append(facts, "var "+groupVar(g))
	}
	if len(g.Threads) > 0 {
		th := "threads " + threadList(g.Threads)
		if len(g.OtherThreads) > 0 {
			th += " vs " + threadList(g.OtherThreads)
		}
		facts = append(facts, th)
	}
	facts = append(facts, fmt.Sprintf("per event avg %s, p90 %s, max %s", durfmt.Short(g.Avg), durfmt.Short(g.P90), durfmt.Short(g.Max)))
	if g.Aborts > 0 {
		facts = append(facts, fmt.Sprintf("%s aborts", fmtThousands(g.Aborts)))
	}
	return strings.Join(facts, "; ")
}

// ifRemovedNote says what the report's if-removed column is: the
// replay's prediction, on how many processors when that is not the
// recording's GOMAXPROCS, or a bound only, and why.
func ifRemovedNote(wi *analyze.WhatIf, s *analyze.Summary) string {
	const what = "if removed: throughput, after / before, if the group's conflicts did not happen"
	if !wi.Replayed {
		return "if removed: the most throughput, after / before, that removing the group's conflicts could give (<=, a bound: " + wi.Reason + "). Model: docs/whatif.md, stmlog whatif."
	}
	if slices.ContainsFunc(wi.Procs, func(p analyze.LogProcs) bool { return p.Measured }) {
		return what + ", by a replay on " + procsText(wi, s) + ". Model: docs/whatif.md, stmlog whatif."
	}
	return what + ", by a replay of the log. Model: docs/whatif.md, stmlog whatif."
}
