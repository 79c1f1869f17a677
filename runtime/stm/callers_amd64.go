package stm

import (
	"runtime"
	"unsafe"
)

// fpCallers is in callers_amd64.s: a frame-pointer walk costs a few
// nanoseconds per frame, where runtime.Callers costs hundreds of nanoseconds
// per call, which matters because recording captures a stack at every Load
// and Store.
//
//go:noescape
func fpCallers(buf *[maxDepth]uintptr) int

// fpCallersFrom is in callers_amd64.s: fpCallers from a given frame.
//
//go:noescape
func fpCallersFrom(fp uintptr, buf *[maxDepth]uintptr) int

// fpHashFrom is in callers_amd64.s: the hash and depth of the stack
// fpCallersFrom would capture from the same frame, for walkSite.
func fpHashFrom(fp uintptr) (h uint64, n int)

// captureStack stores the caller's callers, leaf first, into buf.
func captureStack(buf *[maxDepth]uintptr) int { return fpCallers(buf) }

// captureStackFrom stores the return addresses of the frames from fb up
// (fb's own first), leaf first, into buf. The stack cannot move while the
// walk runs: it calls nothing.
func captureStackFrom(fb unsafe.Pointer, buf *[maxDepth]uintptr) int {
	return fpCallersFrom(uintptr(fb), buf)
}

// hashStackFrom is the hash and depth of what captureStackFrom would
// capture (0 for none).
func hashStackFrom(fb unsafe.Pointer) (uint64, int) { return fpHashFrom(uintptr(fb)) }

// callerFrame returns the frame of the caller of the function whose first
// register argument (its receiver, say) is at arg, an address the
// function took of it. The register ABI gives that argument a spill slot
// in the caller's frame right above the return address, and the function's
// prologue saves the caller's frame pointer right below it: so arg-8 holds
// the return address and arg-16 the caller's frame, whose word 0 is the
// frame pointer it saved and word 1 its own return address. Reading them
// costs two loads where a call of assembly that reads BP costs its
// caller's spills. framesOK checks the layout once, at start; without it,
// nil (no key: every Store walks).
//
// The function must not be inlined (its argument would be a local of its
// caller's frame).
func callerFrame(arg unsafe.Pointer) unsafe.Pointer {
	if !framesOK {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Add(arg, -16))
}

// framesOK: callerFrame's layout holds for this build (checkFrames).
var framesOK = checkFrames()

//go:noinline
func checkFrames() bool { return probeFrame(nil) }

// probeFrame compares what callerFrame's layout reads from its frame with
// what runtime.Callers says: its return address, and its caller's.
//
//go:noinline
func probeFrame(p *int) bool {
	var pcs [2]uintptr
	if runtime.Callers(2, pcs[:]) < 2 {
		return false
	}
	a := unsafe.Pointer(&p)
	fb := *(*unsafe.Pointer)(unsafe.Add(a, -16))
	return *(*uintptr)(unsafe.Add(a, -8)) == pcs[0] && uintptr(fb) > uintptr(a) &&
		*(*uintptr)(unsafe.Add(fb, 8)) == pcs[1]
}

// keyHere is in callers_amd64.s: writeKeys.hit for its caller's frame
// (store's), without the &tx that writeSite takes (store's off path would
// pay a store for it); site is a write entry's pcOff and pcN.
//
//go:noescape
func keyHere(w *writeKeys, site *[2]int32) bool

// keyHere reads writeKeys at these offsets; the checks live here because
// the layout is only fixed where the assembly is built (on 32-bit targets the
// words are smaller).
var (
	_ [unsafe.Sizeof(writeKey{}) - 32]struct{}
	_ [32 - unsafe.Sizeof(writeKey{})]struct{}
	_ [unsafe.Offsetof(writeKey{}.ret) - 8]struct{}
	_ [unsafe.Offsetof(writeKey{}.fp) - 16]struct{}
	_ [unsafe.Offsetof(writeKey{}.id) - 24]struct{}
	_ [unsafe.Offsetof(writeKeys{}.check) - 128]struct{}
	_ [128 - unsafe.Offsetof(writeKeys{}.check)]struct{}
	_ [keySlots - 4]struct{}
	_ [4 - keySlots]struct{}
	_ [siteInterned - 0x40000000]struct{}
	_ [0x40000000 - siteInterned]struct{}
	// keyHere's one store of a site: pcN is the word after pcOff.
	_ [unsafe.Offsetof(writeEntry{}.pcN) - unsafe.Offsetof(writeEntry{}.pcOff) - 4]struct{}
	_ [4 - (unsafe.Offsetof(writeEntry{}.pcN) - unsafe.Offsetof(writeEntry{}.pcOff))]struct{}
)

// cputicks reads the CPU's time-stamp counter: a few nanoseconds, where the
// monotonic clock costs tens (more under virtualization), twice per
// transaction.
//
//go:noescape
func cputicks() int64
