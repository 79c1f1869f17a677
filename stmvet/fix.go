package stmvet

// The suggested fix: a trailing side effect of a body moved into
// tx.AfterCommit.

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"

	"golang.org/x/tools/go/analysis"
)

// afterCommitFix moves a side-effect statement at pos into
// tx.AfterCommit(func() { ... }) when that is mechanical: the statement is a
// call statement of the body itself, every statement after it is too (or a
// final return), and it does not use tx.
func (c *checker) afterCommitFix(rt root, pos token.Pos) []analysis.SuggestedFix {
	if rt.tx == nil || rt.tx.Name() == "_" {
		return nil
	}
	list := rt.body.List
	idx := -1
	for i, s := range list {
		if es, ok := s.(*ast.ExprStmt); ok && es.Pos() == pos {
			idx = i
		}
	}
	if idx < 0 {
		return nil
	}
	for _, s := range list[idx+1:] {
		switch s := s.(type) {
		case *ast.ExprStmt:
		case *ast.ReturnStmt:
			if s != list[len(list)-1] {
				return nil
			}
		default:
			return nil
		}
	}
	stmt := list[idx]
	uses := false
	ast.Inspect(stmt, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && c.pass.TypesInfo.Uses[id] == rt.tx {
			uses = true
		}
		return !uses
	})
	if uses {
		return nil
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, c.pass.Fset, stmt); err != nil {
		return nil
	}
	text := fmt.Sprintf("%s.AfterCommit(func() { %s })", rt.tx.Name(), buf.String())
	return []analysis.SuggestedFix{{
		Message:   "Run it in tx.AfterCommit, once, after the commit",
		TextEdits: []analysis.TextEdit{{Pos: stmt.Pos(), End: stmt.End(), NewText: []byte(text)}},
	}}
}
