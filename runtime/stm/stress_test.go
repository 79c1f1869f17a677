package stm

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStressMixed runs a random mix of every feature on shared accounts:
// transfers, Select with alternatives that Retry, Inevitable at random
// points, failing transactions, and audits that check the total inside the
// body (opacity). Money is conserved, no body ever sees a wrong total, and
// everything finishes (no deadlock, no livelock).
func TestStressMixed(t *testing.T) {
	bothReps(t, testStressMixed)
}

func testStressMixed(t *testing.T, newInt func(int) *Var[int]) {
	const accounts, workers, ops, initial = 8, 4, 2000, 50
	acc := make([]*Var[int], accounts)
	for i := range acc {
		acc[i] = newInt(initial)
	}
	ticket := newInt(0) // bumped by some transfers; a waiter Retries on it
	errSkip := errors.New("skip")
	var badAudits, inevRuns atomic.Int64
	audit := func(tx *Tx) int {
		s := 0
		for _, a := range acc {
			s += a.Load(tx)
		}
		if s != accounts*initial {
			badAudits.Add(1)
		}
		return s
	}
	move := func(tx *Tx, from, to, n int) bool {
		f := acc[from].Load(tx)
		if f < n {
			return false
		}
		acc[from].Store(tx, f-n)
		acc[to].Store(tx, acc[to].Load(tx)+n)
		return true
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for range ops {
				a, b, c := r.IntN(accounts), r.IntN(accounts), r.IntN(accounts)
				n := 1 + r.IntN(5)
				var err error
				switch r.IntN(6) {
				case 0, 1:
					err = Atomically(func(tx *Tx) error {
						if a != b && move(tx, a, b, n) {
							ticket.Store(tx, ticket.Load(tx)+1)
						}
						return nil
					})
				case 2:
					err = Atomically(Select(
						func(tx *Tx) error {
							if !move(tx, a, c, n) {
								tx.Retry()
							}
							return nil
						},
						func(tx *Tx) error {
							if !move(tx, b, c, n) {
								tx.Retry()
							}
							return nil
						},
						func(tx *Tx) error { audit(tx); return nil },
					))
				case 3:
					err = Atomically(func(tx *Tx) error {
						if r.IntN(2) == 0 {
							audit(tx)
						}
						tx.Inevitable()
						inevRuns.Add(1)
						move(tx, a, b, n)
						return nil
					})
				case 4:
					err = Atomically(func(tx *Tx) error {
						move(tx, a, b, n)
						return errSkip
					})
					if err == errSkip {
						err = nil
					}
				case 5:
					err = Atomically(func(tx *Tx) error { audit(tx); return nil })
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	// A waiter that needs several tickets, through Retry.
	wg.Add(1)
	go func() {
		defer wg.Done()
		Atomically(func(tx *Tx) error {
			if ticket.Load(tx) < 20 {
				tx.Retry()
			}
			return nil
		})
	}()
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("stress workload did not finish (deadlock or livelock)")
	}
	if n := badAudits.Load(); n != 0 {
		t.Fatalf("%d audits saw a wrong total", n)
	}
	total := 0
	for _, a := range acc {
		total += a.Peek()
	}
	if total != accounts*initial {
		t.Fatalf("total %d, want %d", total, accounts*initial)
	}
	if inevRuns.Load() == 0 {
		t.Fatal("no inevitable transaction ran")
	}
}
