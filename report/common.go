package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
)

// Options tune the Summary renderers (Text, Markdown, JSON, CSV).
type Options struct {
	// Top is how many groups to show; <= 0 shows them all.
	Top int
	// SourceRoot, when set, is where source files are looked up first: a
	// site's file /build/x/srv/h.go is tried as ROOT/build/x/srv/h.go,
	// ROOT/x/srv/h.go, ROOT/srv/h.go, ROOT/h.go, then as recorded.
	SourceRoot string
	// NoSource turns off reading source files (source lines are omitted).
	NoSource bool
	// Vet, when set, returns a static checker's diagnostics for a source
	// line (cmd/stmlog's --vet runs stmvet): a group shows those of its
	// sites' lines beside its hint.
	Vet func(file string, line int) []string
	// WhatIf, when set, holds predictions for the top groups (stmlog
	// whatif): the text report shows them as a column, JSON as each
	// group's if_removed. Groups without one show nothing (null).
	WhatIf *analyze.WhatIf
}

// prediction returns the what-if prediction for the group of this rank.
func (opt Options) prediction(rank int) *analyze.Prediction {
	if opt.WhatIf == nil {
		return nil
	}
	for i := range opt.WhatIf.Groups {
		if opt.WhatIf.Groups[i].Rank == rank {
			return &opt.WhatIf.Groups[i]
		}
	}
	return nil
}

// fmtIfRemoved is the text column: the replay's speedup, or the bound
// ("<=1.93x") when there is no replay.
func fmtIfRemoved(wi *analyze.WhatIf, p *analyze.Prediction) string {
	switch {
	case p == nil:
		return "-"
	case wi.Replayed:
		return fmtSpeedup(p.Speedup)
	}
	return "<=" + fmtSpeedup(p.BoundSpeedup)
}

// Formats are the names accepted by Write.
var Formats = []string{"text", "json", "csv", "markdown"}

// Write renders s in the named format ("text", "json", "csv", "markdown").
func Write(w io.Writer, format string, s *analyze.Summary, opt Options) error {
	switch format {
	case "text", "":
		return Text(w, s, opt)
	case "json":
		return JSON(w, s, opt)
	case "csv":
		return CSV(w, s, opt)
	case "markdown", "md":
		return Markdown(w, s, opt)
	}
	return fmt.Errorf("unknown report format %q (want %s)", format, strings.Join(Formats, ", "))
}

func topGroups(s *analyze.Summary, top int) []analyze.Group {
	if top <= 0 || top > len(s.Groups) {
		return s.Groups
	}
	return s.Groups[:top]
}

// Durations are printed by package durfmt (Unit for the times of one
// report that add up, Dur for a lone time, Short for a per-event time), the
// one way every command prints them. CSV and JSON print integer
// nanoseconds.

// cpuPercent is d as a percentage of the CPU time in transactions, the
// gate's default base (0 when there is none).
func cpuPercent(s *analyze.Summary, d time.Duration) float64 {
	if s.CPU() <= 0 {
		return 0
	}
	return 100 * float64(d) / float64(s.CPU())
}

// fmtPercent formats p with one decimal, or none at 100 and above.
func fmtPercent(p float64) string {
	if p >= 99.95 {
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// fmtThousands writes n with thousands separators.
func fmtThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtTimeline renders cells the way PyPy's report does: ' ' for none,
// else '_', 'x' or 'X' by count relative to the busiest cell.
func fmtTimeline(cells *[analyze.TimelineCells]int64) string {
	var mx int64
	for _, c := range cells {
		mx = max(mx, c)
	}
	b := make([]byte, len(cells))
	for i, c := range cells {
		if c == 0 {
			b[i] = ' '
			continue
		}
		b[i] = "_xX"[int(float64(c)/(float64(mx)+0.1)*3)]
	}
	return string(b)
}

// shortFunc drops the package path from a Go function name, keeping the
// package name: "github.com/a/srv.(*H).serve" → "srv.(*H).serve".
func shortFunc(f string) string {
	slash := strings.LastIndexByte(f, '/')
	if slash >= 0 {
		return f[slash+1:]
	}
	return f
}

// shortFile keeps the last two elements of a path: "/a/b/srv/h.go" → "srv/h.go".
func shortFile(f string) string {
	i := strings.LastIndexAny(f, `/\`)
	if i <= 0 {
		return f
	}
	j := strings.LastIndexAny(f[:i], `/\`)
	return f[j+1:]
}

// Sites. A site prints in one of three forms, all from its leaf frame:
// siteLine in prose (text, markdown, diff, --fail-over), siteShort in a
// table cell, siteFields as CSV's func, file and line columns (JSON keeps
// the whole stack, jsonSiteOf).

// siteLine is how a site reads in text reports: "srv/h.go:455 in
// srv.(*H).serve", or the stack's label (PyPy markers), or "?".
func siteLine(st *logformat.Stack) string {
	s := siteShort(st)
	if st != nil && len(st.Frames) > 0 && st.Frames[0].Func != "" {
		s += " in " + shortFunc(st.Frames[0].Func)
	}
	return s
}

// siteShort is the compact form used in table cells: "srv/h.go:455".
func siteShort(st *logformat.Stack) string {
	if st == nil {
		return "?"
	}
	if len(st.Frames) == 0 {
		if st.Label != "" {
			return st.Label
		}
		return "?"
	}
	f := st.Frames[0]
	return shortFile(f.File) + ":" + strconv.Itoa(f.Line)
}

// siteFields is a site as CSV's columns: its leaf's function, file and
// line, or a label (PyPy markers) as the file; all "" for an unknown site.
func siteFields(st *logformat.Stack) (fn, file, line string) {
	if st == nil {
		return "", "", ""
	}
	if len(st.Frames) == 0 {
		return "", st.Label, ""
	}
	f := st.Frames[0]
	return f.Func, f.File, strconv.Itoa(f.Line)
}

// groupTitle names what a group is about when it has no single pair of
// sites (the other groupings).
func groupTitle(s *analyze.Summary, g *analyze.Group) string {
	log := ""
	if len(s.Logs) > 1 {
		log = s.GroupLog(g)
	}
	return titleOf(s.Options.By, g.Kind, g.Thread, g.Var, g.VarName, log)
}

// titleOf is groupTitle from the group's data, so that a diff's groups
// (analyze.DiffGroup) read as the report's: log is analyze.Summary.GroupLog
// when the summary read several logs, else "".
func titleOf(by analyze.GroupBy, kind logformat.ConflictKind, thread uint32, id uint64, varName, log string) string {
	of := ""
	if log != "" {
		of = " of " + log
	}
	switch by {
	case analyze.ByKind:
		return "kind " + conflictKindName(kind)
	case analyze.ByThread:
		return fmt.Sprintf("thread %d", thread) + of
	case analyze.ByVar:
		return "var " + varLabel(varName, id) + of
	}
	return ""
}

func conflictKindName(k logformat.ConflictKind) string {
	if k == logformat.ConflictNone {
		return "mixed"
	}
	return k.String()
}

func groupVar(g *analyze.Group) string { return varLabel(g.VarName, g.Var) }

// varLabel is how a Var reads: its name, else its id, else "(none)".
func varLabel(name string, id uint64) string {
	switch {
	case name != "":
		return name
	case id != 0:
		return "#" + strconv.FormatUint(id, 10)
	}
	return "(none)"
}

func threadList(ids []uint32) string {
	const maxShown = 8
	var b strings.Builder
	for i, id := range ids {
		if i == maxShown {
			fmt.Fprintf(&b, ",+%d", len(ids)-maxShown)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(id), 10))
	}
	return b.String()
}

// sourceCache reads source lines for sites, caching files. It reads only
// the files of the sites actually shown (top N groups), so its cost does not
// depend on the log size.
type sourceCache struct {
	root  string
	off   bool
	files map[string][]string // path as recorded -> lines (nil: unreadable)
}

func newSourceCache(opt Options) *sourceCache {
	return &sourceCache{root: opt.SourceRoot, off: opt.NoSource, files: map[string][]string{}}
}

// candidates lists where file may be found, most specific first.
func (sl *sourceCache) candidates(file string) []string {
	var out []string
	if sl.root != "" {
		p := filepath.ToSlash(file)
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		for i := range parts {
			out = append(out, filepath.Join(sl.root, filepath.FromSlash(strings.Join(parts[i:], "/"))))
		}
	}
	return append(out, file)
}

const maxSourceFile = 8 << 20 // do not read huge generated files

// line returns the source line, spaces trimmed, or "" if unknown.
func (sl *sourceCache) line(file string, n int) string {
	if sl.off || file == "" || n <= 0 {
		return ""
	}
	lines, ok := sl.files[file]
	if !ok {
		for _, c := range sl.candidates(file) {
			if lines = readSourceFile(c); lines != nil {
				break
			}
		}
		sl.files[file] = lines
	}
	if n > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[n-1])
}

func readSourceFile(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() > maxSourceFile {
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxSourceFile)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if sc.Err() != nil {
		return nil
	}
	return lines
}

// site returns the source line of a stack's leaf frame.
func (sl *sourceCache) site(st *logformat.Stack) string {
	if st == nil || len(st.Frames) == 0 {
		return ""
	}
	f := st.Frames[0]
	return sl.line(f.File, f.Line)
}

// plural writes "1 group", "2 groups".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmtThousands(n) + " " + noun + "s"
}

// groupHints computes the hint of every group (analyze.Hints), keyed by
// group key, with the sites' source lines when the source is at hand.
func groupHints(s *analyze.Summary, src *sourceCache) (map[string]analyze.Hint, analyze.Hint) {
	hs, run := analyze.Hints(s, func(f logformat.Frame) string { return src.line(f.File, f.Line) })
	out := make(map[string]analyze.Hint, len(hs))
	for i, h := range hs {
		if h.ID != "" {
			out[s.Groups[i].Key] = h
		}
	}
	return out, run
}

// vetNote is a static checker's diagnostic at one of a group's sites.
type vetNote struct {
	Site    string `json:"site"`
	Message string `json:"message"`
}

// groupVet returns the diagnostics at g's two sites' lines, once each.
func groupVet(g *analyze.Group, opt Options) []vetNote {
	out := []vetNote{}
	if opt.Vet == nil {
		return out
	}
	seen := map[string]bool{}
	for _, st := range []*logformat.Stack{g.Site, g.OtherSite} {
		f := st.Leaf()
		if f.File == "" {
			continue
		}
		key := f.File + ":" + strconv.Itoa(f.Line)
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, m := range opt.Vet(f.File, f.Line) {
			out = append(out, vetNote{Site: filepath.Base(f.File) + ":" + strconv.Itoa(f.Line), Message: m})
		}
	}
	return out
}

// Hints returns the hint of every group of s (parallel to s.Groups), and
// the run's, reading the sites' source lines as the other formats do, for
// renderers outside this package (the web index page).
func Hints(s *analyze.Summary, opt Options) ([]analyze.Hint, analyze.Hint) {
	src := newSourceCache(opt)
	return analyze.Hints(s, func(f logformat.Frame) string { return src.line(f.File, f.Line) })
}
