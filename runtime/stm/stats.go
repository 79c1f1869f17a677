package stm

import (
	"sync/atomic"

	"github.com/stmlog/stmlog/logformat"
)

// Stats are the runtime's own counters since the process started. They are
// kept whether or not recording is on; a log of a whole run holds exactly
// as many commit and abort events as these counters grew by while it was
// recorded (and as many conflict events as the Conflicts counters).
type Stats struct {
	Commits uint64 // attempts that committed
	Aborts  uint64 // attempts rolled back, for any cause (the sum below)

	AbortsConflict uint64 // re-run because of a conflict
	AbortsRetry    uint64 // Retry: waited, then re-run
	AbortsError    uint64 // body returned an error
	AbortsPanic    uint64 // body panicked

	// Conflicts, one per conflict event in a log: each is followed by the
	// abort of the attempt, or by a pause (waiting for an inevitable
	// transaction, or for a commit holding the Var).
	ConflictsWriteWrite uint64
	ConflictsWriteRead  uint64
	ConflictsInevitable uint64

	Inevitable uint64 // transactions that became inevitable (by Inevitable or contention management)
}

// statShard is one transaction context's counters. They live in its clock
// slot (clock.go), so only that context writes them: counting a commit is
// an uncontended atomic add on a line no other core touches. (Shards picked
// by context id collided now and then, and two cores adding to one line
// doubled the cost of a read-only transaction.) Slots keep their counters
// when they are reused, so the sums only ever grow.
type statShard struct {
	commits    atomic.Uint64
	aborts     [5]atomic.Uint64 // by logformat.AbortCause (Unknown..Panic)
	conflicts  [4]atomic.Uint64 // by logformat.ConflictKind
	inevitable atomic.Uint64
}

func (s *statShard) abort(c logformat.AbortCause) { s.aborts[c].Add(1) }

func (s *statShard) conflict(k logformat.ConflictKind) { s.conflicts[k].Add(1) }

// ReadStats returns the counters summed over all shards. Counters move
// concurrently, so the sum is not a snapshot of one instant.
func ReadStats() Stats {
	var st Stats
	slotMu.Lock()
	n := slotNext
	slotMu.Unlock()
	for i := uint32(1); i < n; i++ {
		s := &slotRef(i).stats
		st.Commits += s.commits.Load()
		st.AbortsConflict += s.aborts[logformat.AbortConflict].Load()
		st.AbortsRetry += s.aborts[logformat.AbortRetry].Load()
		st.AbortsError += s.aborts[logformat.AbortError].Load()
		st.AbortsPanic += s.aborts[logformat.AbortPanic].Load()
		st.ConflictsWriteWrite += s.conflicts[logformat.ConflictWriteWrite].Load()
		st.ConflictsWriteRead += s.conflicts[logformat.ConflictWriteRead].Load()
		st.ConflictsInevitable += s.conflicts[logformat.ConflictInevitable].Load()
		st.Inevitable += s.inevitable.Load()
	}
	st.Aborts = st.AbortsConflict + st.AbortsRetry + st.AbortsError + st.AbortsPanic
	return st
}
