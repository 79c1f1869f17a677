// Package stmvet is a static checker of runtime/stm transaction bodies, as a
// go/analysis Analyzer (cmd/stmvet runs it alone or under go vet; cmd/stmlog
// runs it to join its diagnostics to the conflicts of a report).
//
// A transaction body is a function passed to stm.Atomically, Queue.Add or
// stm.Select. The runtime runs a body again each time an attempt aborts, so
// whatever it does besides Loads and Stores happens again: output is
// repeated, the clock is read anew, goroutines are started twice, appends to
// captured slices accumulate. stmvet follows the calls a body makes (within
// the package, and across packages through facts that each package exports
// about its functions) and reports those effects with the call chain that
// reaches them, and a few misuses of the API besides: Retry with nothing read
// before it (nothing could wake it), a nested Atomically, Peek in a body, the
// *Tx escaping, recover() in a body, and tx.Inevitable() calls that nothing
// after them needs (they only serialize).
//
// Positions stand in for control flow: an effect is "after" tx.Inevitable()
// when it comes later in the source of the same body. That misses effects on
// paths that skip an Inevitable call, but never reports an effect that does
// come after one. A //stmvet:ignore comment silences the line it ends, or,
// alone on its line, the next one.
package stmvet

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// StmPath is the import path of the runtime whose bodies stmvet checks.
const StmPath = "github.com/stmlog/stmlog/runtime/stm"

// Analyzer is the stmvet analysis.
var Analyzer = &analysis.Analyzer{
	Name:      "stmvet",
	Doc:       "check runtime/stm transaction bodies for effects that repeat on re-runs and for API misuse",
	URL:       "https://github.com/stmlog/stmlog/tree/main/stmvet",
	Run:       run,
	FactTypes: []analysis.Fact{new(effectsFact)},
}

// Effect is one thing a function does that matters when a transaction body
// calls it: the first of each kind in the function, before any
// tx.Inevitable() it calls itself.
type Effect struct {
	Kind  Kind
	What  string   // "fmt.Println", "channel send"
	Pos   string   // file:line where it happens
	Chain []string // functions from the one called down to the one doing it
}

// effectsFact is what a package exports about each of its functions that has
// effects, so that bodies in importing packages see through the calls.
type effectsFact struct {
	Effects []Effect
	// Inevitable: the function calls tx.Inevitable(), so what its caller does
	// after calling it runs once.
	Inevitable bool
}

func (*effectsFact) AFact() {}

func (f *effectsFact) String() string {
	var parts []string
	for _, e := range f.Effects {
		parts = append(parts, fmt.Sprintf("%s:%s", e.Kind, e.What))
	}
	if f.Inevitable {
		parts = append(parts, "inevitable")
	}
	return "effects(" + strings.Join(parts, ", ") + ")"
}

type summary struct {
	effects    []Effect
	inevitable bool
}

type checker struct {
	pass    *analysis.Pass
	decls   map[*types.Func]*ast.FuncDecl
	sums    map[*types.Func]*summary
	busy    map[*types.Func]bool
	ignored map[string]map[int]bool
	roots   map[ast.Node]bool
}

func run(pass *analysis.Pass) (any, error) {
	// The standard library is classified by name (classify.go); analyzing
	// it for facts would cost every go vet run for nothing.
	if isStd(pass) {
		return nil, nil
	}
	c := &checker{
		pass:  pass,
		decls: map[*types.Func]*ast.FuncDecl{},
		sums:  map[*types.Func]*summary{},
		busy:  map[*types.Func]bool{},
		roots: map[ast.Node]bool{},
	}
	for _, f := range pass.Files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					c.decls[fn] = fd
				}
			}
		}
	}
	// Facts for every function with effects, in a fixed order.
	fns := make([]*types.Func, 0, len(c.decls))
	for fn := range c.decls {
		fns = append(fns, fn)
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].Pos() < fns[j].Pos() })
	for _, fn := range fns {
		s := c.summary(fn)
		if len(s.effects) > 0 || s.inevitable {
			pass.ExportObjectFact(fn, &effectsFact{Effects: s.effects, Inevitable: s.inevitable})
		}
	}
	if !importsStm(pass.Pkg) {
		return nil, nil
	}
	c.ignored = ignoredLines(pass)
	for _, f := range pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			// Every function literal of a body's type is one: that is
			// what it is for, and so a body built and returned by a
			// helper (q.Add(s.handle(req))) is checked too.
			if lit, ok := n.(*ast.FuncLit); ok && c.isBodyType(lit) {
				c.checkRoot(lit)
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if !c.isBodyTaker(call) {
				return true
			}
			for _, arg := range call.Args {
				c.checkRoot(arg)
			}
			return true
		})
	}
	return nil, nil
}

// isStd reports whether the package is part of the Go distribution, by
// where its files are (an import path says so only by convention).
func isStd(pass *analysis.Pass) bool {
	if len(pass.Files) == 0 {
		return true
	}
	tf := pass.Fset.File(pass.Files[0].Pos())
	if tf == nil {
		return false
	}
	goroot := filepath.Join(build.Default.GOROOT, "src") + string(filepath.Separator)
	return strings.HasPrefix(tf.Name(), goroot)
}

func importsStm(p *types.Package) bool {
	if p.Path() == StmPath {
		return false
	}
	for _, imp := range p.Imports() {
		if imp.Path() == StmPath {
			return true
		}
	}
	return false
}

// stmFunc returns the name of the runtime/stm function or method call calls
// (methods as "Tx.Retry", "Var.Load", "Queue.Add"), or "".
func (c *checker) stmFunc(call *ast.CallExpr) string {
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok {
		return ""
	}
	return stmName(fn)
}

func stmName(fn *types.Func) string {
	if fn.Pkg() == nil || fn.Pkg().Path() != StmPath {
		return ""
	}
	fn = fn.Origin()
	if recv := fn.Type().(*types.Signature).Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			return n.Obj().Name() + "." + fn.Name()
		}
	}
	return fn.Name()
}

func (c *checker) isBodyTaker(call *ast.CallExpr) bool {
	switch c.stmFunc(call) {
	case "Atomically", "Queue.Add", "Select":
		return true
	}
	return false
}

// isBodyType reports whether lit is a func(*stm.Tx) error.
func (c *checker) isBodyType(lit *ast.FuncLit) bool {
	sig, ok := c.pass.TypesInfo.TypeOf(lit).(*types.Signature)
	if !ok || sig.Params().Len() != 1 || sig.Results().Len() != 1 {
		return false
	}
	return isTx(sig.Params().At(0).Type()) && types.Identical(sig.Results().At(0).Type(), types.Universe.Lookup("error").Type())
}

// isTx reports whether t is *stm.Tx.
func isTx(t types.Type) bool {
	p, ok := t.(*types.Pointer)
	if !ok {
		return false
	}
	n, ok := p.Elem().(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == StmPath && n.Obj().Name() == "Tx"
}

// isErrRetry reports whether e names the runtime's ErrRetry sentinel.
func (c *checker) isErrRetry(e ast.Expr) bool {
	var id *ast.Ident
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		id = e
	case *ast.SelectorExpr:
		id = e.Sel
	default:
		return false
	}
	v, ok := c.pass.TypesInfo.Uses[id].(*types.Var)
	return ok && v.Pkg() != nil && v.Pkg().Path() == StmPath && v.Name() == "ErrRetry"
}

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
// commit, and those handed to Atomically, Add and Select, which are bodies of
// their own.
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
			case "Queue.Add", "Select":
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
	if ps := rt.typ.Params.List; len(ps) == 1 && len(ps[0].Names) == 1 {
		rt.tx, _ = c.pass.TypesInfo.Defs[ps[0].Names[0]].(*types.Var)
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

// containsTx reports whether values of t can hold a *stm.Tx (a struct field,
// a slice or map element, a closure cannot be seen through).
func containsTx(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		return isTx(t) || containsTx(u.Elem())
	case *types.Struct:
		for i := range u.NumFields() {
			if isTx(u.Field(i).Type()) {
				return true
			}
		}
	case *types.Slice:
		return isTx(u.Elem())
	case *types.Map:
		return isTx(u.Elem())
	}
	return false
}

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
