//go:build !unix

package stm

// catchSignals does nothing where there are no Unix signals: see
// signals.go.
func catchSignals() {}
