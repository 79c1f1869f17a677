//go:build stmlog_norecord

package stm

// A build with the stmlog_norecord tag: transactions never look at the
// recorder, and StartLog and STMLOG have no effect (StartLog says so). For
// benchmarks only; see recordingon.go.
const recorderBuilt = false

func recordingOn() bool { return false }
