package stm

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBank moves money between accounts on several goroutines while an
// auditor sums all accounts in one transaction: the sum is always exact.
func TestBank(t *testing.T) {
	bothReps(t, testBank)
}

func testBank(t *testing.T, newInt func(int) *Var[int]) {
	const accounts, workers, transfers, initial = 8, 4, 2000, 100
	acc := make([]*Var[int], accounts)
	for i := range acc {
		acc[i] = newInt(initial)
	}
	var wg sync.WaitGroup
	var bad atomic.Int64
	stop := make(chan struct{})
	auditorDone := make(chan int)
	go func() {
		audits := 0
		for {
			var sum int
			if err := Atomically(func(tx *Tx) error {
				sum = 0
				for _, a := range acc {
					sum += a.Load(tx)
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
			if sum != accounts*initial {
				bad.Add(1)
			}
			audits++
			// Stop looked at after an audit, not before: on a loaded
			// machine the workers can be done before this goroutine first
			// runs, and the test would find no audit.
			select {
			case <-stop:
				auditorDone <- audits
				return
			default:
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range transfers {
				from, to := (w+i)%accounts, (w*3+i*7+1)%accounts
				if from == to {
					continue
				}
				amount := i % 7
				err := Atomically(func(tx *Tx) error {
					f := acc[from].Load(tx)
					if f < amount {
						return nil
					}
					acc[from].Store(tx, f-amount)
					acc[to].Store(tx, acc[to].Load(tx)+amount)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	audits := <-auditorDone
	if n := bad.Load(); n != 0 {
		t.Fatalf("auditor saw a wrong total %d times out of %d", n, audits)
	}
	total := 0
	for _, a := range acc {
		total += a.Peek()
	}
	if total != accounts*initial {
		t.Fatalf("final total %d, want %d", total, accounts*initial)
	}
	if audits == 0 {
		t.Fatal("auditor never ran")
	}
}

// TestOpacity keeps x == -y; bodies check the invariant on what they read,
// before committing. A zombie read (inconsistent snapshot) would show.
func TestOpacity(t *testing.T) {
	bothReps(t, testOpacity)
}

func testOpacity(t *testing.T, newInt func(int) *Var[int]) {
	x, y := newInt(0), newInt(0)
	var violations atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1500 {
				Atomically(func(tx *Tx) error {
					a := x.Load(tx)
					if w%2 == 0 {
						// Read-only checker with a yield between the reads to
						// widen the window for a writer.
						if i%16 == 0 {
							time.Sleep(time.Microsecond)
						}
					}
					b := y.Load(tx)
					if a != -b {
						violations.Add(1)
					}
					if w%2 == 1 {
						x.Store(tx, a+1)
						y.Store(tx, b-1)
					}
					return nil
				})
			}
		}()
	}
	wg.Wait()
	if n := violations.Load(); n != 0 {
		t.Fatalf("%d bodies saw x != -y", n)
	}
	if x.Peek() != 2*1500 || y.Peek() != -2*1500 {
		t.Fatalf("x=%d y=%d, want %d and %d", x.Peek(), y.Peek(), 3000, -3000)
	}
}

func TestErrorAndPanicRollBack(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name  string
		body  func(v *Var[int], tx *Tx) error
		err   error
		panic any
	}{
		{"error", func(v *Var[int], tx *Tx) error { v.Store(tx, 1); return errBoom }, errBoom, nil},
		{"wrapped error", func(v *Var[int], tx *Tx) error { v.Store(tx, 1); return fmt.Errorf("x: %w", errBoom) }, errBoom, nil},
		{"panic", func(v *Var[int], tx *Tx) error { v.Store(tx, 1); panic("kaboom") }, nil, "kaboom"},
		{"ok", func(v *Var[int], tx *Tx) error { v.Store(tx, 1); return nil }, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVar(0)
			runs, afters := 0, 0
			var got error
			var p any
			func() {
				defer func() { p = recover() }()
				got = Atomically(func(tx *Tx) error {
					runs++
					tx.AfterCommit(func() { afters++ })
					return tc.body(v, tx)
				})
			}()
			if p != tc.panic {
				t.Fatalf("panic %v, want %v", p, tc.panic)
			}
			if !errors.Is(got, tc.err) || (tc.err == nil) != (got == nil) {
				t.Fatalf("err %v, want %v", got, tc.err)
			}
			if runs != 1 {
				t.Fatalf("body ran %d times, want 1", runs)
			}
			want, wantAfter := 0, 0
			if tc.err == nil && tc.panic == nil {
				want, wantAfter = 1, 1
			}
			if v.Peek() != want || afters != wantAfter {
				t.Fatalf("v=%d afterCommit ran %d times, want %d and %d", v.Peek(), afters, want, wantAfter)
			}
		})
	}
}

func TestErrorReturnedUnchanged(t *testing.T) {
	e := &customErr{"mine"}
	got := Atomically(func(tx *Tx) error { return e })
	if got != error(e) {
		t.Fatalf("got %v (%T), want the very same error value", got, got)
	}
}

type customErr struct{ s string }

func (e *customErr) Error() string { return e.s }

func TestSelectDiscardsRetriedWrites(t *testing.T) {
	a, b, c := NewVar(0), NewVar(0), NewVar(10)
	afters := 0
	err := Atomically(Select(
		func(tx *Tx) error {
			a.Store(tx, 1)
			c.Store(tx, 11)
			tx.AfterCommit(func() { afters += 100 })
			tx.Retry()
			return nil
		},
		func(tx *Tx) error {
			if c.Load(tx) != 10 {
				t.Errorf("second alternative sees c=%d, want 10 (first alternative's write not discarded)", c.Load(tx))
			}
			b.Store(tx, 2)
			tx.AfterCommit(func() { afters++ })
			return nil
		},
	))
	if err != nil {
		t.Fatal(err)
	}
	if a.Peek() != 0 || b.Peek() != 2 || c.Peek() != 10 || afters != 1 {
		t.Fatalf("a=%d b=%d c=%d afters=%d, want 0 2 10 1", a.Peek(), b.Peek(), c.Peek(), afters)
	}
}

func TestSelectNested(t *testing.T) {
	v := NewVar(0)
	err := Atomically(func(tx *Tx) error {
		v.Store(tx, 1)
		return Select(
			func(tx *Tx) error {
				v.Store(tx, 2)
				return Select(
					func(tx *Tx) error { v.Store(tx, 3); tx.Retry(); return nil },
					func(tx *Tx) error {
						if got := v.Load(tx); got != 2 {
							t.Errorf("inner alternative sees %d, want 2", got)
						}
						return nil
					},
				)(tx)
			},
		)(tx)
	})
	if err != nil || v.Peek() != 2 {
		t.Fatalf("v=%d err=%v, want 2 nil", v.Peek(), err)
	}
}

// retryWaiters is how many transactions wait in Retry for v to change
// (registered in its wait queue).
func retryWaiters[T any](v *Var[T]) int32 {
	if q := v.h.waitq.Load(); q != nil {
		return q.n.Load()
	}
	return 0
}

// awaitRetryWaiters returns whether n transactions came to wait in Retry
// for v within 10 s: a test that commits a change to wake them waits for
// this first, or the change could come before they wait and the test would
// pass without testing the wake-up. It does not fail the test, so that a
// goroutine other than the test's may call it.
func awaitRetryWaiters[T any](v *Var[T], n int32) bool {
	for deadline := time.Now().Add(10 * time.Second); retryWaiters(v) < n; {
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
	return true
}

// TestSelectAllRetry: the whole transaction waits for any Var read by any
// alternative, then picks the one that became ready.
func TestSelectAllRetry(t *testing.T) {
	q1, q2 := NewVar(0), NewVar(0)
	got := make(chan string, 1)
	go func() {
		var which string
		Atomically(Select(
			func(tx *Tx) error {
				if q1.Load(tx) == 0 {
					tx.Retry()
				}
				which = "q1"
				return nil
			},
			func(tx *Tx) error {
				if q2.Load(tx) == 0 {
					tx.Retry()
				}
				which = "q2"
				return nil
			},
		))
		got <- which
	}()
	// Both alternatives retried: the transaction waits on the Vars of both.
	if !awaitRetryWaiters(q1, 1) || !awaitRetryWaiters(q2, 1) {
		t.Fatalf("Select never came to wait on both Vars (waiters: %d, %d)", retryWaiters(q1), retryWaiters(q2))
	}
	Atomically(func(tx *Tx) error { q2.Store(tx, 1); return nil })
	select {
	case w := <-got:
		if w != "q2" {
			t.Fatalf("chose %s, want q2", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Select never woke up on a change of a Var read by its second alternative")
	}
}

// TestProducerConsumer passes items through a one-slot buffer with Retry on
// both sides.
func TestProducerConsumer(t *testing.T) {
	const n = 500
	slot, full := NewVar(0), NewVar(false)
	done := make(chan int)
	go func() {
		sum := 0
		for range n {
			Atomically(func(tx *Tx) error {
				if !full.Load(tx) {
					tx.Retry()
				}
				sum += slot.Load(tx)
				full.Store(tx, false)
				return nil
			})
		}
		done <- sum
	}()
	for i := 1; i <= n; i++ {
		Atomically(func(tx *Tx) error {
			if full.Load(tx) {
				tx.Retry()
			}
			slot.Store(tx, i)
			full.Store(tx, true)
			return nil
		})
	}
	select {
	case sum := <-done:
		if sum != n*(n+1)/2 {
			t.Fatalf("consumer summed %d, want %d", sum, n*(n+1)/2)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("producer/consumer stuck")
	}
}

func TestRetryEmptyReadSetPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func(tx *Tx) error
	}{
		{"plain", func(tx *Tx) error { tx.Retry(); return nil }},
		{"select", Select(func(tx *Tx) error { tx.Retry(); return nil }, func(tx *Tx) error { tx.Retry(); return nil })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p any
			func() {
				defer func() { p = recover() }()
				Atomically(tc.body)
			}()
			s, _ := p.(string)
			if !strings.Contains(s, "Retry called before the transaction read any Var") {
				t.Fatalf("panic %v, want the empty-read-set message", p)
			}
		})
	}
}

// TestInevitable: one inevitable at a time, never re-run after Inevitable
// returns, even under contention on the Vars it touches.
func TestInevitable(t *testing.T) {
	counter := NewVar(0)
	var inside, maxInside atomic.Int32
	var reruns atomic.Int64
	var wg sync.WaitGroup
	const workers, each = 4, 150
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				passed := false
				Atomically(func(tx *Tx) error {
					if passed {
						reruns.Add(1)
					}
					v := counter.Load(tx)
					if (w+i)%3 == 0 {
						tx.Inevitable()
						passed = true
						n := inside.Add(1)
						for {
							m := maxInside.Load()
							if n <= m || maxInside.CompareAndSwap(m, n) {
								break
							}
						}
						time.Sleep(20 * time.Microsecond) // "I/O"
						v = counter.Load(tx)
						inside.Add(-1)
					}
					counter.Store(tx, v+1)
					return nil
				})
			}
		}()
	}
	wg.Wait()
	if m := maxInside.Load(); m != 1 {
		t.Fatalf("max concurrent inevitable transactions %d, want 1", m)
	}
	if n := reruns.Load(); n != 0 {
		t.Fatalf("%d bodies re-ran after Inevitable returned", n)
	}
	if got := counter.Peek(); got != workers*each {
		t.Fatalf("counter %d, want %d", got, workers*each)
	}
}

func TestAfterCommitOncePerCommit(t *testing.T) {
	v := NewVar(0)
	var runs, afters atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				Atomically(func(tx *Tx) error {
					runs.Add(1)
					v.Store(tx, v.Load(tx)+1)
					tx.AfterCommit(func() { afters.Add(1) })
					return nil
				})
			}
		}()
	}
	wg.Wait()
	if afters.Load() != 1200 || v.Peek() != 1200 {
		t.Fatalf("afters=%d v=%d, want 1200 1200 (bodies ran %d times)", afters.Load(), v.Peek(), runs.Load())
	}
}

func TestQueue(t *testing.T) {
	errOdd := errors.New("odd")
	total := NewVar(0)
	q := NewQueue()
	var failedAdds atomic.Int64
	var leaf func(n int) func(tx *Tx) error
	leaf = func(n int) func(tx *Tx) error {
		return func(tx *Tx) error {
			total.Store(tx, total.Load(tx)+1)
			if n > 0 {
				q.Add(leaf(n - 1)) // from the body: only if this commits
				tx.AfterCommit(func() { q.Add(leaf(0)) })
			}
			return nil
		}
	}
	for i := range 20 {
		q.Add(leaf(2))
		if i%5 == 0 {
			q.Add(func(tx *Tx) error {
				total.Store(tx, total.Load(tx)+1000)
				q.Add(func(tx *Tx) error { failedAdds.Add(1); return nil })
				return fmt.Errorf("task %d: %w", i, errOdd)
			})
		}
	}
	err := q.Run(0)
	// leaf(2): itself + leaf(1) + leaf(0) from AfterCommit of leaf(2);
	// leaf(1): itself + leaf(0) + leaf(0); so 1+1+1+1+1 = 5 commits per root... count:
	// leaf(2) -> body adds leaf(1), after adds leaf(0); leaf(1) -> body adds leaf(0), after adds leaf(0).
	// Commits per root: leaf2, leaf1, leaf0 (after of 2), leaf0 (body of 1), leaf0 (after of 1) = 5.
	if got := total.Peek(); got != 20*5 {
		t.Fatalf("total %d, want %d", got, 20*5)
	}
	if failedAdds.Load() != 0 {
		t.Fatal("an Add made in a failed transaction's body ran")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 4 {
		t.Fatalf("Run returned %v, want 4 joined errors", err)
	}
	for _, e := range joined.Unwrap() {
		if !errors.Is(e, errOdd) {
			t.Fatalf("joined error %v is not errOdd", e)
		}
	}
	// The queue can be run again.
	q.Add(leaf(0))
	if err := q.Run(1); err != nil || total.Peek() != 101 {
		t.Fatalf("second Run: err %v total %d", err, total.Peek())
	}
}

func TestQueuePanicPropagates(t *testing.T) {
	q := NewQueue()
	q.Add(func(tx *Tx) error { panic("queued boom") })
	var p any
	func() {
		defer func() { p = recover() }()
		q.Run(2)
	}()
	if p != "queued boom" {
		t.Fatalf("Run panicked with %v, want the queued function's panic", p)
	}
}

func TestTxEscapePanics(t *testing.T) {
	v := NewVar(0)
	var leaked *Tx
	Atomically(func(tx *Tx) error { leaked = tx; return nil })
	var p any
	func() {
		defer func() { p = recover() }()
		v.Store(leaked, 1)
	}()
	if s, _ := p.(string); !strings.Contains(s, "outside its transaction") {
		t.Fatalf("panic %v, want the escaped-Tx message", p)
	}
}

// TestStarvationFreedom: a long transaction reading many Vars that short
// writers keep changing still commits (contention management makes it
// inevitable after enough aborts).
func TestStarvationFreedom(t *testing.T) {
	vars := make([]*Var[int], 32)
	for i := range vars {
		vars[i] = NewVar(0)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := vars[i%len(vars)]
			Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
		}
	}()
	done := make(chan struct{})
	go func() {
		Atomically(func(tx *Tx) error {
			s := 0
			for _, v := range vars {
				s += v.Load(tx)
				time.Sleep(5 * time.Microsecond)
			}
			vars[0].Store(tx, vars[0].Load(tx)) // a writer: must validate
			return nil
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("long transaction starved")
	}
	close(stop)
	wg.Wait()
}

// TestRetryAfterContentionInevitable: a transaction that contention
// management made inevitable may still Retry (it did nothing irrevocable);
// it must give the token up while it waits, or nobody could wake it.
func TestRetryAfterContentionInevitable(t *testing.T) {
	v, w, flag := NewVar(0), NewVar(0), NewVar(false)
	before := ReadStats()
	attempts := 0
	setterStarted := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		Atomically(func(tx *Tx) error {
			attempts++
			x := v.Load(tx)
			if attempts <= inevitableAfter {
				// Force a conflict: another transaction commits v now.
				Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
				w.Store(tx, x)
				return nil
			}
			if !flag.Load(tx) {
				if !setterStarted {
					setterStarted = true
					go func() {
						// Once the transaction waits (holding the token, it would wait forever).
						if !awaitRetryWaiters(flag, 1) {
							t.Error("the transaction never came to wait in Retry")
						}
						Atomically(func(tx *Tx) error { flag.Store(tx, true); return nil })
					}()
				}
				tx.Retry()
			}
			return nil
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stuck: Retry kept the inevitability token")
	}
	after := ReadStats()
	if attempts != inevitableAfter+2 {
		t.Fatalf("%d attempts, want %d", attempts, inevitableAfter+2)
	}
	if after.Inevitable == before.Inevitable {
		t.Fatal("contention management never made the transaction inevitable")
	}
	if after.AbortsConflict-before.AbortsConflict < inevitableAfter {
		t.Fatalf("%d conflict aborts, want at least %d", after.AbortsConflict-before.AbortsConflict, inevitableAfter)
	}
}

// TestRetryWakesEveryWaiter: more goroutines wait in Retry on one Var than
// its queue has compare-and-swap slots, so some sit in the overflow list.
// One commit must wake them all, and none may wake before it (each checks
// the gate it waited for).
func TestRetryWakesEveryWaiter(t *testing.T) {
	const waiters = 3 * waitSlots
	gate := NewVar(false)
	var waiting sync.WaitGroup
	var woke atomic.Int32
	done := make(chan struct{})
	waiting.Add(waiters)
	for range waiters {
		go func() {
			first := true
			Atomically(func(tx *Tx) error {
				if !gate.Load(tx) {
					if first {
						first = false
						waiting.Done()
					}
					tx.Retry()
				}
				return nil
			})
			if woke.Add(1) == waiters {
				close(done)
			}
		}()
	}
	waiting.Wait()
	// Every waiter registers (they park after a few yields).
	if !awaitRetryWaiters(gate, waiters) {
		t.Fatalf("only %d of %d waiters registered", retryWaiters(gate), waiters)
	}
	if q := gate.h.waitq.Load(); q.over.Load() == 0 {
		t.Fatal("no waiter went to the overflow list: the test does not cover it")
	}
	if n := woke.Load(); n != 0 {
		t.Fatalf("%d waiters returned before the gate opened", n)
	}
	Atomically(func(tx *Tx) error { gate.Store(tx, true); return nil })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d waiters woke after the gate opened", woke.Load(), waiters)
	}
	if q := gate.h.waitq.Load(); q.n.Load() != 0 {
		t.Fatalf("%d waiters still registered after all returned", q.n.Load())
	}
}
