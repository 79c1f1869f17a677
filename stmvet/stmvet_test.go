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
func TestAfterCommitFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), stmvet.Analyzer, "fix")
}
