// Package conflictprof turns attributed conflicts into a pprof profile
// (profile.proto), so the time lost to conflicts can be browsed with the
// tools every Go programmer already has: `go tool pprof -top/-list/-http`,
// flame graphs, focus/ignore filters.
//
// It is a package of its own, rather than part of report, because servers
// link it: runtime/stm/stmhttp builds its live profiles with it, and a
// program that imports stmhttp should get the profile builder and the
// analyzer, not the command line's table renderers. `stmlog pprof` (through
// report's Pprof names) and stmhttp build their profiles with the same code,
// so a live profile and a profile of a log have the same sample types,
// views and labels.
//
// A profile has no notion of "two sides", so the conflict's two stacks are
// mapped onto the single call stack a pprof sample carries, in one of three
// views:
//
//	this   the stack of the side that lost the time (Site)
//	other  the stack of the other side (OtherSite): who to blame
//	pair   this side's stack on top of a pseudo-frame "conflict: <kind>"
//	       on top of the other side's stack, so each other-side root fans
//	       out into the code it hurt
//
// Every sample carries four values (conflicts, aborted, paused and lost
// time) so one file answers all four questions, and labels "kind" (the
// conflict kind) and "other" (file:line of the side not at the sample's
// leaf) for tag filtering. Frames keep function, file and line, so no binary
// is needed to symbolize or list sources.
//
// The values come straight from analyze's attribution (one Group per
// attributed conflict group): the profile's totals are the report's totals by
// construction, not by a second computation that could drift.
package conflictprof

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
)

// View selects which stack a conflict's sample is filed under.
type View uint8

const (
	// ViewThis files each conflict under the stack of the side that lost
	// the time.
	ViewThis View = iota
	// ViewOther files it under the other side's stack.
	ViewOther
	// ViewPair stacks this side on a "conflict: <kind>" pseudo-frame on the
	// other side.
	ViewPair
)

var viewNames = [...]string{ViewThis: "this", ViewOther: "other", ViewPair: "pair"}

func (v View) String() string {
	if int(v) < len(viewNames) {
		return viewNames[v]
	}
	return "view(" + strconv.Itoa(int(v)) + ")"
}

// Views lists every view, in the order the CLI documents them.
var Views = []View{ViewThis, ViewOther, ViewPair}

// ParseView is the inverse of View.String (for CLI flags).
func ParseView(s string) (View, error) {
	for i, n := range viewNames {
		if n == s {
			return View(i), nil
		}
	}
	return 0, fmt.Errorf("unknown view %q (want this, other or pair)", s)
}

// The sample types of every profile, in this order; Sample.Value[i] is the
// value of SampleTypes[i].
const (
	SampleConflicts = "conflicts"
	SampleAborted   = "aborted"
	SamplePaused    = "paused"
	SampleLost      = "lost"
)

// SampleTypes are the names accepted by Options.Sample, in the
// order of the values in each sample.
var SampleTypes = []string{SampleConflicts, SampleAborted, SamplePaused, SampleLost}

// Group is one attributed conflict group: everything the profile needs
// and nothing more. Stacks are resolved (content, not IDs), so groups from
// several logs can go into one profile.
type Group struct {
	Kind      logformat.ConflictKind
	Site      *logformat.Stack // this side; nil when not recorded
	OtherSite *logformat.Stack // the other side; nil when not recorded
	Count     int64            // conflicts attributed to the group
	Aborted   int64            // ns of aborted attempts charged to it
	Paused    int64            // ns of pauses charged to it
}

// Options shape the profile.
type Options struct {
	View View
	// Sample is the default sample type (one of SampleTypes); "" means
	// SampleLost.
	Sample string
	// DurationNanos is the wall time the log covers (profile duration).
	DurationNanos int64
	// TimeNanos is when the log was recorded, if known (0 otherwise).
	TimeNanos int64
	// Comments are stored in the profile (shown by pprof's -comments).
	Comments []string
}

// Pseudo-frame names, chosen so they cannot be mistaken for real functions.
const (
	// UnknownSiteFunc stands for a side whose site the log does not have
	// (PyPy c8 never records the reader of a write-read conflict).
	UnknownSiteFunc = "(site not recorded)"
	kindFramePrefix = "conflict: "
)

// Build builds a profile from attributed groups. Samples whose stacks and
// labels coincide in the chosen view are summed into one.
func Build(groups []Group, opt Options) (*profile.Profile, error) {
	if int(opt.View) >= len(viewNames) {
		return nil, fmt.Errorf("pprof: unknown view %d", opt.View)
	}
	def := opt.Sample
	if def == "" {
		def = SampleLost
	}
	if !slices.Contains(SampleTypes, def) {
		return nil, fmt.Errorf("unknown sample type %q (want %s)", def, strings.Join(SampleTypes, ", "))
	}
	b := &builder{
		p: &profile.Profile{
			SampleType: []*profile.ValueType{
				{Type: SampleConflicts, Unit: "count"},
				{Type: SampleAborted, Unit: "nanoseconds"},
				{Type: SamplePaused, Unit: "nanoseconds"},
				{Type: SampleLost, Unit: "nanoseconds"},
			},
			DefaultSampleType: def,
			DurationNanos:     opt.DurationNanos,
			TimeNanos:         opt.TimeNanos,
			Comments:          append([]string(nil), opt.Comments...),
			// One mapping marked fully symbolized: without it pprof invents
			// an unsymbolized one and looks for a "main binary".
			Mapping: []*profile.Mapping{{ID: 1, File: "stmlog",
				HasFunctions: true, HasFilenames: true, HasLineNumbers: true}},
		},
		funcs:   map[funcKey]*profile.Function{},
		locs:    map[locKey]*profile.Location{},
		samples: map[string]*profile.Sample{},
	}
	for i := range groups {
		b.add(&groups[i], opt.View)
	}
	if err := b.p.CheckValid(); err != nil {
		// Only a bug here can make it invalid; say so rather than write it.
		return nil, fmt.Errorf("pprof: built an invalid profile: %w", err)
	}
	return b.p, nil
}

type funcKey struct{ name, file string }

type locKey struct {
	fn   *profile.Function
	line int64
}

type builder struct {
	p       *profile.Profile
	funcs   map[funcKey]*profile.Function
	locs    map[locKey]*profile.Location
	samples map[string]*profile.Sample // by location IDs + labels
	stack   []*profile.Location        // scratch
	key     []byte                     // scratch
}

func (b *builder) add(g *Group, view View) {
	b.stack = b.stack[:0]
	// hidden is the side the "other" label names: the one not at the leaf.
	hidden := g.OtherSite
	switch view {
	case ViewThis:
		b.appendStack(g.Site)
	case ViewOther:
		hidden = g.Site
		b.appendStack(g.OtherSite)
	case ViewPair:
		b.appendStack(g.Site)
		b.stack = append(b.stack, b.location(kindFramePrefix+g.Kind.String(), "", 0))
		b.appendStack(g.OtherSite)
	}
	labels := map[string][]string{"kind": {g.Kind.String()}}
	if other := siteText(hidden); other != "" {
		labels["other"] = []string{other}
	}

	b.key = b.key[:0]
	for _, l := range b.stack {
		b.key = strconv.AppendUint(b.key, l.ID, 10)
		b.key = append(b.key, ',')
	}
	b.key = append(b.key, 0)
	b.key = append(b.key, labels["kind"][0]...)
	if o := labels["other"]; o != nil {
		b.key = append(b.key, 0)
		b.key = append(b.key, o[0]...)
	}
	s := b.samples[string(b.key)]
	if s == nil {
		s = &profile.Sample{
			Location: append([]*profile.Location(nil), b.stack...),
			Value:    make([]int64, 4),
			Label:    labels,
		}
		b.samples[string(b.key)] = s
		b.p.Sample = append(b.p.Sample, s)
	}
	s.Value[0] += g.Count
	s.Value[1] += g.Aborted
	s.Value[2] += g.Paused
	s.Value[3] += g.Aborted + g.Paused
}

// appendStack appends st's frames, leaf first. A stack without frames but
// with a label (a PyPy marker that could not be parsed into file/line) is one
// frame named by the label; no stack at all is one "(site not recorded)"
// frame, so its time still shows up instead of vanishing into the root.
func (b *builder) appendStack(st *logformat.Stack) {
	switch {
	case st == nil || (len(st.Frames) == 0 && st.Label == ""):
		b.stack = append(b.stack, b.location(UnknownSiteFunc, "", 0))
	case len(st.Frames) == 0:
		b.stack = append(b.stack, b.location(st.Label, "", 0))
	default:
		for _, f := range st.Frames {
			name := f.Func
			if name == "" {
				// pprof needs a name to show; file:line is the best we have.
				name = f.File + ":" + strconv.Itoa(f.Line)
			}
			b.stack = append(b.stack, b.location(name, f.File, f.Line))
		}
	}
}

// location returns the one Location for (function, line), creating it and
// its Function on first use. Locations carry no address: the profile is
// fully symbolized, so no binary is needed.
func (b *builder) location(name, file string, line int) *profile.Location {
	fk := funcKey{name, file}
	fn := b.funcs[fk]
	if fn == nil {
		fn = &profile.Function{
			ID:         uint64(len(b.p.Function) + 1),
			Name:       name,
			SystemName: name,
			Filename:   file,
		}
		b.funcs[fk] = fn
		b.p.Function = append(b.p.Function, fn)
	}
	lk := locKey{fn, int64(line)}
	loc := b.locs[lk]
	if loc == nil {
		loc = &profile.Location{
			ID:      uint64(len(b.p.Location) + 1),
			Mapping: b.p.Mapping[0],
			Line:    []profile.Line{{Function: fn, Line: int64(line)}},
		}
		b.locs[lk] = loc
		b.p.Location = append(b.p.Location, loc)
	}
	return loc
}

// siteText is a stack's leaf as "file:line" (the label form), the marker
// text when there is no frame, or "" when nothing was recorded.
func siteText(st *logformat.Stack) string {
	if st == nil {
		return ""
	}
	if len(st.Frames) == 0 {
		return st.Label
	}
	f := st.Frames[0]
	if f.File == "" {
		return f.Func
	}
	return f.File + ":" + strconv.Itoa(f.Line)
}

// Totals sums a profile's values per sample type, in SampleTypes
// order; tests and callers use it to check a profile against a report.
func Totals(p *profile.Profile) []int64 {
	t := make([]int64, len(p.SampleType))
	for _, s := range p.Sample {
		for i, v := range s.Value {
			t[i] += v
		}
	}
	return t
}

// FromSummary builds the profile of an analysis grouped ByConflict (the
// default), where each group has one kind and both sides' stacks. Other
// groupings merge sites, so they cannot give stacks and are refused.
// Unattributed time (aborts and pauses with no pending conflict) belongs to
// no conflict and is not in the profile, just as it is in no report group.
func FromSummary(s *analyze.Summary, opt Options) (*profile.Profile, error) {
	if s.Options.By != analyze.ByConflict {
		return nil, fmt.Errorf("pprof: needs conflicts grouped by %s, not %s", analyze.ByConflict, s.Options.By)
	}
	if opt.DurationNanos == 0 {
		opt.DurationNanos = int64(s.Wall)
	}
	return Build(Groups(s), opt)
}

// Groups converts a Summary's groups to profile input.
func Groups(s *analyze.Summary) []Group {
	out := make([]Group, len(s.Groups))
	for i := range s.Groups {
		g := &s.Groups[i]
		out[i] = Group{Kind: g.Kind, Site: g.Site, OtherSite: g.OtherSite,
			Count: g.Count, Aborted: int64(g.Aborted), Paused: int64(g.Paused)}
	}
	return out
}
