//go:build !linux

package stm

// processCPU and machineIdle are known on Linux only (usage_linux.go);
// elsewhere a log has no processor-usage records, and a what-if replay
// assumes the recording had its GOMAXPROCS.
func processCPU() (int64, bool) { return 0, false }

func machineIdle() (idle int64, cpus int, ok bool) { return 0, 0, false }
