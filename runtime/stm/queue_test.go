package stm

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
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

// TestQueueSpanStops: a panic in one of an AddN's transactions stops the
// Run from starting the rest, including those of the span its worker
// took at once; Run panics with the value.
func TestQueueSpanStops(t *testing.T) {
	var ran atomic.Int64
	q := NewQueue()
	q.AddN(1000, func(tx *Tx, i int) error {
		ran.Add(1)
		if i == 10 {
			panic("span boom")
		}
		return nil
	})
	var p any
	func() {
		defer func() { p = recover() }()
		q.Run(1)
	}()
	if p != "span boom" {
		t.Fatalf("Run panicked with %v, want the transaction's panic", p)
	}
	if n := ran.Load(); n != 11 {
		t.Fatalf("%d transactions ran, want 11 (0 to 10, none after the panic)", n)
	}
	// Two workers: the other one's span stops too. Its transactions wait
	// for the stop, so it is in one when the panic comes.
	ran.Store(0)
	q = NewQueue() // (q still holds the first AddN's rest)
	var otherIn atomic.Bool
	q.AddN(1000, func(tx *Tx, i int) error {
		ran.Add(1)
		if i == 10 {
			for deadline := time.Now().Add(5 * time.Second); !otherIn.Load() && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
			panic("span boom")
		}
		if i >= 64 {
			otherIn.Store(true) // not in the span of the worker that panics
			for deadline := time.Now().Add(5 * time.Second); !q.stop.Load() && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
		}
		return nil
	})
	p = nil
	func() {
		defer func() { p = recover() }()
		q.Run(2)
	}()
	if p != "span boom" {
		t.Fatalf("Run(2) panicked with %v, want the transaction's panic", p)
	}
	if n := ran.Load(); n > 12 {
		t.Fatalf("Run(2): %d transactions ran, want at most 12 (0 to 10, and one of the other worker's)", n)
	}
}

// TestQueueAbortResumes: a queued transaction whose Load finds its
// snapshot stale is aborted (the signal unwinds the body to the worker's
// recover) and runs again, and the worker goes on with the rest of its
// span; so does one that calls tx.Retry.
func TestQueueAbortResumes(t *testing.T) {
	a, b, flag := NewVar(0), NewVar(0), NewVar(false)
	var runs [4]atomic.Int64
	var sawTorn atomic.Bool
	q := NewQueue()
	q.AddN(4, func(tx *Tx, i int) error {
		n := runs[i].Add(1)
		switch i {
		case 1:
			x := a.Load(tx)
			if n == 1 {
				// Another goroutine commits a and b after our read of a:
				// the Load of b cannot extend the snapshot, and aborts.
				done := make(chan struct{})
				go func() {
					Atomically(func(tx *Tx) error {
						a.Store(tx, a.Load(tx)+1)
						b.Store(tx, b.Load(tx)+1)
						return nil
					})
					close(done)
				}()
				<-done
			}
			if y := b.Load(tx); x != y {
				sawTorn.Store(true)
			}
		case 2:
			if !flag.Load(tx) {
				if n == 1 {
					go Atomically(func(tx *Tx) error { flag.Store(tx, true); return nil })
				}
				tx.Retry()
			}
		}
		return nil
	})
	if err := q.Run(1); err != nil {
		t.Fatal(err)
	}
	if sawTorn.Load() {
		t.Fatal("a queued body saw a and b from different commits")
	}
	if got := runs[1].Load(); got != 2 {
		t.Fatalf("the aborted transaction ran %d times, want 2", got)
	}
	if got := runs[2].Load(); got < 2 {
		t.Fatalf("the retrying transaction ran %d times, want at least 2", got)
	}
	if runs[0].Load() != 1 || runs[3].Load() != 1 {
		t.Fatalf("the others ran %d and %d times, want 1 and 1", runs[0].Load(), runs[3].Load())
	}
}

// TestQueueKeepsSpanRest: a span's transactions that its worker will not
// run stay queued. After a panic stops the Run, the next Run runs each of
// the rest once; a body that calls runtime.Goexit ends its worker only:
// the other worker runs the rest, and Run returns.
func TestQueueKeepsSpanRest(t *testing.T) {
	const n = 1000
	var runs [n]atomic.Int32
	q := NewQueue()
	q.AddN(n, func(tx *Tx, i int) error {
		if runs[i].Add(1) == 1 && i == 10 {
			panic("span boom")
		}
		return nil
	})
	func() {
		defer func() {
			if p := recover(); p != "span boom" {
				t.Fatalf("Run panicked with %v, want the transaction's panic", p)
			}
		}()
		q.Run(1)
	}()
	if err := q.Run(2); err != nil {
		t.Fatal(err)
	}
	for i := range runs {
		if got := runs[i].Load(); got != 1 { // 10 too: the panic ended it
			t.Fatalf("transaction %d ran %d times over the two Runs, want once", i, got)
		}
	}

	var goexits, others atomic.Int64
	q = NewQueue()
	q.AddN(n, func(tx *Tx, i int) error {
		if i == 10 {
			goexits.Add(1)
			runtime.Goexit()
		}
		others.Add(1)
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- q.Run(2) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after a queued body called runtime.Goexit")
	}
	if goexits.Load() != 1 || others.Load() != n-1 {
		t.Fatalf("%d Goexits and %d other transactions, want 1 and %d", goexits.Load(), others.Load(), n-1)
	}
}
