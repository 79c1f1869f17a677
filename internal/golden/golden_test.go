package golden

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	if d := Diff([]byte("a\nb\nc\n"), []byte("a\nB\nc\n")); d != "line 2:\n  got:  b\n  want: B\n" {
		t.Errorf("text diff %q", d)
	}
	if d := Diff([]byte("a\n"), []byte("a\nmore\n")); !strings.Contains(d, "line 2:\n  got:  \n  want: more") {
		t.Errorf("shorter text diff %q", d)
	}
	if d := Diff([]byte{1, 0, 2}, []byte{1, 0, 3, 4}); d != "got 3 bytes, want 4; they differ from byte 2" {
		t.Errorf("binary diff %q", d)
	}
}
