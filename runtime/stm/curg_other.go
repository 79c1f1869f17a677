//go:build !((linux && amd64) || arm64)

package stm

// curg has no implementation on this system: 0 makes recording fall
// back to one thread per transaction context (see record.go).
func curg() uintptr { return 0 }

// haveCurg: no counted calls on the plain path (Atomically) here.
const haveCurg = false
