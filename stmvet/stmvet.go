// Package stmvet is a static checker of runtime/stm transaction bodies, as a
// go/analysis Analyzer (cmd/stmvet runs it alone or under go vet; cmd/stmlog
// runs it to join its diagnostics to the conflicts of a report).
//
// A transaction body is a function passed to stm.Atomically, Queue.Add,
// Queue.AddN or stm.Select. The runtime runs a body again each time an attempt aborts, so
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
	"fmt"
	"go/ast"
	"go/build"
	"go/types"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
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
