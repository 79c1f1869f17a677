//go:build !unix

package pypyreport

// pypyCPUSeconds is unknown here; the CPU-time metric is then omitted.
func pypyCPUSeconds() float64 { return 0 }
