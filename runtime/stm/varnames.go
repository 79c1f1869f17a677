package stm

import (
	"runtime"
	"sync"
)

// gets the names of the Vars alive then.
var (
	namesMu  sync.Mutex
	names    = map[uint64]string{}
	namesGen uint64 // bumped by every change, so flushes skip an unchanged map
)

// Name gives v a name that logs and reports show instead of its id, and
// returns v (so it chains with NewVar). Naming a Var again replaces the name.
func (v *Var[T]) Name(name string) *Var[T] {
	id := v.h.id
	namesMu.Lock()
	defer namesMu.Unlock()
	old, had := names[id]
	if had && old == name {
		return v
	}
	names[id] = name
	namesGen++
	if !had {
		runtime.AddCleanup(v, forgetName, id)
	}
	return v
}

func forgetName(id uint64) {
	namesMu.Lock()
	delete(names, id)
	namesMu.Unlock()
}

// NewNamedVar is NewVar(v).Name(name).
func NewNamedVar[T any](name string, v T) *Var[T] { return NewVar(v).Name(name) }
