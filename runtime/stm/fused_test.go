package stm

import "testing"

// A Var read then written (a fused write: the fast commits lock it from
// the version read) whose value another commit changed in between must
// not commit over that change: one Var (commitOne) and two (commitFew).
func TestFusedWriteStaleRead(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		vs := make([]*Var[int64], n)
		for i := range vs {
			vs[i] = NewVar[int64](0)
		}
		runs := 0
		err := Atomically(func(tx *Tx) error {
			runs++
			for i, v := range vs {
				x := v.Load(tx)
				if runs == 1 && i == n-1 {
					// Another transaction commits every Var after our reads.
					if err := Atomically(func(tx2 *Tx) error {
						for _, w := range vs {
							w.Store(tx2, w.Load(tx2)+100)
						}
						return nil
					}); err != nil {
						return err
					}
				}
				v.Store(tx, x+1)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vs {
			if got := v.Peek(); got != 101 {
				t.Errorf("%d Vars: Var %d = %d, want 101 (runs %d)", n, i, got, runs)
			}
		}
		if runs != 2 {
			t.Errorf("%d Vars: %d runs, want 2", n, runs)
		}
	}
}

// A fused write 0 leaves its own read unchecked at commit (its lock
// checked it), never the reads after it: a Var read later, changed by
// another commit before ours, makes the attempt run again, with one write
// (commitOne) and with two (commitFew, the second write not fused).
func TestFusedWriteLaterStaleRead(t *testing.T) {
	for _, writes := range []int{1, 2} {
		x, y, z := NewVar[int64](0), NewVar[int64](0), NewVar[int64](0)
		runs := 0
		err := Atomically(func(tx *Tx) error {
			runs++
			a := x.Load(tx)
			x.Store(tx, a+1)            // fused
			x.Store(tx, a+1+y.Load(tx)) // y read after it
			if runs == 1 {
				if err := Atomically(func(tx2 *Tx) error {
					y.Store(tx2, y.Load(tx2)+100)
					return nil
				}); err != nil {
					return err
				}
			}
			if writes == 2 {
				z.Store(tx, 7)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := x.Peek(); got != 101 || runs != 2 {
			t.Errorf("%d writes: x = %d after %d runs, want 101 after 2 (a stale read of y committed)", writes, got, runs)
		}
	}
}
