package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

func TestNewDiffRankingAndPercent(t *testing.T) {
	g := func(key string, lost time.Duration, count int64) Group {
		return Group{Key: key, Kind: logformat.ConflictWriteWrite, Site: testStack(key, 1), OtherSite: testStack(key, 2),
			Count: count, Aborted: lost, Lost: lost}
	}
	oldS := &Summary{Logs: []Log{{Name: "a"}}, Commits: 10, Committed: 900, Aborted: 100,
		Groups: []Group{g("same", 50, 5), g("better", 40, 4), g("gone", 10, 1)}}
	newS := &Summary{Logs: []Log{{Name: "b"}}, Commits: 12, Committed: 800, Aborted: 200,
		Groups: []Group{g("new", 30, 3), g("better", 10, 1), g("same", 50, 5), g("worse", 0, 2)}}
	d, err := NewDiff(oldS, newS)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, x := range d.Groups {
		order = append(order, x.Key+":"+x.Status())
	}
	// |delta|: new 30, better -30 (tie: regression first), gone -10, then
	// the zero changes by new lost time: same 50, worse 0.
	want := "new:new better: gone:gone same: worse:new"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order = %s, want %s", got, want)
	}
	for _, x := range d.Groups {
		switch x.Key {
		case "better":
			if !x.HasPercent || x.DeltaPct != -75 {
				t.Errorf("better: %v%% (has %v), want -75%%", x.DeltaPct, x.HasPercent)
			}
		case "new":
			if x.HasPercent {
				t.Errorf("new group has a percentage %v", x.DeltaPct)
			}
		}
	}
	if d.OldLostPct != 10 || d.NewLostPct != 9 {
		t.Errorf("lost %% of cpu = %v -> %v, want 10 -> 9", d.OldLostPct, d.NewLostPct)
	}
	if _, err := NewDiff(oldS, &Summary{Options: Options{By: ByKind}}); err == nil {
		t.Error("diff of summaries with different groupings succeeded")
	}
}
