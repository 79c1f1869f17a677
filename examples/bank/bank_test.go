package bank

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stmlog/stmlog/examples/internal/benchmode"
	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

func TestTransfer(t *testing.T) {
	tests := []struct {
		name     string
		from, to int
		amount   int64
		moved    bool
		want     []int64
	}{
		{"moves", 0, 1, 30, true, []int64{70, 130, 100}},
		{"whole balance", 2, 0, 100, true, []int64{200, 100, 0}},
		{"insufficient", 1, 2, 101, false, []int64{100, 100, 100}},
		{"same account", 1, 1, 10, false, []int64{100, 100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(3)
			var moved bool
			if err := stm.Atomically(func(tx *stm.Tx) error {
				moved = b.Transfer(tx, tt.from, tt.to, tt.amount)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if moved != tt.moved {
				t.Errorf("moved = %v, want %v", moved, tt.moved)
			}
			if got := b.Balances(); !slices.Equal(got, tt.want) {
				t.Errorf("balances %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRunKeepsTotal(t *testing.T) {
	for _, tt := range []struct {
		baseline bool
		workers  int
		accounts int
		fixed    bool
	}{
		{false, 1, 64, false}, {false, 4, 64, false}, {false, 4, 4, false}, {true, 4, 4, false},
		{false, 1, 64, true}, {false, 4, 64, true}, {false, 4, 4, true},
	} {
		res, err := Run(context.Background(), workload.Config{Workers: tt.workers, Duration: 100 * time.Millisecond, Size: tt.accounts, Baseline: tt.baseline, Fixed: tt.fixed})
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		if res.Ops == 0 {
			t.Errorf("%+v: no transfers", tt)
		}
		if !tt.baseline && res.Attempts < res.Txs {
			t.Errorf("%+v: %d attempts for %d transactions", tt, res.Attempts, res.Txs)
		}
	}
}

// transferAll runs random transfers among b's first n accounts on three
// goroutines until stop is called (which waits for them).
func transferAll(b interface {
	Transfer(tx *stm.Tx, from, to int, amount int64) bool
}, n int) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for !done.Load() {
				from, to, amount := rng.IntN(n), rng.IntN(n), 1+int64(rng.IntN(50))
				_ = stm.Atomically(func(tx *stm.Tx) error {
					b.Transfer(tx, from, to, amount)
					return nil
				})
			}
		})
	}
	return func() { done.Store(true); wg.Wait() }
}

// TestAuditNeverSeesHalfATransfer audits continuously while transfers run
// on a few hot accounts, where a torn read would be likely.
func TestAuditNeverSeesHalfATransfer(t *testing.T) {
	b := New(4)
	stop := transferAll(b, 4)
	for range 200 {
		var sum int64
		var negative int
		_ = stm.Atomically(func(tx *stm.Tx) error {
			sum, negative = b.Audit(tx)
			return nil
		})
		if sum != b.Total() || negative != 0 {
			t.Fatalf("audit: total %d, %d negative; want %d, 0", sum, negative, b.Total())
		}
	}
	stop()
}

// Books saves an account's balance at the close when a transfer first
// touches it after the close, and Audit reads the books as of the close.
func TestBooksAuditsAsOfTheClose(t *testing.T) {
	b := NewBooks(3)
	transfer := func(from, to int, amount int64) {
		t.Helper()
		if err := stm.Atomically(func(tx *stm.Tx) error {
			if !b.Transfer(tx, from, to, amount) {
				t.Errorf("transfer %d -> %d of %d refused", from, to, amount)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	transfer(0, 1, 30) // 70 130 100
	e, err := b.Close()
	if err != nil {
		t.Fatal(err)
	}
	transfer(1, 2, 50) // 70 80 150 now; 70 130 100 at the close
	transfer(2, 1, 10) // 70 90 140
	if got := b.Balances(); !slices.Equal(got, []int64{70, 90, 140}) {
		t.Errorf("balances %v, want [70 90 140]", got)
	}
	for i, want := range []int64{70, 130, 100} {
		c := b.closed[i].Peek()
		if i > 0 && (c.epoch() != e || c.amount() != want) {
			t.Errorf("account %d: closing balance %d at epoch %d, want %d at epoch %d", i, c.amount(), c.epoch(), want, e)
		}
		if i == 0 && c.epoch() == e { // untouched since the close: nothing saved
			t.Errorf("account 0 has a closing balance saved: %d at epoch %d", c.amount(), c.epoch())
		}
	}
	sum, negative, err := b.Audit(e)
	if err != nil || sum != b.Total() || negative != 0 {
		t.Errorf("Audit(%d) = %d, %d, %v; want %d, 0, nil", e, sum, negative, err, b.Total())
	}
	// Audit of a closed epoch after the next close: the books cannot
	// answer (account 1 was written since without a balance saved for e).
	if _, err := b.Close(); err != nil {
		t.Fatal(err)
	}
	transfer(1, 0, 5)
	if _, _, err := b.Audit(e); err == nil {
		t.Errorf("Audit(%d) two closes later succeeded", e)
	}
}

// TestBooksAuditNeverSeesHalfATransfer closes and audits the fixed books
// continuously while transfers run on a few hot accounts.
func TestBooksAuditNeverSeesHalfATransfer(t *testing.T) {
	b := NewBooks(4)
	stop := transferAll(b, 4)
	for i := range 200 {
		e, err := b.Close()
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			// Let a few transfers commit after the close: they save the
			// closing balances of the accounts they change first, which the
			// audit must then use.
			for c, deadline := stm.ReadStats().Commits, time.Now().Add(10*time.Second); stm.ReadStats().Commits < c+8; {
				if time.Now().After(deadline) {
					t.Fatal("no transfers committed after the close")
				}
				runtime.Gosched()
			}
		}
		sum, negative, err := b.Audit(e)
		if err != nil || sum != b.Total() || negative != 0 {
			t.Fatalf("audit of epoch %d: total %d, %d negative, %v; want %d, 0, nil", e, sum, negative, err, b.Total())
		}
	}
	stop()
}

// BenchmarkBank: one op is one transfer among 64 accounts; an auditor audits
// every millisecond meanwhile.
func BenchmarkBank(b *testing.B) {
	const n = 64
	for _, m := range benchmode.Modes {
		for _, w := range benchmode.Workers {
			b.Run(fmt.Sprintf("%s/workers=%d", m.Name, w), func(b *testing.B) {
				bk, lb := New(n), newLocked(n)
				m.Start(b)
				var stop atomic.Bool
				var aud sync.WaitGroup
				aud.Go(func() {
					for !stop.Load() {
						if m.STM {
							_ = stm.Atomically(func(tx *stm.Tx) error { bk.Audit(tx); return nil })
						} else {
							lb.audit()
						}
						time.Sleep(time.Millisecond)
					}
				})
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				cpu := benchmode.StartCPU()
				for g := range w {
					wg.Go(func() {
						rng := rand.New(rand.NewPCG(uint64(g), 3))
						for next.Add(1) <= int64(b.N) {
							from, to, amount := rng.IntN(n), rng.IntN(n), int64(1+rng.IntN(20))
							if m.STM {
								_ = stm.Atomically(func(tx *stm.Tx) error { bk.Transfer(tx, from, to, amount); return nil })
							} else {
								lb.transfer(from, to, amount)
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				cpu.Report(b)
				stop.Store(true)
				aud.Wait()
			})
		}
	}
}
