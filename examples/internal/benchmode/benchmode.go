// Package benchmode is the matrix every example benchmark runs: the STM
// version with recording off and on, and the lock/channel baseline, at 1, 2
// and 4 workers. Keeping it in one place keeps the benchmark names uniform,
// so BENCHMARKS.d/examples.md can compare them line by line.
package benchmode

import (
	"io"
	"testing"

	"github.com/stmlog/stmlog/runtime/stm"
)

// Mode is one column of the comparison.
type Mode struct {
	Name string
	STM  bool // run the STM version (else the baseline)
	Log  bool // record to io.Discard while running
}

// Modes lists the versions each workload is measured in.
var Modes = []Mode{
	{Name: "stm", STM: true},
	{Name: "stm-log", STM: true, Log: true},
	{Name: "baseline"},
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
	if err := stm.StartLog(io.Discard); err != nil {
		b.Fatalf("StartLog: %v", err)
	}
	b.Cleanup(func() {
		if err := stm.StopLog(); err != nil {
			b.Errorf("StopLog: %v", err)
		}
	})
}
