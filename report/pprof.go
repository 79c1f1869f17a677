package report

// The pprof output lives in package conflictprof, which servers link
// without the rest of report (runtime/stm/stmhttp serves live profiles
// with it). These names keep report's pprof API for the command line.

import (
	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/report/conflictprof"
)

// PprofView selects which stack a conflict's sample is filed under.
type PprofView = conflictprof.View

// The views: see package conflictprof.
const (
	ViewThis  = conflictprof.ViewThis
	ViewOther = conflictprof.ViewOther
	ViewPair  = conflictprof.ViewPair
)

// PprofViews lists every view, in the order the CLI documents them.
var PprofViews = conflictprof.Views

// ParsePprofView is the inverse of PprofView.String (for CLI flags).
func ParsePprofView(s string) (PprofView, error) { return conflictprof.ParseView(s) }

// The sample types of every profile, in this order.
const (
	SampleConflicts = conflictprof.SampleConflicts
	SampleAborted   = conflictprof.SampleAborted
	SamplePaused    = conflictprof.SamplePaused
	SampleLost      = conflictprof.SampleLost
)

// PprofSampleTypes are the sample types, in the order of each sample's
// values.
var PprofSampleTypes = conflictprof.SampleTypes

// PprofGroup is one attributed conflict group.
type PprofGroup = conflictprof.Group

// PprofOptions shape the profile.
type PprofOptions = conflictprof.Options

// UnknownSiteFunc names the frame of a side whose site was not recorded.
const UnknownSiteFunc = conflictprof.UnknownSiteFunc

// Pprof builds a profile from attributed groups (conflictprof.Build).
func Pprof(groups []PprofGroup, opt PprofOptions) (*profile.Profile, error) {
	return conflictprof.Build(groups, opt)
}

// PprofTotals sums a profile's values per sample type.
func PprofTotals(p *profile.Profile) []int64 { return conflictprof.Totals(p) }

// PprofFromSummary builds the profile of an analysis grouped ByConflict
// (conflictprof.FromSummary).
func PprofFromSummary(s *analyze.Summary, opt PprofOptions) (*profile.Profile, error) {
	return conflictprof.FromSummary(s, opt)
}

// PprofGroups converts a Summary's groups to profile input.
func PprofGroups(s *analyze.Summary) []PprofGroup { return conflictprof.Groups(s) }
