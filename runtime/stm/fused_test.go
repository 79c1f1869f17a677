package stm

import (
	"sync/atomic"
	"testing"
	"time"
)

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

// A Var read, then written after other reads (not fused: the commit
// locks it from its current version, and its validation accepts the read
// only if that version, heldFrom's, is the one read) whose value another
// commit changed in between must not commit over that change: with one
// write (commitOne), two (commitFew) and six (the general commit's
// validate), for a one-word and a two-word in-place Var.
func TestHeldWriteStaleRead(t *testing.T) {
	type pair struct{ a, b int64 }
	for _, writes := range []int{1, 2, 6} {
		for _, wide := range []bool{false, true} {
			x, p := NewVar[int64](0), NewVar(pair{})
			others := make([]*Var[int64], writes)
			for i := range others {
				others[i] = NewVar[int64](0)
			}
			runs := 0
			err := Atomically(func(tx *Tx) error {
				runs++
				a, q := x.Load(tx), p.Load(tx)
				for _, o := range others {
					o.Load(tx)
				}
				if runs == 1 {
					// Only the Var to be written changes: no other read
					// goes stale.
					if err := Atomically(func(tx2 *Tx) error {
						if wide {
							p.Store(tx2, pair{p.Load(tx2).a + 100, 0})
						} else {
							x.Store(tx2, x.Load(tx2)+100)
						}
						return nil
					}); err != nil {
						return err
					}
				}
				for _, o := range others[1:] {
					o.Store(tx, 1)
				}
				if wide {
					p.Store(tx, pair{q.a + 1, 0})
				} else {
					x.Store(tx, a+1)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got := x.Peek()
			if wide {
				got = p.Peek().a
			}
			if got != 101 || runs != 2 {
				t.Errorf("%d writes, wide %v: %d after %d runs, want 101 after 2 (a stale read committed)", writes, wide, got, runs)
			}
		}
	}
}

// A Var read first, then others read, then the first written (fused with
// read 0, as a Take: the lock from the version read validates that read,
// and only that one) must not commit over a change to the Var it wrote
// nor to the Var read after it: with one write (commitOne, reads 1.. left
// to the loop) and two (commitFew, which validates every read unless all
// are fused).
func TestFusedWriteAfterOtherReads(t *testing.T) {
	for _, writes := range []int{1, 2} {
		for _, stale := range []string{"x", "y"} {
			x, y, z := NewVar[int64](0), NewVar[int64](0), NewVar[int64](0)
			runs := 0
			err := Atomically(func(tx *Tx) error {
				runs++
				a, b := x.Load(tx), y.Load(tx)
				if runs == 1 {
					if err := Atomically(func(tx2 *Tx) error {
						if stale == "x" {
							x.Store(tx2, x.Load(tx2)+100)
						} else {
							y.Store(tx2, y.Load(tx2)+100)
						}
						return nil
					}); err != nil {
						return err
					}
				}
				x.Store(tx, a+b+1)
				if !tx.writes[0].fused {
					t.Error("the write of x is not fused with its read")
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
				t.Errorf("%d writes, %s changed: x = %d after %d runs, want 101 after 2 (a stale read committed)", writes, stale, got, runs)
			}
		}
	}
}

// Two to four writes take commitFew when every entry is an in-place Var's
// (tx.dirty false) and commitFewAll when a boxed Var was written or read
// (dirty): both commit every value, and a Var read and not written that
// changed under either makes the attempt run again (commitFew's abortFew).
func TestCommitFewBoxedAndInPlace(t *testing.T) {
	for _, boxed := range []string{"none", "read", "written"} {
		a, b, c := NewVar[int64](0), NewVar[int64](0), NewVar[int64](0)
		p := NewVar[*int64](nil)
		x := new(int64)
		// A committed call first: it leaves the context's dirty clear
		// (an abort before, in another test, may have set it).
		if err := Atomically(func(tx *Tx) error { a.Store(tx, 0); b.Store(tx, 0); return nil }); err != nil {
			t.Fatal(err)
		}
		runs := 0
		err := Atomically(func(tx *Tx) error {
			runs++
			va, vb, vc := a.Load(tx), b.Load(tx), c.Load(tx)
			switch boxed {
			case "read":
				p.Load(tx)
			case "written":
				p.Store(tx, x)
			}
			if runs == 1 {
				if err := Atomically(func(tx2 *Tx) error {
					c.Store(tx2, c.Load(tx2)+100)
					return nil
				}); err != nil {
					return err
				}
			}
			a.Store(tx, va+vc+1)
			b.Store(tx, vb+1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ga, gb := a.Peek(), b.Peek(); ga != 101 || gb != 1 || runs != 2 {
			t.Errorf("%s: a, b = %d, %d after %d runs, want 101, 1 after 2 (a stale read committed)", boxed, ga, gb, runs)
		}
		if boxed == "written" && p.Peek() != x {
			t.Errorf("the boxed write was lost")
		}
	}
}

// commitFew's two locks, unrolled: when the second Var (in id order) is
// locked by another commit, the first is given back before the general
// commit takes over (which would otherwise wait on our own lock), and
// when the first is, nothing is held; either way the call commits once
// the other lock goes. The body locks the Var's box itself, as a commit
// in progress would, after reading it.
func TestCommitFewSecondLockBusy(t *testing.T) {
	for _, busy := range []int{0, 1} {
		vs := [2]*Var[int64]{NewVar[int64](1), NewVar[int64](2)} // ids in this order
		b := (*boxHeader)(atomic.LoadPointer(&vs[busy].h.val))
		done := make(chan struct{})
		go func() {
			defer close(done)
			first := true
			Atomically(func(tx *Tx) error {
				x, y := vs[0].Load(tx), vs[1].Load(tx)
				vs[0].Store(tx, x+10)
				vs[1].Store(tx, y+10)
				if first {
					first = false
					v := b.loadVersion()
					if !atomic.CompareAndSwapUint64(&b.version, v, v|1) {
						t.Error("could not lock the box")
					}
					go func() {
						time.Sleep(20 * time.Millisecond)
						atomic.StoreUint64(&b.version, v)
					}()
				}
				return nil
			})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("busy %d: the call did not commit (a lock of ours kept?)", busy)
		}
		for i, v := range vs {
			if got := v.Peek(); got != int64(i+1)+10 {
				t.Errorf("busy %d: Var %d = %d, want %d", busy, i, got, i+11)
			}
			if ver := (*boxHeader)(atomic.LoadPointer(&v.h.val)).loadVersion(); ver&1 != 0 {
				t.Errorf("busy %d: Var %d left locked", busy, i)
			}
		}
	}
}
