package stm

import (
	"runtime"
	"testing"
	"unsafe"
)

// TestFPHashMatchesCallers: fpHashFrom walks the frames fpCallersFrom
// captures from the same frame, at every depth around its 32-frame bound
// and its two-frames-a-round loop, and hashes their return addresses.
func TestFPHashMatchesCallers(t *testing.T) {
	for d := range 40 {
		var buf [maxDepth]uintptr
		h, n, k := fpAt(d, &buf)
		if n != k {
			t.Fatalf("depth %d: fpHashFrom walked %d frames, fpCallersFrom %d", d, n, k)
		}
		want := uint64(0xcbf29ce484222325)
		for _, pc := range buf[:k] {
			want ^= uint64(pc)
			want *= 0x9e3779b97f4a7c15
		}
		if want |= 1; h != want {
			t.Fatalf("depth %d (%d frames): hash %#x, want %#x", d, n, h, want)
		}
	}
}

// fpAt calls fpHashFrom and fpCallersFrom on its caller's frame, d calls
// deep.
//
//go:noinline
func fpAt(d int, buf *[maxDepth]uintptr) (h uint64, n, k int) {
	if d > 0 {
		return fpAt(d-1, buf)
	}
	fb := callerFrame(unsafe.Pointer(&d))
	h, n = fpHashFrom(uintptr(fb))
	k = fpCallersFrom(uintptr(fb), buf)
	return h, n, k
}

// TestCallerFrame: the frame layout callerFrame reads holds in this build
// (framesOK), and the stack from the frame it gives is runtime.Callers'
// from the same function's caller on (compared over the frames up to the
// test's runner: runtime.Callers leaves out the wrapper of a go statement,
// the walk does not).
func TestCallerFrame(t *testing.T) {
	if !framesOK {
		t.Fatal("framesOK is false: every Store's site is walked (callerFrame's layout does not hold)")
	}
	var buf, want [maxDepth]uintptr
	k, w := frameVia(&buf, &want)
	if k < 2 || w < 2 {
		t.Fatalf("captured %d frames from callerFrame, runtime.Callers %d", k, w)
	}
	for i := range 2 {
		if buf[i] != want[i] {
			t.Fatalf("frame %d: %#x, runtime.Callers %#x (%v / %v)", i, buf[i], want[i], buf[:k], want[:w])
		}
	}
}

//go:noinline
func frameVia(buf, want *[maxDepth]uintptr) (k, w int) { return frameFrom(buf, want) }

//go:noinline
func frameFrom(buf, want *[maxDepth]uintptr) (k, w int) {
	fb := callerFrame(unsafe.Pointer(&buf))
	k = captureStackFrom(fb, buf)
	w = runtime.Callers(3, want[:])
	return k, w
}
