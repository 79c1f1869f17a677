package analyze

// BoundFirst makes s keep from the start only what it keeps past its Limit,
// the bound (no segment is built), and count the segments it would have
// kept, for a caller that can read its logs again: a report of a long log
// builds its Limit's worth of segments (about 30 MB) only to drop them at
// the Limit. After the logs are read, NeedsSegments tells whether they
// would have stayed within the Limit, and then s cannot replay them (its
// WhatIf says they are over the Limit): read them again into a new
// Schedule. Otherwise WhatIf gives what it would have without BoundFirst.
// It does nothing to a Prefix schedule, which keeps its segments.
//
// The segments are counted by an Analyzer reading s's tee directly, in
// its batch loop (Analyzer.batch: an event ends a segment when its thread's
// clock moves); events read otherwise, and aggregate records, which move
// the schedule's clock and not the Analyzer's, leave the count unknown.
func (s *Schedule) BoundFirst() {
	if s.Prefix || len(s.logs) > 0 {
		return
	}
	s.over, s.boundFirst = true, true
}

// NeedsSegments reports whether a BoundFirst schedule's logs would have
// stayed within its Limit (or whether that is not known): then they must be
// read again into a Schedule without BoundFirst for WhatIf to replay them.
func (s *Schedule) NeedsSegments() bool {
	// addSeg sets over at the segment past the Limit
	return s.boundFirst && (s.segsUnknown || s.segs <= s.limit())
}
