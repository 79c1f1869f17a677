//go:build !unix

package benchmode

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
