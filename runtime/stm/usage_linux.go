package stm

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// processCPU returns the process's user and system CPU time, ns.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}

// userHZ is the unit of /proc/stat's times: USER_HZ, 100 on every Linux
// architecture's user-space ABI.
const userHZ = 100

// machineIdle returns the time the machine's processors have been idle
// since boot (idle and waiting for I/O, summed over them; ns) and how many
// there are, from /proc/stat.
func machineIdle() (idle int64, cpus int, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	return parseProcStat(b)
}

// parseProcStat is machineIdle's reading of the text of /proc/stat.
func parseProcStat(b []byte) (idle int64, cpus int, ok bool) {
	// "cpu  user nice system idle iowait irq softirq steal ...", then one
	// "cpuN ..." line per processor, then lines of thousands of fields
	// ("intr ..."): only the first line is split into fields, the others
	// are told by their prefix, and the scan stops at the first that is
	// not a processor's.
	for i := 0; len(b) > 0; i++ {
		line := b
		if n := bytes.IndexByte(b, '\n'); n >= 0 {
			line, b = b[:n], b[n+1:]
		} else {
			b = nil
		}
		if !bytes.HasPrefix(line, []byte("cpu")) {
			if i > 0 {
				break
			}
			return 0, 0, false
		}
		if i > 0 {
			cpus++
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 6 || string(f[0]) != "cpu" {
			return 0, 0, false
		}
		for _, v := range f[4:6] { // idle, iowait
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return 0, 0, false
			}
			idle += n
		}
	}
	return idle * (1e9 / userHZ), cpus, cpus > 0
}
