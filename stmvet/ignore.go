package stmvet

// The ignore comments: "//stmvet:ignore" at the end of a line silences
// that line; alone on its line, the next one.

import (
	"go/ast"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// ignoredLines finds the //stmvet:ignore comments: one at the end of a line
// silences that line, one alone on its line silences the next.
func ignoredLines(pass *analysis.Pass) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	for _, f := range pass.Files {
		for _, cg := range f.Comments {
			for _, cm := range cg.List {
				if !strings.HasPrefix(cm.Text, "//stmvet:ignore") {
					continue
				}
				p := pass.Fset.Position(cm.Pos())
				m := out[p.Filename]
				if m == nil {
					m = map[int]bool{}
					out[p.Filename] = m
				}
				m[p.Line] = true
				if alone(pass, f, cm) {
					m[p.Line+1] = true
				}
			}
		}
	}
	return out
}

// alone reports whether nothing but white space precedes cm on its line.
func alone(pass *analysis.Pass, f *ast.File, cm *ast.Comment) bool {
	tf := pass.Fset.File(cm.Pos())
	if tf == nil {
		return false
	}
	src, err := pass.ReadFile(tf.Name())
	if err != nil {
		return false
	}
	off := tf.Offset(cm.Pos())
	start := tf.Offset(tf.LineStart(tf.Line(cm.Pos())))
	return strings.TrimSpace(string(src[start:off])) == ""
}
