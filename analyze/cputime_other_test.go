//go:build !unix

package analyze_test

import "time"

// processCPUTime is unavailable here; the cpu-ns metrics are then omitted.
func processCPUTime() time.Duration { return 0 }
