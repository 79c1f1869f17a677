//go:build !stmlog_notrace

package stm

// tracingOn is the execution-tracer hook's test at the start of every
// transaction. Builds with the stmlog_notrace tag leave it out, only to
// measure what it costs while off (BENCHMARKS.md, "trace hook").
func tracingOn() bool { return tracing.Load() }

// hookState is hooks as Atomically sees it.
func hookState() uint32 { return hooks.Load() }
