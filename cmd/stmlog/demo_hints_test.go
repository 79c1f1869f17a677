package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/examples"
)

// TestDemoHints runs each demo that has a fixed version, naive and fixed:
// the naive run's top group must carry the hint that names what --fixed
// changes, the fixed run no group with that hint, and the demo must say in
// one line what --fixed changes.
func TestDemoHints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four workloads twice")
	}
	// The hints that point at each fixed version's change.
	want := map[string][]string{
		"primes":   {"inevitable-pure", "inevitable-io"},
		"btree":    {"hot-var"},
		"astar":    {"partition"},
		"prodcons": {"batch-handoff"},
	}
	type group struct {
		Hint *struct{ ID, Text string } `json:"hint"`
	}
	hintsOf := func(out string) []string {
		var rep struct{ Groups []group }
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("demo JSON: %v", err)
		}
		ids := make([]string, len(rep.Groups))
		for i, g := range rep.Groups {
			if g.Hint != nil {
				ids[i] = g.Hint.ID
			}
		}
		return ids
	}
	for _, w := range examples.All() {
		if !w.HasFixed {
			continue
		}
		ids, ok := want[w.Name]
		if !ok {
			t.Errorf("%s has a fixed version but no expected hint here", w.Name)
			continue
		}
		t.Run(w.Name, func(t *testing.T) {
			naive := runIn("demo", "--duration", "500ms", "--workers", "4", "--format", "json", w.Name)
			if naive.code != 0 {
				t.Fatalf("demo %s: exit %d: %s", w.Name, naive.code, naive.stderr)
			}
			if !strings.Contains(naive.stderr, "stmlog demo: --fixed "+w.FixedChange+"\n") {
				t.Errorf("demo %s does not say what --fixed changes:\n%s", w.Name, naive.stderr)
			}
			got := hintsOf(naive.stdout)
			if len(got) == 0 || !slices.Contains(ids, got[0]) {
				t.Errorf("naive %s: top group's hint %q, want one of %v (all: %q)", w.Name, first(got), ids, got)
			}
			fixed := runIn("demo", "--duration", "500ms", "--workers", "4", "--format", "json", "--fixed", w.Name)
			if fixed.code != 0 {
				t.Fatalf("demo --fixed %s: exit %d: %s", w.Name, fixed.code, fixed.stderr)
			}
			for _, id := range hintsOf(fixed.stdout) {
				if slices.Contains(ids, id) {
					t.Errorf("fixed %s still gets hint %q (all: %q)", w.Name, id, hintsOf(fixed.stdout))
				}
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
