package stm

import (
	"testing"
)

// TestRecordGate: a goroutine's thread has its gate open (its g) while it
// is quiet, shut (0) while a logged call runs on it, so that a counted
// call does not start there then, open again once that call ends, and
// shut for good when its recorder stops (stale): Atomically's one compare
// with curg stands for the goroutine test and the busy and stale tests.
func TestRecordGate(t *testing.T) {
	if !haveCurg {
		t.Skip("no curg here: every thread is a context's own, and its gate stays shut")
	}
	v := NewVar(0)
	var th *threadRec
	var me uintptr
	var during []uintptr // the gate in the logged re-run, before and after a nested call
	data := recordAt(t, LevelProfile, func() {
		Atomically(func(tx *Tx) error { v.Load(tx); return nil })
		me = curg()
		x, ok := cur.Load().byG.Load(me)
		if !ok {
			t.Fatal("no thread for this goroutine after a recorded call")
		}
		th = x.(*threadRec)
		if g := th.gate.Load(); g != me || th.g != me {
			t.Fatalf("after a counted call: gate %#x, g %#x; want both the goroutine's %#x", g, th.g, me)
		}
		first := true
		Atomically(func(tx *Tx) error {
			x := v.Load(tx)
			if first {
				// Another goroutine's commit to v: this attempt's commit
				// finds its read stale, and the call is logged (promote).
				first = false
				done := make(chan struct{})
				go func() {
					Atomically(func(tx *Tx) error { v.Store(tx, 100); return nil })
					close(done)
				}()
				<-done
			} else {
				during = append(during, th.gate.Load())
				Atomically(func(tx *Tx) error { v.Load(tx); return nil })
				during = append(during, th.gate.Load())
			}
			v.Store(tx, x+1)
			return nil
		})
		if len(during) != 2 || during[0] != 0 || during[1] != 0 {
			t.Errorf("gate in the logged re-run, before and after a nested call: %#x; want 0, 0", during)
		}
		if g := th.gate.Load(); g != me {
			t.Errorf("after the logged call: gate %#x, want %#x", g, me)
		}
		for range 1000 {
			Atomically(func(tx *Tx) error { v.Load(tx); return nil })
		}
	})
	if g := th.gate.Load(); g != 0 || th.stale.Load() != 1 {
		t.Errorf("after StopLog: gate %#x, stale %d; want 0, 1", g, th.stale.Load())
	}
	// The calls after the logged one were counted (the gate let them in):
	// 1001 commits not logged, besides the logged call's own.
	_, aggs, _ := readLogAggs(t, data)
	if got := aggCommits(aggs); got < 1002 {
		t.Errorf("%d commits not logged, want at least 1002 (1 + 1000 + the other goroutine's)", got)
	}
}

// TestRecordCountReadWhole: a thread's count of commits not logged is read
// by the flusher from two words that its goroutine rewrites at every draw
// (cbase and left); read while the goroutine draws again and again, it
// never goes back and never passes the calls made, and once they end it
// is exactly their number; the log has every call's commit.
func TestRecordCountReadWhole(t *testing.T) {
	v := NewVar(0)
	const n = 300_000
	data := recordAt(t, LevelProfile, func() {
		ready := make(chan *threadRec)
		done := make(chan struct{})
		go func() {
			defer close(done)
			var th *threadRec
			Atomically(func(tx *Tx) error { th = tx.rec; v.Load(tx); return nil })
			ready <- th
			for range n - 1 {
				Atomically(func(tx *Tx) error { v.Load(tx); return nil })
			}
		}()
		th := <-ready
		if th == nil {
			t.Fatal("the call was not recorded")
		}
		prev, reads := uint64(0), 0
		for running := true; running; reads++ {
			select {
			case <-done:
				running = false
			default:
			}
			c := th.commitsNotLogged(prev)
			if c < prev || c > n {
				t.Fatalf("read %d: count %d after %d, want between it and %d", reads, c, prev, n)
			}
			prev = c
		}
		// Without curg (curg_other.go) a thread is a context's, and the
		// goroutine may move to another processor's context and thread.
		if c := th.commitsNotLogged(prev); c != n && haveCurg {
			t.Errorf("count %d after the %d calls ended, want %d", c, n, n)
		}
		t.Logf("%d reads", reads)
	})
	if c := commitsIn(t, data); c != n {
		t.Errorf("%d commits in the log, want %d", c, n)
	}
}
