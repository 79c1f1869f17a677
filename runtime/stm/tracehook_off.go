//go:build stmlog_notrace

package stm

// A build with the stmlog_notrace tag: transactions never test the
// execution-tracer switch. For benchmarks only; see tracehook.go.
func tracingOn() bool { return false }

// hookState is hooks as Atomically sees it: without tracing.
func hookState() uint32 { return hooks.Load() &^ uint32(tracing) }
