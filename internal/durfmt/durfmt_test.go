package durfmt

import (
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Dur(0), "0s"},
		{Dur(999), "999ns"},
		{Dur(1500), "1.500µs"},
		{Dur(-2_500_000), "-2.500ms"},
		{Dur(14_793_000_000), "14.793s"},
		{Delta(1500), "+1.500µs"},
		{Delta(-1500), "-1.500µs"},
		{Delta(0), "0s"},
		{Short(999), "999ns"},
		{Short(1500), "1.50µs"},
		{Short(25_300_000), "25.3ms"},
		{Short(125_000_000), "125ms"},
		{Short(2_500_000_000), "2.50s"},
		{UnitFor(2 * time.Second).Dur(14_793_000_000), "14.793s"},
		{UnitFor(2 * time.Millisecond).Dur(1_500_000), "1.500ms"},
		{UnitFor(2 * time.Microsecond).Dur(1_500), "1.500µs"},
		{UnitFor(2 * time.Second).Dur(1_500), "0.000s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}
