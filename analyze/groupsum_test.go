package analyze

import (
	"maps"
	"math/rand/v2"
	"testing"
)

// A groupSum's map, once flushed, holds what adding every charge to the
// map directly gives (groups below and above denseGroups, zero charges
// included), whenever it is flushed.
func TestGroupSumSameAsMap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := range 200 {
		var acc groupSum
		got, want := map[int32]int64{}, map[int32]int64{}
		ngroups := []int{3, 40, denseGroups + 50, 2000}[iter%4]
		for range r.IntN(3000) {
			g, d := int32(r.IntN(ngroups)), int64(r.IntN(100))
			if r.IntN(4) == 0 {
				g = int32(r.IntN(2)) // runs of one group
			}
			acc.add(got, g, d)
			want[g] += d
			if r.IntN(500) == 0 {
				acc.flush(got)
				if !maps.Equal(got, want) {
					t.Fatalf("iter %d: flushed midway %v, want %v", iter, got, want)
				}
			}
		}
		acc.flush(got)
		if !maps.Equal(got, want) {
			t.Fatalf("iter %d: %v, want %v", iter, got, want)
		}
	}
}
