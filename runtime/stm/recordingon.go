//go:build !stmlog_norecord

package stm

// recorderBuilt is false in builds with the stmlog_norecord tag, which
// exist only to measure what recording costs while it is off: the one
// atomic load and branch per transaction that recordingOn is (see
// BENCHMARKS.md, "recording off").
const recorderBuilt = true

func recordingOn() bool { return recording.Load() }
