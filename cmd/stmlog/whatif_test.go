package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/analyze/analyzetest"
)

func TestCLIWhatIf(t *testing.T) {
	dir := t.TempDir()
	good := genLog(t, dir, "good.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1})
	// chunks cut every 20 transactions of each thread, as a recording's
	flushed := genLog(t, dir, "flushed.log", analyzetest.Config{Threads: 3, Tx: 200, Seed: 1, FlushEvery: 20})
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "damaged.log")
	bad := append([]byte(nil), full...)
	bad[40] ^= 0xff
	os.WriteFile(damaged, bad, 0o644)

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"text", []string{"whatif", good}, 0, []string{"stmlog whatif: " + good, "Replayed on 3 processors (assumed", "| all |", "the 3 groups above at once"}, nil},
		{"top", []string{"whatif", "--top", "1", good}, 0, []string{"| 1 | 3.842ms"}, nil},
		{"groups", []string{"whatif", "--group", "3,1", good}, 0, []string{"|   3 |", "|   1 |", "the 2 groups above"}, nil},
		{"by site", []string{"whatif", "--by", "site", good}, 0, []string{"(by this site)"}, nil},
		{"window", []string{"whatif", "--from", "2ms", "--to", "6ms", good}, 0, []string{"Replayed on 3 processors (assumed", "Recorded wall time 4.000ms; the replay, unchanged, 4.000ms", "| all |"}, nil},
		{"kind", []string{"whatif", "--kind", "write-write", good}, 0, []string{"| 1 | 3.110ms |", "| write-write |"}, nil},
		{"thread", []string{"whatif", "--thread", "1", good}, 2, nil, []string{"--thread"}},
		{"limit", []string{"whatif", "--limit", "600", flushed}, 0, []string{"Replayed on 3 processors (assumed", ": the first 2.666ms of the 11.023ms recorded", "every figure below is of that part", "| all |"}, nil},
		{"limit, one chunk per thread", []string{"whatif", "--limit", "600", good}, 0, []string{"No replay: the log has more than 600 runs", "do not reach the start of every thread", "| all |"}, nil},
		{"bad group", []string{"whatif", "--group", "9", good}, 2, nil, []string{"--group", "group 9", "has 3"}},
		{"bad format", []string{"whatif", "--format", "csv", good}, 2, nil, []string{"--format"}},
		{"damaged", []string{"whatif", damaged}, 1, nil, []string{damaged}},
		{"missing", []string{"whatif", filepath.Join(dir, "nope.log")}, 1, nil, []string{"nope.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runIn(tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			if tt.code != 0 {
				oneLineErr(t, r, tt.stderr...)
			}
		})
	}

	r := runIn("whatif", "--format", "json", good)
	if r.code != 0 {
		t.Fatalf("json: exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Schema string `json:"schema"`
		Groups []struct {
			Rank    int      `json:"rank"`
			Speedup *float64 `json:"speedup"`
		} `json:"groups"`
		All struct {
			Speedup *float64 `json:"speedup"`
		} `json:"all"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.Schema != "stmlog.whatif/v1" || len(out.Groups) != 3 || out.All.Speedup == nil || *out.All.Speedup < 1 {
		t.Errorf("json: %s", r.stdout)
	}
	if strings.Contains(r.stdout, "part_wall_ns") {
		t.Errorf("json of a whole replay has part_wall_ns: %s", r.stdout)
	}
	r = runIn("whatif", "--format", "json", "--limit", "600", flushed)
	var part struct {
		Replayed bool   `json:"replayed"`
		WallNs   int64  `json:"wall_ns"`
		PartNs   *int64 `json:"part_wall_ns"`
		ReplayNs *int64 `json:"replay_wall_ns"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &part); err != nil || r.code != 0 {
		t.Fatalf("json, --limit: exit %d, %v: %s", r.code, err, r.stdout)
	}
	if !part.Replayed || part.PartNs == nil || *part.PartNs <= 0 || *part.PartNs >= part.WallNs || part.ReplayNs == nil {
		t.Errorf("json, --limit: %s", r.stdout)
	}
}
