package stmvet_test

import (
	"testing"

	"github.com/stmlog/stmlog/stmvet"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), stmvet.Analyzer, "a")
}

// TestAfterCommitFix checks the mechanical fix: trailing side-effect
// statements move into tx.AfterCommit, others are left alone.
// analysistest fails the test when the fixed source differs from
// testdata/src/fix/fix.go.golden or a diagnostic differs from the file's
// "want" comments; the count below keeps it from passing on no fix at all.
func TestAfterCommitFix(t *testing.T) {
	fixes := 0
	for _, r := range analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), stmvet.Analyzer, "fix") {
		for _, d := range r.Diagnostics {
			fixes += len(d.SuggestedFixes)
		}
	}
	if fixes == 0 {
		t.Fatal("no suggested fix in testdata/src/fix")
	}
}
