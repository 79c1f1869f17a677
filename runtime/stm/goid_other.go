//go:build !amd64 && !arm64

package stm

// curg has no implementation on this architecture: 0 makes recording fall
// back to one thread per transaction context (see record.go).
func curg() uintptr { return 0 }
