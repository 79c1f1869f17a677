package stm

import (
	"math/rand/v2"
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

// TestCommitLockOrder checks that the commit locks a write set in
// ascending Var id order whatever order the body stored in, for a short
// write set (linear lookups) and a long one (the map index): the order is
// what keeps two commits from waiting on each other in a cycle.
func TestCommitLockOrder(t *testing.T) {
	for _, n := range []int{2, linearMax, 3 * linearMax} {
		vs := make([]*Var[int], n)
		for i := range vs {
			vs[i] = NewVar(i)
		}
		r := rand.New(rand.NewPCG(1, uint64(n)))
		for round := range 20 {
			perm := r.Perm(n)
			err := Atomically(func(tx *Tx) error {
				for _, i := range perm {
					vs[i].Store(tx, round)
				}
				tx.sortWrites()
				if len(tx.order) != n {
					t.Fatalf("%d writes, order has %d", n, len(tx.order))
				}
				for k := 1; k < n; k++ {
					a, b := tx.writes[tx.order[k-1]].h.id, tx.writes[tx.order[k]].h.id
					if a >= b {
						t.Fatalf("%d writes stored as %v: lock order has id %d before %d", n, perm, a, b)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for i, v := range vs {
			if got := v.Peek(); got != 19 {
				t.Fatalf("Var %d of %d: %d after the last round, want 19", i, n, got)
			}
		}
	}
}

// TestRecordOneWriteOtherBoxed: a counted call that wrote one boxed Var,
// read before another goroutine committed it, aborts in commitOne's
// validation with a write-write conflict that names the other side by the
// box it replaces (e.old, kept in commitOne's boxed branch while
// recording).
func TestRecordOneWriteOtherBoxed(t *testing.T) {
	v := NewVar("a")
	var attempts int
	var other uint32 // who named the box the other goroutine committed
	data := recordAt(t, LevelProfile, func() {
		Atomically(func(tx *Tx) error {
			x := v.Load(tx)
			if attempts++; attempts == 1 {
				done := make(chan struct{})
				go func() {
					defer close(done)
					Atomically(func(tx *Tx) error { v.Store(tx, "b"); return nil })
					other = v.h.loadBox().writer
				}()
				<-done
			}
			v.Store(tx, x+"c")
			return nil
		})
	})
	if got := v.Peek(); got != "bc" || attempts != 2 {
		t.Fatalf("value %q after %d attempts, want \"bc\" after 2", got, attempts)
	}
	evs, _ := readLog(t, data)
	for _, ev := range evs {
		if ev.Kind != logformat.KindConflict || ev.Var != v.ID() {
			continue
		}
		if ev.Conflict != logformat.ConflictWriteWrite || other == 0 || ev.OtherThread != other || other == ev.Thread {
			t.Fatalf("conflict %+v, want write-write naming the other goroutine's thread %d", ev, other)
		}
		return
	}
	t.Fatal("no conflict logged")
}
