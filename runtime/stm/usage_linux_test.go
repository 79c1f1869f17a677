package stm

import "testing"

// parseProcStat takes idle and iowait from the first line, counts the
// processors' lines, stops at the first other line whatever follows, and
// refuses text that does not start as /proc/stat does.
func TestParseProcStat(t *testing.T) {
	const stat = "cpu  10 2 30 400 5 0 1 0 0 0\n" +
		"cpu0 5 1 15 200 2 0 1 0 0 0\n" +
		"cpu1 5 1 15 200 3 0 0 0 0 0\n" +
		"intr 123 4 5 6 7\n" +
		"cpu9 1 1 1 1 1 1 1\n" // not a processor's: after the first other line
	idle, cpus, ok := parseProcStat([]byte(stat))
	if !ok || cpus != 2 || idle != int64(405*(1e9/userHZ)) {
		t.Errorf("parseProcStat = %d, %d, %v; want %d, 2, true", idle, cpus, ok, int64(405*(1e9/userHZ)))
	}
	if idle, cpus, ok := parseProcStat([]byte("cpu  1 2 3 4 5\ncpu0 1 2 3 4 5")); !ok || cpus != 1 || idle != int64(9*(1e9/userHZ)) {
		t.Errorf("without a final newline: %d, %d, %v; want %d, 1, true", idle, cpus, ok, int64(9*(1e9/userHZ)))
	}
	for _, bad := range []string{"", "intr 1 2\n", "cpu  1 2 3\ncpu0 1\n", "cpu  1 2 3 x 5 6\ncpu0 1\n", "cpu  1 2 3 4 5\n"} {
		if idle, cpus, ok := parseProcStat([]byte(bad)); ok {
			t.Errorf("parseProcStat(%q) = %d, %d, true; want not ok", bad, idle, cpus)
		}
	}
}
