package stm

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestQueueAddN: each of an AddN's transactions runs once with its own
// index, beside plain Adds; one added from a body runs only if that body
// commits; an error in one fails that one only.
func TestQueueAddN(t *testing.T) {
	const n = 500
	seen := make([]*Var[int], n)
	for i := range seen {
		seen[i] = NewVar(0)
	}
	total := NewVar(0)
	var rogue atomic.Int64
	errBad := errors.New("bad index")
	q := NewQueue()
	q.AddN(0, func(tx *Tx, i int) error { rogue.Add(1); return nil })
	q.AddN(n, func(tx *Tx, i int) error {
		seen[i].Store(tx, seen[i].Load(tx)+1)
		switch i {
		case 7:
			// From a body that commits: its transactions run.
			q.AddN(3, func(tx *Tx, j int) error {
				total.Store(tx, total.Load(tx)+1000+j)
				return nil
			})
		case 9:
			// From a body that fails: they do not.
			q.AddN(3, func(tx *Tx, j int) error { rogue.Add(1); return nil })
			return errBad
		}
		return nil
	})
	q.Add(func(tx *Tx) error { total.Store(tx, total.Load(tx)+1); return nil })
	err := q.Run(4)
	if !errors.Is(err, errBad) {
		t.Fatalf("Run returned %v, want errBad", err)
	}
	for i, v := range seen {
		want := 1
		if i == 9 {
			want = 0
		}
		if got := v.Peek(); got != want {
			t.Fatalf("transaction %d committed %d times, want %d", i, got, want)
		}
	}
	if got := total.Peek(); got != 1+3000+0+1+2 {
		t.Fatalf("total %d, want %d", got, 3004)
	}
	if rogue.Load() != 0 {
		t.Fatal("a transaction of AddN(0) or of a failed body's AddN ran")
	}
	// Again, on one worker, in order.
	var order []int
	q.AddN(5, func(tx *Tx, i int) error {
		tx.AfterCommit(func() { order = append(order, i) })
		return nil
	})
	if err := q.Run(1); err != nil || len(order) != 5 {
		t.Fatalf("second Run: err %v, order %v", err, order)
	}
	for i, x := range order {
		if x != i {
			t.Fatalf("one worker ran AddN's transactions in the order %v", order)
		}
	}
}
