//go:build (linux && amd64) || arm64

package stm

// curg returns the address of the running goroutine's runtime descriptor
// (its g), read from the register (arm64) or TLS slot (linux/amd64) where
// the Go runtime keeps it; other amd64 systems reach TLS differently and
// are left to the fallback. It is only used as an identity: Go has no cheap goroutine id (parsing
// runtime.Stack costs microseconds, more than a small transaction), and a
// g stays the same for the goroutine's whole life. The runtime recycles
// the g of an exited goroutine for a new one, so an identity, like an OS
// thread id, is unique only among live goroutines.
func curg() uintptr

// haveCurg: curg never returns 0 here, so a context whose lastG is the
// running goroutine has its lastGThread set (goThread sets both).
const haveCurg = true
