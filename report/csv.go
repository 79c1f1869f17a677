package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
)

// CSVHeader is the first row of CSV reports; the columns are stable (new
// ones are only ever appended). Times are integer nanoseconds.
var CSVHeader = []string{
	"rank", "kind", "lost_ns", "aborted_ns", "paused_ns", "count", "aborts",
	"avg_ns", "p90_ns", "max_ns",
	"this_func", "this_file", "this_line", "other_func", "other_file", "other_line",
	"thread", "var", "var_name", "threads", "other_threads", "first_ns", "last_ns",
	"log", "hint_id", "hint",
}

// CSV writes one row per group (the top N), after CSVHeader. Totals are not
// in the CSV (they do not fit its one-row-per-group shape); use JSON for them.
func CSV(w io.Writer, s *analyze.Summary, opt Options) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range buildRows(s, opt, newSourceCache(opt)).Rows {
		g := r.Group
		kind := "" // a group of several kinds: no kind, rather than text's "mixed"
		if g.Kind != logformat.ConflictNone {
			kind = r.Kind
		}
		tf, tfile, tl := siteFields(g.Site)
		of, ofile, ol := siteFields(g.OtherSite)
		thread, v := "", ""
		if g.Thread != 0 {
			thread = strconv.FormatUint(uint64(g.Thread), 10)
		}
		if g.Var != 0 {
			v = strconv.FormatUint(g.Var, 10)
		}
		row := []string{
			strconv.Itoa(r.Rank), kind, i64(int64(g.Lost)), i64(int64(g.Aborted)), i64(int64(g.Paused)),
			i64(g.Count), i64(g.Aborts), i64(int64(g.Avg)), i64(int64(g.P90)), i64(int64(g.Max)),
			tf, tfile, tl, of, ofile, ol,
			thread, v, g.VarName, idList(g.Threads), idList(g.OtherThreads), i64(int64(g.First)), i64(int64(g.Last)),
			s.GroupLog(g), r.Hint.ID, r.Hint.Text,
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// idList joins thread numbers with spaces (a CSV cell, so no commas).
func idList(ids []uint32) string {
	b := make([]byte, 0, 4*len(ids))
	for i, id := range ids {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendUint(b, uint64(id), 10)
	}
	return string(b)
}
