package stm

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A log ends with a processor-usage record that covers the recording: its
// time is the recording's length, the process's CPU time is some of it
// and no more than the machine's processors give, and so are the
// processors it could have had. Linux only (the other platforms
// write none).
func TestRecordUsage(t *testing.T) {
	v := NewVar(0)
	var spun time.Duration
	data := record(t, func() {
		start := time.Now()
		for time.Since(start) < 150*time.Millisecond { // past usageEvery: a record mid-way too
			Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
		}
		spun = time.Since(start)
	})
	_, r := readLog(t, data)
	u := r.Meta().Usage
	if runtime.GOOS != "linux" {
		if u.Time != 0 {
			t.Errorf("usage record %+v on %s", u, runtime.GOOS)
		}
		return
	}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Skipf("no /proc/stat: %v", err)
	}
	cpus := strings.Count(string(stat), "\ncpu")
	switch {
	case u.CPUs != cpus:
		t.Errorf("usage %+v: %d processors, /proc/stat has %d", u, u.CPUs, cpus)
	case time.Duration(u.Time) < spun:
		t.Errorf("usage %+v: covers %v, the recording ran %v", u, time.Duration(u.Time), spun)
	case u.ProcessCPU <= 0 || u.ProcessCPU > u.Time*int64(cpus)+int64(cpus)*20e6:
		// the loop ran on a processor for part of spun at least (on a
		// loaded machine, a small part), and the process cannot have
		// had more than every processor
		t.Errorf("usage %+v: %v of CPU time over %v on %d processors", u, time.Duration(u.ProcessCPU), time.Duration(u.Time), cpus)
	}
	// Whole ticks of 10 ms at both ends of the idle count make it
	// inexact: allow two per processor over the recording.
	slack := float64(2*cpus) * 10e6 / float64(u.Time)
	if a := u.Available(); a <= 0 || a > float64(cpus)+slack {
		t.Errorf("usage %+v: %.2f processors available, want more than 0, at most %d", u, a, cpus)
	}
}
