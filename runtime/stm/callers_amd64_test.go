package stm

import "testing"

// TestFPHashMatchesCallers: fpHash walks the frames fpCallers captures from
// the same frame, at every depth around its 32-frame bound and its
// two-frames-a-round loop, and hashes their return addresses.
func TestFPHashMatchesCallers(t *testing.T) {
	for d := range 40 {
		var buf [maxDepth]uintptr
		h, n, k := fpAt(d, &buf)
		if n != k {
			t.Fatalf("depth %d: fpHash walked %d frames, fpCallers %d", d, n, k)
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

// fpAt calls fpHash and fpCallers from one frame, d calls deep.
//
//go:noinline
func fpAt(d int, buf *[maxDepth]uintptr) (h uint64, n, k int) {
	if d > 0 {
		return fpAt(d-1, buf)
	}
	h, n = fpHash()
	k = fpCallers(buf)
	return h, n, k
}
