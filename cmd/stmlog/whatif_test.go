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
}
