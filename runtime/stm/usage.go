package stm

import (
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// usageEvery is how often, at most, a flush writes a processor-usage
// record; the final flush always writes one.
const usageEvery = 100 * time.Millisecond

// usageMeter measures the processor time a recording had (a
// logformat.Usage record: the process's CPU time and the machine's idle
// time since recording started). A what-if replay needs it: on a machine
// shared with other processes the program had fewer processors than its
// GOMAXPROCS, and its recorded runs are long partly because they were off
// their processor. The flusher goroutine owns it.
type usageMeter struct {
	ok          bool // the platform gives both figures (Linux)
	cpu0, idle0 int64
	cpus        int
	last        time.Duration // recording time of the last record
}

func newUsageMeter() usageMeter {
	cpu, ok1 := processCPU()
	idle, cpus, ok2 := machineIdle()
	return usageMeter{ok: ok1 && ok2, cpu0: cpu, idle0: idle, cpus: cpus}
}

// sample returns the record to write at recording time now: at most every
// usageEvery, and always when final.
func (m *usageMeter) sample(now time.Duration, final bool) (logformat.Usage, bool) {
	if !m.ok || now <= 0 || (!final && now-m.last < usageEvery) {
		return logformat.Usage{}, false
	}
	cpu, ok1 := processCPU()
	idle, cpus, ok2 := machineIdle()
	if !ok1 || !ok2 || cpus != m.cpus {
		return logformat.Usage{}, false // a processor went on or off line: idle is not comparable
	}
	m.last = now
	return logformat.Usage{
		Time:       int64(now),
		ProcessCPU: max(cpu-m.cpu0, 0),
		Idle:       max(idle-m.idle0, 0),
		CPUs:       cpus,
	}, true
}
