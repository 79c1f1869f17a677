package stmvet

// The checks of one transaction body: its effects and where they stand
// relative to tx.Inevitable(), needless Inevitable calls, Retry with nothing
// read, captured variables appended to, and the *Tx escaping.

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// root is a transaction body being checked.
type root struct {
	node ast.Node       // *ast.FuncLit or *ast.FuncDecl
	typ  *ast.FuncType  // its signature
	body *ast.BlockStmt // its statements
	tx   *types.Var     // its *stm.Tx parameter, if named
}

// checkRoot checks the body that arg evaluates to, when stmvet can see it: a
// function literal, or a function or method of this package named directly.
func (c *checker) checkRoot(arg ast.Expr) {
	var rt root
	switch a := ast.Unparen(arg).(type) {
	case *ast.FuncLit:
		rt = root{node: a, typ: a.Type, body: a.Body}
	case *ast.Ident, *ast.SelectorExpr:
		var id *ast.Ident
		if s, ok := a.(*ast.SelectorExpr); ok {
			id = s.Sel
		} else {
			id = a.(*ast.Ident)
		}
		fn, ok := c.pass.TypesInfo.Uses[id].(*types.Func)
		if !ok {
			return
		}
		fd, ok := c.decls[fn.Origin()]
		if !ok {
			return
		}
		rt = root{node: fd, typ: fd.Type, body: fd.Body}
	default:
		return
	}
	if c.roots[rt.node] {
		return
	}
	c.roots[rt.node] = true
	// The *stm.Tx comes first: alone (a body) or before the index
	// (Queue.AddN's func(tx *stm.Tx, i int) error).
	if ps := rt.typ.Params.List; len(ps) >= 1 && len(ps[0].Names) >= 1 {
		if v, ok := c.pass.TypesInfo.Defs[ps[0].Names[0]].(*types.Var); ok && isTx(v.Type()) {
			rt.tx = v
		}
	}
	c.checkBody(rt)
}

func (c *checker) report(pos, end token.Pos, msg string, fixes ...analysis.SuggestedFix) {
	p := c.pass.Fset.Position(pos)
	if c.ignored[p.Filename][p.Line] {
		return
	}
	c.pass.Report(analysis.Diagnostic{Pos: pos, End: end, Category: "stmvet", Message: msg, SuggestedFixes: fixes})
}

func (c *checker) checkBody(rt root) {
	r := c.walk(rt.body)
	limit := token.NoPos
	if len(r.inevitable) > 0 {
		limit = minPos(r.inevitable)
	}
	sort.SliceStable(r.effects, func(i, j int) bool { return r.effects[i].pos < r.effects[j].pos })
	reported := map[token.Pos]bool{}
	for _, f := range r.effects {
		k := f.eff.Kind
		if k.sideEffect() && limit.IsValid() && f.pos > limit {
			continue
		}
		if reported[f.pos] {
			continue // one diagnostic per call, for its first effect
		}
		reported[f.pos] = true
		msg := f.eff.What + " in a transaction body"
		if len(f.eff.Chain) > 0 {
			msg = fmt.Sprintf("%s in a transaction body, via %s (%s)", f.eff.What, strings.Join(f.eff.Chain, " → "), f.eff.Pos)
		}
		msg += ": " + advice(k)
		var fixes []analysis.SuggestedFix
		if k.sideEffect() {
			fixes = c.afterCommitFix(rt, f.pos)
		}
		c.report(f.pos, f.end, msg, fixes...)
	}
	c.checkNeedlessInevitable(r)
	c.checkRetries(r)
	c.checkCaptured(rt, limit)
	c.checkEscape(rt)
}

// checkNeedlessInevitable reports tx.Inevitable() calls with no side effect
// after them in the body: inevitability then buys nothing but serializing
// the transactions that reach it, and, as in the seed's server, it is what
// a report's inevitable conflicts point at.
func (c *checker) checkNeedlessInevitable(r *walkResult) {
	for _, ip := range r.direct {
		var clock *finding
		needed := false
		for i, f := range r.effects {
			if f.pos <= ip {
				continue
			}
			if f.eff.Kind == KindClock && clock == nil {
				clock = &r.effects[i]
			} else if f.eff.Kind.sideEffect() {
				needed = true
				break
			}
		}
		if needed {
			continue
		}
		if clock != nil {
			c.report(ip, ip, fmt.Sprintf("tx.Inevitable() only to read the clock (%s at %s): inevitability serializes every transaction that reaches it; read the time before stm.Atomically and pass it in", clock.eff.What, clock.eff.Pos))
		} else {
			c.report(ip, ip, "tx.Inevitable() with no side effect after it: it only serializes the transactions that reach it; remove it, and do pure work (hashing, formatting) before or after the transaction")
		}
	}
}

func (c *checker) checkRetries(r *walkResult) {
	for _, f := range r.retries {
		read := false
		for _, p := range r.reads {
			if p < f.pos {
				read = true
				break
			}
		}
		if !read {
			c.report(f.pos, f.end, f.eff.What+" with no Load before it: nothing read means nothing can wake it (the runtime panics); Load the Vars whose change should wake the transaction first")
		}
	}
}

// outside reports whether obj is a variable declared outside the body rt.
func outside(rt root, obj types.Object) bool {
	v, ok := obj.(*types.Var)
	if !ok || v.IsField() {
		return false
	}
	return v.Pos() < rt.node.Pos() || v.Pos() >= rt.node.End()
}

// rootIdent is the variable an assignment target is part of: x in x, x.f,
// x[i].f.
func rootIdent(e ast.Expr) *ast.Ident {
	for {
		switch x := ast.Unparen(e).(type) {
		case *ast.Ident:
			return x
		case *ast.SelectorExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		default:
			return nil
		}
	}
}

// checkCaptured reports appends and compound assignments to variables from
// outside the body: each re-run does them again on top of the aborted
// attempt's.
func (c *checker) checkCaptured(rt root, limit token.Pos) {
	info := c.pass.TypesInfo
	captured := func(e ast.Expr) (string, bool) {
		id := rootIdent(e)
		if id == nil {
			return "", false
		}
		obj := info.ObjectOf(id)
		if obj == nil || !outside(rt, obj) {
			return "", false
		}
		// A pointer receiver or pointer variable used through a selector
		// is still shared state; a plain Var's Store is how to change it.
		return types.ExprString(e), true
	}
	ast.Inspect(rt.body, func(n ast.Node) bool {
		if isAfterCommit(c, n) {
			return false
		}
		if limit.IsValid() && n != nil && n.Pos() > limit {
			return false
		}
		switch s := n.(type) {
		case *ast.AssignStmt:
			switch s.Tok {
			case token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.QUO_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN, token.XOR_ASSIGN, token.SHL_ASSIGN, token.SHR_ASSIGN, token.REM_ASSIGN, token.AND_NOT_ASSIGN:
				if name, ok := captured(s.Lhs[0]); ok {
					c.report(s.Pos(), s.End(), fmt.Sprintf("%s %s on %s, captured from outside the transaction body: it is repeated on every re-run; compute into a local and store it in a Var, or do it in tx.AfterCommit", name, s.Tok, name))
				}
			case token.ASSIGN:
				for i, rhs := range s.Rhs {
					call, ok := ast.Unparen(rhs).(*ast.CallExpr)
					if !ok || i >= len(s.Lhs) {
						continue
					}
					if b, ok := typeutil.Callee(info, call).(*types.Builtin); !ok || b.Name() != "append" {
						continue
					}
					if name, ok := captured(s.Lhs[i]); ok {
						c.report(s.Pos(), s.End(), fmt.Sprintf("append to %s, captured from outside the transaction body: it is repeated on every re-run; build a local slice and assign it, keep it in a Var, or append in tx.AfterCommit", name))
					}
				}
			}
		case *ast.IncDecStmt:
			if name, ok := captured(s.X); ok {
				c.report(s.Pos(), s.End(), fmt.Sprintf("%s%s on %s, captured from outside the transaction body: it is repeated on every re-run; count in a Var, or in tx.AfterCommit", name, s.Tok, name))
			}
		}
		return true
	})
}

func isAfterCommit(c *checker, n ast.Node) bool {
	call, ok := n.(*ast.CallExpr)
	return ok && c.stmFunc(call) == "Tx.AfterCommit"
}

// checkEscape reports the body's *Tx leaving it: stored where it outlives
// the body, sent on a channel, returned from a closure, or used in code that
// runs after the transaction (AfterCommit functions, goroutines).
func (c *checker) checkEscape(rt root) {
	info := c.pass.TypesInfo
	usesTx := func(n ast.Node) ast.Node {
		var found ast.Node
		ast.Inspect(n, func(m ast.Node) bool {
			if found != nil {
				return false
			}
			if id, ok := m.(*ast.Ident); ok {
				if v, ok := info.Uses[id].(*types.Var); ok && isTx(v.Type()) {
					found = id
				}
			}
			return true
		})
		return found
	}
	msg := func(how string) string {
		return "the *stm.Tx " + how + ": a Tx is only valid inside its body, during one attempt; pass it down as an argument instead"
	}
	var visit func(n ast.Node, nested bool) bool
	visit = func(n ast.Node, nested bool) bool {
		switch s := n.(type) {
		case *ast.FuncLit:
			ast.Inspect(s.Body, func(m ast.Node) bool { return visit(m, true) })
			return false
		case *ast.GoStmt:
			if id := usesTx(s.Call); id != nil {
				c.report(id.Pos(), id.End(), msg("is used by a goroutine started in the body"))
			}
			return false
		case *ast.CallExpr:
			if c.stmFunc(s) == "Tx.AfterCommit" {
				for _, a := range s.Args {
					if id := usesTx(a); id != nil {
						c.report(id.Pos(), id.End(), msg("is used in an AfterCommit function, which runs after the transaction"))
					}
				}
				return false
			}
		case *ast.SendStmt:
			if id := usesTx(s.Value); id != nil {
				c.report(id.Pos(), id.End(), msg("is sent on a channel"))
			}
		case *ast.ReturnStmt:
			if nested {
				for _, res := range s.Results {
					if t := info.TypeOf(res); t != nil && isTx(t) {
						c.report(res.Pos(), res.End(), msg("is returned from a closure"))
					}
				}
			}
		case *ast.AssignStmt:
			for i, lhs := range s.Lhs {
				if len(s.Rhs) != len(s.Lhs) {
					break
				}
				id := rootIdent(lhs)
				if id == nil || s.Tok == token.DEFINE {
					continue
				}
				obj := info.ObjectOf(id)
				if obj == nil || !outside(rt, obj) {
					continue
				}
				if x := usesTx(s.Rhs[i]); x != nil {
					if t := info.TypeOf(s.Rhs[i]); t != nil && (isTx(t) || containsTx(t)) {
						c.report(x.Pos(), x.End(), msg("is stored in "+types.ExprString(lhs)+", which outlives the body"))
					}
				}
			}
		}
		return true
	}
	ast.Inspect(rt.body, func(n ast.Node) bool { return visit(n, false) })
}
