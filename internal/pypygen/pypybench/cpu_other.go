//go:build !unix

package pypybench

// CPUSeconds is unknown here; the CPU-time metric is then omitted.
func CPUSeconds() float64 { return 0 }
