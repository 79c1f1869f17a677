package stm

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitForRetry returns once a transaction has retried since before (a
// Retry abort is counted before the body waits), or fails the test.
func waitForRetry(t *testing.T, before Stats) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ReadStats().AbortsRetry == before.AbortsRetry {
		if time.Now().After(deadline) {
			t.Fatal("the body never retried")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestErrRetryWakes: a body that returns ErrRetry (bare or wrapped) has its
// writes discarded, sleeps until a Var it read changes, and runs again; the
// caller never sees the error.
func TestErrRetryWakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"bare", ErrRetry},
		{"wrapped", fmt.Errorf("queue empty: %w", ErrRetry)},
		{"joined", errors.Join(errors.New("other"), ErrRetry)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready, scratch := NewVar(false), NewVar(0)
			runs := 0
			before := ReadStats()
			done := make(chan error, 1)
			go func() {
				done <- Atomically(func(tx *Tx) error {
					runs++
					scratch.Store(tx, runs) // must be discarded by each retry
					if !ready.Load(tx) {
						return tc.err
					}
					return nil
				})
			}()
			waitForRetry(t, before)
			if got := scratch.Peek(); got != 0 {
				t.Fatalf("a retried attempt's write became visible: scratch=%d", got)
			}
			Atomically(func(tx *Tx) error { ready.Store(tx, true); return nil })
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Atomically returned %v, want nil (a retry is not an error)", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a body that returned ErrRetry never woke up after its read changed")
			}
			if runs < 2 || scratch.Peek() != runs {
				t.Fatalf("runs=%d scratch=%d, want at least 2 runs and the last one's write", runs, scratch.Peek())
			}
		})
	}
}

// TestErrRetryNotOtherErrors: an error that merely mentions retrying is an
// ordinary failure.
func TestErrRetryNotOtherErrors(t *testing.T) {
	v := NewVar(0)
	e := errors.New(ErrRetry.Error())
	if got := Atomically(func(tx *Tx) error { v.Load(tx); return e }); got != e {
		t.Fatalf("got %v, want the body's own error back", got)
	}
}

// TestErrRetrySelect: an alternative that returns ErrRetry (bare or
// wrapped) hands over to the next one with its writes discarded, and a
// Select whose alternatives all return it waits on every alternative's
// reads.
func TestErrRetrySelect(t *testing.T) {
	a, b, c := NewVar(0), NewVar(0), NewVar(10)
	afters := 0
	err := Atomically(Select(
		func(tx *Tx) error {
			a.Store(tx, 1)
			c.Store(tx, 11)
			tx.AfterCommit(func() { afters += 100 })
			return ErrRetry
		},
		func(tx *Tx) error {
			c.Store(tx, 12)
			return fmt.Errorf("not yet: %w", ErrRetry)
		},
		func(tx *Tx) error {
			if got := c.Load(tx); got != 10 {
				t.Errorf("third alternative sees c=%d, want 10", got)
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

	q1, q2 := NewVar(0), NewVar(0)
	got := make(chan string, 1)
	before := ReadStats()
	go func() {
		var which string
		err := Atomically(Select(
			func(tx *Tx) error {
				if q1.Load(tx) == 0 {
					return ErrRetry
				}
				which = "q1"
				return nil
			},
			func(tx *Tx) error {
				if q2.Load(tx) == 0 {
					tx.Retry() // the two forms mix
				}
				which = "q2"
				return nil
			},
		))
		if err != nil {
			which = err.Error()
		}
		got <- which
	}()
	waitForRetry(t, before)
	Atomically(func(tx *Tx) error { q1.Store(tx, 1); return nil })
	select {
	case w := <-got:
		if w != "q1" {
			t.Fatalf("chose %s, want q1", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Select never woke up on a change of a Var read by an alternative that returned ErrRetry")
	}
}

// TestErrRetrySelectNested: an inner Select whose alternatives all retry
// returns ErrRetry, and the outer alternative that returns it moves the
// outer Select on.
func TestErrRetrySelectNested(t *testing.T) {
	v, w := NewVar(0), NewVar(5)
	err := Atomically(Select(
		func(tx *Tx) error {
			v.Store(tx, 1)
			return Select(
				func(tx *Tx) error { w.Load(tx); v.Store(tx, 2); return ErrRetry },
				func(tx *Tx) error { v.Store(tx, 3); tx.Retry(); return nil },
			)(tx)
		},
		func(tx *Tx) error {
			if got := v.Load(tx); got != 0 {
				t.Errorf("second outer alternative sees v=%d, want 0", got)
			}
			v.Store(tx, 4)
			return nil
		},
	))
	if err != nil || v.Peek() != 4 {
		t.Fatalf("v=%d err=%v, want 4 nil", v.Peek(), err)
	}
}

// TestErrRetryEmptyReadSetPanics: with nothing read, returning ErrRetry is
// the same mistake as calling Retry, with the same message, and leaves the
// runtime usable.
func TestErrRetryEmptyReadSetPanics(t *testing.T) {
	v := NewVar(1)
	for _, tc := range []struct {
		name string
		body func(tx *Tx) error
	}{
		{"plain", func(tx *Tx) error { v.Store(tx, 2); return ErrRetry }},
		{"wrapped", func(tx *Tx) error { return fmt.Errorf("x: %w", ErrRetry) }},
		{"select", Select(func(tx *Tx) error { return ErrRetry }, func(tx *Tx) error { tx.Retry(); return nil })},
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
			if v.Peek() != 1 {
				t.Fatalf("v=%d after the panic, want 1 (writes discarded)", v.Peek())
			}
			if err := Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)); return nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestErrRetryAfterInevitablePanics: as with Retry, a transaction that may
// have done I/O cannot be rolled back to wait.
func TestErrRetryAfterInevitablePanics(t *testing.T) {
	v := NewVar(0)
	var p any
	func() {
		defer func() { p = recover() }()
		Atomically(func(tx *Tx) error {
			v.Load(tx)
			tx.Inevitable()
			return ErrRetry
		})
	}()
	if s, _ := p.(string); !strings.Contains(s, "Retry called after Inevitable") {
		t.Fatalf("panic %v, want the after-Inevitable message", p)
	}
	// The token was given back: another transaction can become inevitable.
	if err := Atomically(func(tx *Tx) error { tx.Inevitable(); v.Store(tx, 1); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestErrRetryHandOff passes items through a one-slot buffer, both sides
// blocking with ErrRetry, several producers and consumers at once.
func TestErrRetryHandOff(t *testing.T) {
	const n, sides = 400, 2
	slot, full := NewVar(0), NewVar(false)
	var wg sync.WaitGroup
	sums := make(chan int, sides)
	for range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum := 0
			for range n {
				var x int // set by the attempt that commits (bodies may run again)
				Atomically(func(tx *Tx) error {
					if !full.Load(tx) {
						return ErrRetry
					}
					x = slot.Load(tx)
					full.Store(tx, false)
					return nil
				})
				sum += x
			}
			sums <- sum
		}()
	}
	for p := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= n; i++ {
				Atomically(func(tx *Tx) error {
					if full.Load(tx) {
						return ErrRetry
					}
					slot.Store(tx, i+p*n)
					full.Store(tx, true)
					return nil
				})
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("hand-off with ErrRetry stuck")
	}
	total := 0
	for range sides {
		total += <-sums
	}
	m := sides * n
	if total != m*(m+1)/2 {
		t.Fatalf("consumers summed %d, want %d", total, m*(m+1)/2)
	}
}

// TestErrRetryQueue: a queued function may wait with ErrRetry for another
// queued function.
func TestErrRetryQueue(t *testing.T) {
	flag, out := NewVar(false), NewVar(0)
	q := NewQueue()
	q.Add(func(tx *Tx) error {
		if !flag.Load(tx) {
			return ErrRetry
		}
		out.Store(tx, 1)
		return nil
	})
	q.Add(func(tx *Tx) error { flag.Store(tx, true); return nil })
	done := make(chan error, 1)
	go func() { done <- q.Run(2) }()
	select {
	case err := <-done:
		if err != nil || out.Peek() != 1 {
			t.Fatalf("Run: err=%v out=%d, want nil 1", err, out.Peek())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a queued function waiting with ErrRetry never woke")
	}
}
