package stm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// queued returns how many transactions wait for the inevitability token.
func queued() int {
	inev.mu.Lock()
	defer inev.mu.Unlock()
	return len(inev.queue)
}

func waitQueued(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); queued() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions wait for the token, want %d", queued(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestInevitableFIFO: the token goes to the waiters in the order they
// asked, and a holder that asks again as soon as it is done queues behind
// them instead of taking the token back.
func TestInevitableFIFO(t *testing.T) {
	const waiters = 5
	var mu sync.Mutex
	var order []int
	var waited []uint64
	turn := func(who int) {
		Atomically(func(tx *Tx) error {
			tx.Inevitable()
			mu.Lock()
			order = append(order, who)
			waited = append(waited, tx.inevWaited)
			mu.Unlock()
			return nil
		})
	}
	held := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Atomically(func(tx *Tx) error {
			tx.Inevitable()
			close(held)
			waitQueued(t, waiters)
			return nil
		})
		turn(0) // at once: the token is still busy with the waiters
	}()
	<-held
	for i := 1; i <= waiters; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); turn(i) }()
		if i < waiters {
			waitQueued(t, i) // i has queued before i+1 starts (the holder waits for the last)
		}
	}
	wg.Wait()
	want := []int{1, 2, 3, 4, 5, 0}
	if len(order) != len(want) {
		t.Fatalf("turns %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("turns %v, want %v", order, want)
		}
	}
	// Waiter i saw exactly the i-1 waiters ahead of it go first.
	for i := range waiters {
		if waited[i] != uint64(i) {
			t.Fatalf("waiter %d waited %d turns, want %d (all: %v)", i+1, waited[i], i, waited)
		}
	}
}

// TestInevitableTurnsBounded: with n goroutines asking for inevitability
// over and over, nobody ever waits for more than the n-1 others to have
// their turn (counted in grants of the token, not in time).
func TestInevitableTurnsBounded(t *testing.T) {
	const n, each = 4, 200
	v := NewVar(0)
	var maxWait, waitedSome atomic.Uint64
	for round := 0; round < 20 && (round == 0 || waitedSome.Load() == 0); round++ {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					Atomically(func(tx *Tx) error {
						tx.Inevitable()
						w := tx.inevWaited
						if w > 0 {
							waitedSome.Add(1)
						}
						for m := maxWait.Load(); w > m && !maxWait.CompareAndSwap(m, w); m = maxWait.Load() {
						}
						runtime.Gosched() // let the others queue up
						v.Store(tx, v.Load(tx)+1)
						return nil
					})
				}
			}()
		}
		wg.Wait()
	}
	if m := maxWait.Load(); m > n-1 {
		t.Fatalf("a transaction waited %d turns for the token; FIFO allows at most %d", m, n-1)
	}
	if waitedSome.Load() == 0 {
		t.Fatal("no transaction ever waited behind another waiter; the test proves nothing")
	}
	if v.Peek()%(n*each) != 0 {
		t.Fatalf("counter %d, want a multiple of %d", v.Peek(), n*each)
	}
}

// TestCommitWaitersNotStarved: while some goroutine always wants the
// token, a plain writer still commits: a release lets the committers that
// waited for it through before the token goes to the next waiter.
func TestCommitWaitersNotStarved(t *testing.T) {
	// The budget is per commit of the writer, not for the whole run: on a
	// busy machine the run may take many turns, but a writer that is not
	// starved commits again within a bounded number of them.
	const holders, writes, maxWrites, maxGap = 3, 100, 100000, 20000
	counter, other := NewVar(0), NewVar(0)
	var writerDone, starved atomic.Bool
	var turns atomic.Int64
	var lastCommit atomic.Int64 // the turn of the writer's last commit; -1 before it starts
	lastCommit.Store(-1)
	var wg sync.WaitGroup
	for range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !writerDone.Load() {
				n := turns.Add(1)
				if last := lastCommit.Load(); last >= 0 && n-last >= maxGap {
					starved.Store(true)
					return
				}
				Atomically(func(tx *Tx) error {
					tx.Inevitable()
					for range 3 {
						runtime.Gosched()
					}
					other.Store(tx, other.Load(tx)+1)
					return nil
				})
			}
		}()
	}
	// The writer starts once the token is busy and has a queue.
	waitQueued(t, 1)
	admissions := func() uint64 {
		inev.mu.Lock()
		defer inev.mu.Unlock()
		return inev.gen
	}
	before := admissions()
	start := turns.Load()
	lastCommit.Store(start)
	// At least writes commits, and on until one of them waited for the
	// token: on a loaded machine the holders may be off their processors
	// for all of the first writes, which would prove nothing.
	n := 0
	for n < writes || (admissions() == before && n < maxWrites) {
		Atomically(func(tx *Tx) error { counter.Store(tx, counter.Load(tx)+1); return nil })
		n++
		lastCommit.Store(turns.Load())
	}
	writerDone.Store(true)
	wg.Wait()
	if starved.Load() {
		t.Fatalf("the writer went %d inevitable turns without a commit (%d of %d commits done)", maxGap, counter.Peek(), n)
	}
	if counter.Peek() != n {
		t.Fatalf("counter %d, want %d", counter.Peek(), n)
	}
	if admissions() == before {
		t.Fatal("the writer never waited for an inevitable transaction; the test proves nothing")
	}
	t.Logf("%d commits during %d inevitable turns, %d admissions", n, turns.Load()-start, admissions()-before)
}
