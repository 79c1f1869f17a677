package stm

import "unsafe"

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

// keyHere is in callers_amd64.s: keyHit for the Store that calls it, from
// its own frame: the key is its return address and the two above it
// (writeSite's key, where the Store had called writeSite), returned when
// it misses for walkKey. site is a write entry's pcOff and pcN.
//
//go:noescape
func keyHere(w *writeKeys, site *[2]int32) (hit bool, kh uint64, kfp uintptr)

// captureStack stores the caller's callers, leaf first, into buf.
func captureStack(buf *[maxDepth]uintptr) int { return fpCallers(buf) }

// cputicks reads the CPU's time-stamp counter: a few nanoseconds, where the
// monotonic clock costs tens (more under virtualization), twice per
// transaction.
//
//go:noescape
func cputicks() int64

// keyHit reads writeKeys at these offsets; the checks live here because
// the layout is only fixed where the assembly is built (on 32-bit targets the
// words are smaller).
var (
	_ [unsafe.Sizeof(writeKey{}) - 24]struct{}
	_ [24 - unsafe.Sizeof(writeKey{})]struct{}
	_ [unsafe.Offsetof(writeKey{}.kfp) - 8]struct{}
	_ [unsafe.Offsetof(writeKey{}.id) - 16]struct{}
	_ [unsafe.Offsetof(writeKeys{}.check) - 96]struct{}
	_ [96 - unsafe.Offsetof(writeKeys{}.check)]struct{}
	_ [keySlots - 4]struct{}
	_ [4 - keySlots]struct{}
	_ [siteInterned - 0x40000000]struct{}
	_ [0x40000000 - siteInterned]struct{}
	// keyHere's one store of a site: pcN is the word after pcOff.
	_ [unsafe.Offsetof(writeEntry{}.pcN) - unsafe.Offsetof(writeEntry{}.pcOff) - 4]struct{}
	_ [4 - (unsafe.Offsetof(writeEntry{}.pcN) - unsafe.Offsetof(writeEntry{}.pcOff))]struct{}
)
