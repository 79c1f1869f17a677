package stm

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestRecordCommitFewNames: at the profile level a counted call that
// writes a few Vars commits on the plain path (commitFew, tryLockNamed) and
// names itself in each box, in-place or not, over another thread's names;
// one that finds a Var locked gives back what it locked and commits through
// the general path, and its boxes name it too.
func TestRecordCommitFewNames(t *testing.T) {
	x, y := NewVar(0), NewVar(0) // in place
	s := NewVar([]int(nil))      // boxed
	two := func(id *uint32) func(tx *Tx) error {
		return func(tx *Tx) error {
			*id = tx.threadID()
			x.Store(tx, x.Load(tx)+1)
			y.Store(tx, y.Load(tx)+1)
			s.Store(tx, []int{x.Load(tx)})
			return nil
		}
	}
	check := func(who string, id uint32) {
		t.Helper()
		for _, h := range []*varHeader{&x.h, &y.h, &s.h} {
			if w, _ := h.loadBox().writerSite(); w != id || id == 0 {
				t.Fatalf("%s: Var %d names thread %d, want %d", who, h.id, w, id)
			}
		}
	}
	recordAt(t, LevelProfile, func() {
		var other, me uint32
		done, hold := make(chan struct{}), make(chan struct{})
		defer close(hold)
		go func() { // another thread writes them first, and stays (its number with it)
			for range 3 {
				Atomically(two(&other))
			}
			close(done)
			<-hold
		}()
		<-done
		check("the other goroutine", other)
		done = make(chan struct{})
		go func() {
			defer close(done)
			for range 3 {
				Atomically(two(&me))
			}
			check("this goroutine", me)
			// (Without curg a thread is a context, which the two
			// goroutines, one after the other, may share.)
			if haveCurg && me == other {
				t.Errorf("two goroutines on thread %d", me)
			}
			// y locked, as by a committer: tryLockNamed takes x, fails on
			// y, gives x back; the general commit waits, then commits.
			b := y.h.loadBox()
			v0 := b.loadVersion()
			atomic.StoreUint64(&b.version, lockedVersion)
			go func() {
				time.Sleep(20 * time.Millisecond)
				atomic.StoreUint64(&b.version, v0)
			}()
			Atomically(two(&me))
			check("after the wait", me)
		}()
		<-done
	})
	if x.Peek() != 7 || y.Peek() != 7 {
		t.Fatalf("x=%d y=%d, want 7 7", x.Peek(), y.Peek())
	}
}
