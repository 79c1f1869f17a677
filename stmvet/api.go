package stmvet

// Recognizing runtime/stm's API: which calls take a transaction body,
// which functions are the runtime's, what is a *stm.Tx and stm.ErrRetry.

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

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
	case "Atomically", "Queue.Add", "Queue.AddN", "Select":
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
