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
// changes, the fixed run no group with that hint (or, for bank, no conflict
// lost in the code --fixed changes), and the demo must say in one line what
// --fixed changes. A naive run that misses its hint is run again, up to
// three runs (see the loop for why).
//
// The demos record at the full level: at the profile level a Store notes
// its site only in a logged transaction or on a Var that already had a
// conflict, so some conflicts have no other side; they form groups of
// their own that the same-code rules cannot read, and on a busy machine
// (few conflicts in 500 ms) one of those can rank first.
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
		"bank":     {"long-reader"},
	}
	// Where the removed conflict is not reliably the top group, the hint
	// is looked for on the groups whose losing side is in this function
	// (the naive one; its fixed counterpart must lose nothing): bank's
	// transfers on 64 accounts lose about as much to each other as the
	// auditor loses to them, so the top group changes from run to run, and
	// the fixed transfers' short conflicts with the close can, with a few
	// preempted attempts, trip the long-reader rule; the auditor's are what
	// --fixed removes.
	loser := map[string][2]string{
		"bank": {"bank.(*Bank).Audit", "bank.(*Books).Audit"},
	}
	type group struct {
		Hint *struct{ ID, Text string } `json:"hint"`
		This struct{ Func string }      `json:"this"`
	}
	groupsOf := func(out string) []group {
		var rep struct{ Groups []group }
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("demo JSON: %v", err)
		}
		return rep.Groups
	}
	hintsOf := func(out string) []string {
		groups := groupsOf(out)
		ids := make([]string, len(groups))
		for i, g := range groups {
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
			naive := runNaive(t, w.Name)
			if !strings.Contains(naive.stderr, "stmlog demo: --fixed "+w.FixedChange+"\n") {
				t.Errorf("demo %s does not say what --fixed changes:\n%s", w.Name, naive.stderr)
			}
			fixed := runIn("demo", "--events", "all", "--duration", "500ms", "--workers", "4", "--format", "json", "--fixed", w.Name)
			if fixed.code != 0 {
				t.Fatalf("demo --fixed %s: exit %d: %s", w.Name, fixed.code, fixed.stderr)
			}
			// On a busy machine (the other packages' tests beside this one)
			// the workers seldom run at once: a 500 ms run may meet only a
			// handful of conflicts, and then any group can rank first. A
			// naive run that does not show the hint is run again, up to
			// three times in all; one that shows it is the verdict.
			if fn, ok := loser[w.Name]; ok {
				found := func(out string) bool {
					for _, g := range groupsOf(out) {
						if strings.HasSuffix(g.This.Func, fn[0]) && g.Hint != nil && slices.Contains(ids, g.Hint.ID) {
							return true
						}
					}
					return false
				}
				for try := 1; !found(naive.stdout); try++ {
					if try == 3 {
						t.Errorf("naive %s, 3 runs: no group lost in %s with hint %v (last run's: %q)", w.Name, fn[0], ids, hintsOf(naive.stdout))
						break
					}
					naive = runNaive(t, w.Name)
				}
				for _, g := range groupsOf(fixed.stdout) {
					if strings.HasSuffix(g.This.Func, fn[1]) {
						t.Errorf("fixed %s: %s still loses to conflicts (hint %v)", w.Name, fn[1], g.Hint)
					}
				}
				return
			}
			for try := 1; ; try++ {
				got := hintsOf(naive.stdout)
				if len(got) > 0 && slices.Contains(ids, got[0]) {
					break
				}
				if try == 3 {
					t.Errorf("naive %s, 3 runs: top group's hint %q, want one of %v (last run's: %q)", w.Name, first(got), ids, got)
					break
				}
				naive = runNaive(t, w.Name)
			}
			for _, id := range hintsOf(fixed.stdout) {
				if slices.Contains(ids, id) {
					t.Errorf("fixed %s still gets hint %q (all: %q)", w.Name, id, hintsOf(fixed.stdout))
				}
			}
		})
	}
}

// runNaive runs demo name's naive version for the hint test.
func runNaive(t *testing.T, name string) result {
	t.Helper()
	r := runIn("demo", "--events", "all", "--duration", "500ms", "--workers", "4", "--format", "json", name)
	if r.code != 0 {
		t.Fatalf("demo %s: exit %d: %s", name, r.code, r.stderr)
	}
	return r
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
