// Package benchmode is the matrix every example benchmark runs: the STM
// version with recording off and on, and the lock/channel baseline, at 1, 2
// and 4 workers. Keeping it in one place keeps the benchmark names uniform,
// so BENCHMARKS.md (workloads section) can compare them line by line.
package benchmode

import (
	"io"
	"testing"
	"time"

	"github.com/stmlog/stmlog/runtime/stm"
)

// Mode is one column of the comparison.
type Mode struct {
	Name  string
	STM   bool      // run the STM version (else the baseline)
	Log   bool      // record to io.Discard while running
	Level stm.Level // the recording level, when Log
}

// Modes lists the versions each workload is measured in: recording off,
// at the profile level (STMLOG's default), the baseline, and recording at
// the full level (last, so that the first three keep their indexes).
var Modes = []Mode{
	{Name: "stm", STM: true},
	{Name: "stm-log", STM: true, Log: true, Level: stm.LevelProfile},
	{Name: "baseline"},
	{Name: "stm-full", STM: true, Log: true, Level: stm.LevelFull},
}

// Workers lists the worker counts each version is measured at.
var Workers = []int{1, 2, 4}

// Start turns recording on for m.Log (into io.Discard, so the cost measured
// is encoding and buffering, not the disk) and off again when b ends.
func (m Mode) Start(b *testing.B) {
	b.Helper()
	if !m.Log {
		return
	}
	if err := stm.StartLog(io.Discard, stm.WithLevel(m.Level)); err != nil {
		b.Fatalf("StartLog: %v", err)
	}
	b.Cleanup(func() {
		if err := stm.StopLog(); err != nil {
			b.Errorf("StopLog: %v", err)
		}
	})
}

// CPU measures the CPU time the whole process spends during a benchmark,
// per op, next to the wall time that ns/op gives. On a shared, loaded
// machine wall time mostly measures the neighbours; CPU time does not:
// it is the work done per op (including work thrown away by aborts and
// spinning), which is what STM overhead is made of.
type CPU struct {
	start time.Duration
	ok    bool
}

// StartCPU starts measuring; call it right before the timed loop.
func StartCPU() CPU {
	d, ok := processCPU()
	return CPU{start: d, ok: ok}
}

// Report adds the cpu-ns/op metric for b's b.N ops (nothing where the
// platform cannot tell).
func (c CPU) Report(b *testing.B) {
	b.Helper()
	d, ok := processCPU()
	if !ok || !c.ok || b.N == 0 {
		return
	}
	b.ReportMetric(float64(d-c.start)/float64(b.N), "cpu-ns/op")
}

// Attempts counts transaction-body executions (commits and aborts of every
// cause) from the runtime's own statistics, which cost a transaction
// nothing: a counter the bodies increment would add a shared atomic add
// to each attempt of the STM version and to nothing in the baseline.
// Take it before the timed loop; Since gives the attempts made since.
type Attempts struct{ start uint64 }

// StartAttempts starts counting.
func StartAttempts() Attempts { return Attempts{start: attemptsNow()} }

// Since returns the attempts made since StartAttempts, in every goroutine
// of the process (a benchmark runs nothing else transactional).
func (a Attempts) Since() uint64 { return attemptsNow() - a.start }

func attemptsNow() uint64 {
	st := stm.ReadStats()
	return st.Commits + st.Aborts
}
