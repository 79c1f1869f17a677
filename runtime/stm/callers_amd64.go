package stm

// fpCallers is in callers_amd64.s: a frame-pointer walk costs a few
// nanoseconds per frame, where runtime.Callers costs hundreds of nanoseconds
// per call, which matters because recording captures a stack at every Load
// and Store.
//
//go:noescape
func fpCallers(buf *[maxDepth]uintptr) int

// fpHash is in callers_amd64.s: the hash and depth of the stack fpCallers
// would capture from the same frame, for writeSite.
func fpHash() (h uint64, n int)

// fpKey is in callers_amd64.s: a hash of the first three frames fpHash
// walks and where the fourth is, writeSite's cheap key.
func fpKey() (h uint64, fp uintptr)

// keyHit is in callers_amd64.s: writeSite's lookup by fpKey's key.
//
//go:noescape
func keyHit(w *writeKeys, off, n *int32) bool

// captureStack stores the caller's callers, leaf first, into buf.
func captureStack(buf *[maxDepth]uintptr) int { return fpCallers(buf) }

// cputicks reads the CPU's time-stamp counter: a few nanoseconds, where the
// monotonic clock costs tens (more under virtualization), twice per
// transaction.
//
//go:noescape
func cputicks() int64
