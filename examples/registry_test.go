package examples

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	want := []string{"primes", "mandelbrot", "btree", "astar", "bank", "prodcons"}
	if got := strings.Join(Names(), ","); got != strings.Join(want, ",") {
		t.Errorf("Names() = %s, want %s", got, strings.Join(want, ","))
	}
	for _, name := range want {
		w, ok := Lookup(name)
		if !ok || w.Name != name || w.Summary == "" || w.Run == nil || w.DefaultSize <= 0 {
			t.Errorf("Lookup(%q) = %+v, %v", name, w, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error(`Lookup("nope") found something`)
	}
}

// TestRunAll runs every workload briefly, STM and baseline, with small sizes:
// the demo command's path, end to end.
func TestRunAll(t *testing.T) {
	small := map[string]int{"primes": 300, "mandelbrot": 32, "btree": 500, "astar": 16, "bank": 8, "prodcons": 500}
	for _, w := range All() {
		for _, v := range []struct{ baseline, fixed bool }{{false, false}, {true, false}, {false, true}} {
			baseline := v.baseline
			if v.fixed && (!w.HasFixed || w.FixedChange == "") {
				if w.HasFixed || w.FixedChange != "" {
					t.Errorf("%s: HasFixed %v but FixedChange %q", w.Name, w.HasFixed, w.FixedChange)
				}
				continue
			}
			res, err := w.Run(context.Background(), Config{Workers: 2, Duration: 30 * time.Millisecond, Size: small[w.Name], Baseline: baseline, Fixed: v.fixed})
			if err != nil {
				t.Errorf("%s (baseline %v, fixed %v): %v", w.Name, baseline, v.fixed, err)
				continue
			}
			if res.Ops <= 0 || res.Elapsed <= 0 || res.Unit == "" || res.Check == "" {
				t.Errorf("%s (baseline %v): result %+v", w.Name, baseline, res)
			}
			if !baseline && (res.Txs <= 0 || res.Attempts < res.Txs) {
				t.Errorf("%s (fixed %v): %d attempts for %d transactions", w.Name, v.fixed, res.Attempts, res.Txs)
			}
		}
	}
}
