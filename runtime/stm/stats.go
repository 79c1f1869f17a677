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
// slot (clock.go), so only that context writes them, and a count is a
// plain load and store (ownedCount): no locked instruction, on a line no
// other core writes. Shards shared by several contexts would need atomic
// adds, which cost as much as a whole read-only transaction's other work,
// and made two cores fight over lines. Slots keep their counters when they
// are reused, so the sums only ever grow.
type statShard struct {
	commits    ownedCount
	aborts     [5]ownedCount // by logformat.AbortCause (Unknown..Panic)
	conflicts  [4]ownedCount // by logformat.ConflictKind
	inevitable ownedCount
}

// ownedCount is a counter written by one context only and read by
// ReadStats: the writer needs no read-modify-write, only a store that a
// concurrent atomic load sees whole (storeOwned).
type ownedCount struct{ v atomic.Uint64 }

func (c *ownedCount) inc() { storeOwned(&c.v, c.v.Load()+1) }

func (c *ownedCount) Load() uint64 { return c.v.Load() }

func (s *statShard) abort(c logformat.AbortCause) { s.aborts[c].inc() }

func (s *statShard) conflict(k logformat.ConflictKind) { s.conflicts[k].inc() }

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
