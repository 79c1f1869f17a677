// Package stm is a stand-in for runtime/stm with its API's shape, so that
// stmvet's tests need no module around them.
package stm

import "errors"

type Tx struct{ n int }

func (tx *Tx) Retry()               {}
func (tx *Tx) Inevitable()          {}
func (tx *Tx) AfterCommit(f func()) {}

var ErrRetry = errors.New("retry")

type Var[T any] struct{ v T }

func NewVar[T any](v T) *Var[T]     { return &Var[T]{v} }
func (v *Var[T]) Load(tx *Tx) T     { return v.v }
func (v *Var[T]) Store(tx *Tx, x T) { v.v = x }
func (v *Var[T]) Peek() T           { return v.v }

func Atomically(fn func(tx *Tx) error) error { return fn(&Tx{}) }

func Select(alts ...func(tx *Tx) error) func(tx *Tx) error { return alts[0] }

type Queue struct{}

func NewQueue() *Queue                                    { return &Queue{} }
func (q *Queue) Add(fn func(tx *Tx) error)                {}
func (q *Queue) AddN(n int, fn func(tx *Tx, i int) error) {}
func (q *Queue) Run(workers int) error                    { return nil }
