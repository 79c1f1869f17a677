package stm

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// TestCommitOneExits drives each way out of the plain path's one-write
// commit (fast.go), on in-place and boxed Vars: a read made stale by
// another commit before ours (abort, run again), the written Var itself
// changed since we read it (abort), the written Var locked by someone
// else's commit and an inevitable transaction running (both: the general
// commit takes over and waits), and the plain commit. Each must leave the
// values and the counters as the general path would.
func TestCommitOneExits(t *testing.T) {
	bothReps(t, func(t *testing.T, newInt func(int) *Var[int]) {
		// A read of another Var goes stale: b = a + 1 must use the new a.
		a, b := newInt(1), newInt(0)
		runs := 0
		before := ReadStats()
		Atomically(func(tx *Tx) error {
			runs++
			x := a.Load(tx)
			if runs == 1 {
				inOtherGoroutine(func() { Atomically(func(tx *Tx) error { a.Store(tx, 10); return nil }) })
			}
			b.Store(tx, x+1)
			return nil
		})
		if runs != 2 || b.Peek() != 11 {
			t.Errorf("stale read: runs=%d b=%d, want 2 runs, b=11", runs, b.Peek())
		}
		// The written Var changed after our Load: an increment must not be lost.
		c := newInt(5)
		runs = 0
		Atomically(func(tx *Tx) error {
			runs++
			x := c.Load(tx)
			if runs == 1 {
				inOtherGoroutine(func() { Atomically(func(tx *Tx) error { c.Store(tx, c.Load(tx)+100); return nil }) })
			}
			c.Store(tx, x+1)
			return nil
		})
		if runs != 2 || c.Peek() != 106 {
			t.Errorf("write-write: runs=%d c=%d, want 2 runs, c=106", runs, c.Peek())
		}
		st := ReadStats()
		if d := st.AbortsConflict - before.AbortsConflict; d != 2 {
			t.Errorf("%d conflict aborts, want 2", d)
		}
		if d := st.Commits - before.Commits; d != 4 {
			t.Errorf("%d commits, want 4", d)
		}

		// An inevitable transaction runs while we commit: we wait for it.
		d := newInt(0)
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			Atomically(func(tx *Tx) error {
				tx.Inevitable()
				d.Store(tx, d.Load(tx)+1)
				close(started)
				<-release
				return nil
			})
		}()
		<-started
		committed := make(chan struct{})
		go func() {
			defer close(committed)
			Atomically(func(tx *Tx) error { d.Store(tx, d.Load(tx)+10); return nil })
		}()
		close(release)
		<-done
		<-committed
		if d.Peek() != 11 {
			t.Errorf("with an inevitable transaction: d=%d, want 11", d.Peek())
		}

		// The written Var is locked by another commit: the general commit
		// waits for the lock to go (it counts a write-write conflict once
		// it has spun, which is how we know it waits).
		e := newInt(0)
		h := &e.h
		oldBox := h.loadBox()
		ver := oldBox.loadVersion()
		if h.nw != 0 {
			atomic.StoreUint64(&oldBox.version, lockedVersion)
		} else {
			atomic.StorePointer(&h.val, unsafe.Pointer(&box[int]{boxHeader: boxHeader{version: lockedVersion}}))
		}
		ww := ReadStats().ConflictsWriteWrite
		got := make(chan int)
		go func() {
			Atomically(func(tx *Tx) error { e.Store(tx, 7); return nil })
			got <- e.Peek()
		}()
		for ReadStats().ConflictsWriteWrite == ww {
			runtime.Gosched()
		}
		// Unlock as a commit that gave up would.
		if h.nw != 0 {
			atomic.StoreUint64(&oldBox.version, ver)
		} else {
			atomic.StorePointer(&h.val, unsafe.Pointer(oldBox))
		}
		if v := <-got; v != 7 {
			t.Errorf("after a locked Var: e=%d, want 7", v)
		}
	})
}

// inOtherGoroutine runs f on another goroutine and waits for it (a nested
// Atomically on the same goroutine would be another transaction too, but
// this is how the conflict happens in real programs).
func inOtherGoroutine(f func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	<-done
}

// TestPlainEndDropsBoxes: a plain call that read or wrote a boxed Var
// leaves no reference to its boxes in the context (attemptPlain skips the
// clearing only for in-place Vars' entries), so a value no Var holds any
// more can be collected.
func TestPlainEndDropsBoxes(t *testing.T) {
	type payload struct{ b [256]byte }
	for _, write := range []bool{false, true} {
		done := make(chan struct{})
		func() {
			p := &payload{}
			runtime.AddCleanup(p, func(c chan struct{}) { close(c) }, done)
			v := NewVar(p)
			n := NewVar(0) // an in-place Var beside it, in the same sets
			if err := Atomically(func(tx *Tx) error {
				n.Store(tx, n.Load(tx)+1)
				if v.Load(tx) != nil && write {
					v.Store(tx, nil) // the box holding p is the one replaced
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}()
		collected := false
		for i := 0; i < 100 && !collected; i++ {
			runtime.GC()
			select {
			case <-done:
				collected = true
			case <-time.After(time.Millisecond):
			}
		}
		if !collected {
			t.Errorf("write=%v: a value read in a committed transaction was not collected", write)
		}
	}
}

// TestPlainEndResetsAborts: a plain call that aborted a few times and then
// committed on the plain path leaves no abort count in any context (the
// plain end resets it behind tx.dirty), so the next call's contention
// management starts from zero.
func TestPlainEndResetsAborts(t *testing.T) {
	bothReps(t, func(t *testing.T, newInt func(int) *Var[int]) {
		a, b := newInt(0), newInt(0)
		runs := 0
		Atomically(func(tx *Tx) error {
			runs++
			x := a.Load(tx)
			if runs <= 3 {
				inOtherGoroutine(func() { Atomically(func(tx *Tx) error { a.Store(tx, a.Load(tx)+1); return nil }) })
			}
			b.Store(tx, x)
			return nil
		})
		if runs != 4 || b.Peek() != 3 {
			t.Fatalf("runs=%d b=%d, want 4 runs (3 aborts), b=3", runs, b.Peek())
		}
		for p := range pctxs {
			for i := range pctxs[p].c {
				if tx := pctxs[p].c[i].tx; tx != nil && tx.aborts != 0 {
					t.Errorf("P %d context %d: aborts=%d after its call ended, want 0", p, i, tx.aborts)
				}
			}
		}
	})
}
