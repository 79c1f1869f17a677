package stmvet

// Walking a function: the effects it has (directly and through the calls it
// makes, within the package by walking their bodies and across packages
// through effectsFact), its Inevitable calls, Retries and reads.

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"

	"golang.org/x/tools/go/types/typeutil"
)

// finding is one thing found while walking a function.
type finding struct {
	pos, end token.Pos
	eff      Effect
	stmt     ast.Stmt // the statement it is, when it is a whole expression statement
}

// walkResult is what a walk of one function body found.
type walkResult struct {
	effects    []finding   // effects of every kind, direct or through calls
	inevitable []token.Pos // tx.Inevitable() calls, direct or through calls
	direct     []token.Pos // the direct tx.Inevitable() calls
	retries    []finding
	reads      []token.Pos // Loads, and calls handing tx to other code
}

func (c *checker) pos(p token.Pos) string {
	position := c.pass.Fset.Position(p)
	return fmt.Sprintf("%s:%d", filepath.Base(position.Filename), position.Line)
}

// walk collects what body does. Function literals inside it are walked too
// (most run during the transaction: helpers, sort callbacks, immediately
// called closures), except those handed to AfterCommit, which run after the
// commit, and those handed to Atomically, Add, AddN and Select, which are
// bodies of their own.
func (c *checker) walk(body ast.Node) *walkResult {
	r := &walkResult{}
	info := c.pass.TypesInfo
	add := func(n ast.Node, k Kind, what string) {
		r.effects = append(r.effects, finding{pos: n.Pos(), end: n.End(), eff: Effect{Kind: k, What: what, Pos: c.pos(n.Pos())}})
	}
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			// A body inside a body is checked as a root of its own.
			return !c.isBodyType(n)
		case *ast.GoStmt:
			add(n, KindGo, "go statement")
			return false
		case *ast.SendStmt:
			add(n, KindChannel, "channel send")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				add(n, KindChannel, "channel receive")
			}
		case *ast.SelectStmt:
			add(n, KindChannel, "select statement")
			// The clauses' own communications are the select's.
			for _, cl := range n.Body.List {
				for _, s := range cl.(*ast.CommClause).Body {
					ast.Inspect(s, visit)
				}
			}
			return false
		case *ast.RangeStmt:
			if t := info.TypeOf(n.X); t != nil {
				if _, ok := t.Underlying().(*types.Chan); ok {
					r.effects = append(r.effects, finding{pos: n.Pos(), end: n.X.End(), eff: Effect{Kind: KindChannel, What: "range over a channel", Pos: c.pos(n.Pos())}})
				}
			}
		case *ast.ReturnStmt:
			for _, res := range n.Results {
				if c.isErrRetry(res) {
					r.retries = append(r.retries, finding{pos: res.Pos(), end: res.End(), eff: Effect{Kind: KindRetry, What: "stm.ErrRetry"}})
				}
			}
		case *ast.CallExpr:
			return c.visitCall(n, r, add, visit)
		}
		return true
	}
	ast.Inspect(body, visit)
	return r
}

func (c *checker) visitCall(call *ast.CallExpr, r *walkResult, add func(ast.Node, Kind, string), visit func(ast.Node) bool) bool {
	info := c.pass.TypesInfo
	switch callee := typeutil.Callee(info, call).(type) {
	case *types.Builtin:
		switch callee.Name() {
		case "close":
			add(call, KindChannel, "close")
		case "print", "println":
			add(call, KindIO, callee.Name())
		case "recover":
			add(call, KindRecover, "recover()")
		}
	case *types.Func:
		if name := stmName(callee); name != "" {
			switch name {
			case "Atomically":
				add(call, KindNested, "stm.Atomically")
				return false
			case "Queue.Add", "Queue.AddN", "Select":
				// Their functions are bodies of their own.
				ast.Inspect(call.Fun, visit)
				return false
			case "Var.Peek":
				add(call, KindPeek, "Peek")
			case "Tx.Inevitable":
				r.inevitable = append(r.inevitable, call.Pos())
				r.direct = append(r.direct, call.Pos())
			case "Tx.Retry":
				r.retries = append(r.retries, finding{pos: call.Pos(), end: call.End(), eff: Effect{Kind: KindRetry, What: "tx.Retry()"}})
			case "Var.Load":
				r.reads = append(r.reads, call.Pos())
			case "Tx.AfterCommit":
				ast.Inspect(call.Fun, visit)
				return false
			}
			return true
		}
		for _, a := range call.Args {
			if t := info.TypeOf(a); t != nil && isTx(t) {
				r.reads = append(r.reads, call.Pos())
				break
			}
		}
		var first types.Type
		if len(call.Args) > 0 {
			first = info.TypeOf(call.Args[0])
		}
		if k, ok := classifyCall(callee, first); ok {
			add(call, k, funcName(callee))
			return true
		}
		s := c.calleeSummary(callee)
		if s == nil {
			return true
		}
		if s.inevitable {
			r.inevitable = append(r.inevitable, call.Pos())
		}
		for _, e := range s.effects {
			e.Chain = append([]string{funcName(callee)}, e.Chain...)
			r.effects = append(r.effects, finding{pos: call.Pos(), end: call.End(), eff: e})
		}
	}
	return true
}

// calleeSummary is what a call of fn does: from this package's own
// declarations, or from the fact fn's package exported.
func (c *checker) calleeSummary(fn *types.Func) *summary {
	fn = fn.Origin()
	if fn.Pkg() == c.pass.Pkg {
		if _, ok := c.decls[fn]; ok {
			return c.summary(fn)
		}
		return nil
	}
	var f effectsFact
	if c.pass.ImportObjectFact(fn, &f) {
		return &summary{effects: f.Effects, inevitable: f.Inevitable}
	}
	return nil
}

// summary computes fn's effects: the first of each kind that propagates,
// before the first tx.Inevitable() it reaches. Recursion ends at a function
// already being summarized (its effects are found at its outer call).
func (c *checker) summary(fn *types.Func) *summary {
	if s, ok := c.sums[fn]; ok {
		return s
	}
	if c.busy[fn] {
		return &summary{}
	}
	c.busy[fn] = true
	defer delete(c.busy, fn)
	r := c.walk(c.decls[fn].Body)
	s := &summary{inevitable: len(r.inevitable) > 0}
	limit := token.NoPos
	if len(r.inevitable) > 0 {
		limit = minPos(r.inevitable)
	}
	seen := map[Kind]bool{}
	sort.SliceStable(r.effects, func(i, j int) bool { return r.effects[i].pos < r.effects[j].pos })
	for _, f := range r.effects {
		if !f.eff.Kind.propagates() || seen[f.eff.Kind] {
			continue
		}
		if limit.IsValid() && f.pos > limit && f.eff.Kind.sideEffect() {
			continue
		}
		seen[f.eff.Kind] = true
		s.effects = append(s.effects, f.eff)
	}
	c.sums[fn] = s
	return s
}

func minPos(ps []token.Pos) token.Pos {
	m := ps[0]
	for _, p := range ps[1:] {
		if p < m {
			m = p
		}
	}
	return m
}

func funcName(fn *types.Func) string {
	fn = fn.Origin()
	pkg := ""
	if fn.Pkg() != nil {
		pkg = fn.Pkg().Name() + "."
	}
	if recv := fn.Type().(*types.Signature).Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			return pkg + n.Obj().Name() + "." + fn.Name()
		}
		if n, ok := t.(*types.Alias); ok {
			return pkg + n.Obj().Name() + "." + fn.Name()
		}
		return fn.Name()
	}
	return pkg + fn.Name()
}
