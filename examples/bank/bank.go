// Package bank moves money between accounts while an auditor keeps adding
// all balances up: the classic transactional-memory example. Each transfer
// is a small transaction on two stm.Vars; each audit is one long read-only
// transaction over every account, which must always see the same total.
//
// It shows the long-reader-versus-short-writers pattern: every transfer that
// commits during an audit invalidates the audit's snapshot, so the conflicts
// of this workload are write-read conflicts at the auditor's Load line. The
// baseline uses one sync.Mutex per account, locked in account order, and the
// auditor locks them all.
package bank

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// DefaultSize is the number of accounts.
const DefaultSize = 64

// Initial is every account's opening balance.
const Initial = 100

// Bank is a set of accounts whose total never changes.
type Bank struct {
	accounts []*stm.Var[int64]
	total    int64
}

// New opens n accounts of Initial each.
func New(n int) *Bank {
	b := &Bank{accounts: make([]*stm.Var[int64], n), total: int64(n) * Initial}
	for i := range b.accounts {
		b.accounts[i] = stm.NewVar[int64](Initial)
	}
	return b
}

// Transfer moves amount from one account to another within tx, unless the
// source holds less than amount (then it does nothing and reports false).
func (b *Bank) Transfer(tx *stm.Tx, from, to int, amount int64) bool {
	src := b.accounts[from].Load(tx)
	if src < amount || from == to {
		return false
	}
	b.accounts[from].Store(tx, src-amount)
	b.accounts[to].Store(tx, b.accounts[to].Load(tx)+amount)
	return true
}

// Audit adds up every balance within tx.
func (b *Bank) Audit(tx *stm.Tx) (sum int64, negative int) {
	for _, a := range b.accounts {
		v := a.Load(tx)
		sum += v
		if v < 0 {
			negative++
		}
	}
	return sum, negative
}

// Total is the sum every audit must find.
func (b *Bank) Total() int64 { return b.total }

// Balances returns the committed balances (outside any transaction).
func (b *Bank) Balances() []int64 {
	out := make([]int64, len(b.accounts))
	for i, a := range b.accounts {
		out[i] = a.Peek()
	}
	return out
}

// lockedBank is the baseline: one mutex per account.
type lockedBank struct {
	mu       []sync.Mutex
	balances []int64
}

func newLocked(n int) *lockedBank {
	lb := &lockedBank{mu: make([]sync.Mutex, n), balances: make([]int64, n)}
	for i := range lb.balances {
		lb.balances[i] = Initial
	}
	return lb
}

func (lb *lockedBank) transfer(from, to int, amount int64) bool {
	if from == to {
		return false
	}
	// Lock in index order so two opposite transfers cannot deadlock.
	lo, hi := min(from, to), max(from, to)
	lb.mu[lo].Lock()
	lb.mu[hi].Lock()
	defer lb.mu[lo].Unlock()
	defer lb.mu[hi].Unlock()
	if lb.balances[from] < amount {
		return false
	}
	lb.balances[from] -= amount
	lb.balances[to] += amount
	return true
}

func (lb *lockedBank) audit() int64 {
	for i := range lb.mu {
		lb.mu[i].Lock()
	}
	var sum int64
	for _, v := range lb.balances {
		sum += v
	}
	for i := range lb.mu {
		lb.mu[i].Unlock()
	}
	return sum
}

// Run has cfg.Workers goroutines make random transfers while one auditor
// goroutine audits continuously, for cfg.Duration. Any audit that finds a
// total other than Total fails the run. Ops counts transfers attempted.
func Run(ctx context.Context, cfg workload.Config) (workload.Result, error) {
	cfg = cfg.Normalize(DefaultSize)
	n := cfg.Size
	var (
		b        *Bank
		lb       *lockedBank
		attempts workload.Counter
		ops      atomic.Int64
		audits   atomic.Int64
		stop     atomic.Bool
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		stop.Store(true)
	}
	total := int64(n) * Initial
	if cfg.Baseline {
		lb = newLocked(n)
	} else {
		b = New(n)
	}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; !stop.Load(); i++ {
				if i%64 == 63 && (time.Now().After(deadline) || ctx.Err() != nil) {
					return
				}
				from, to, amount := rng.IntN(n), rng.IntN(n), int64(1+rng.IntN(20))
				if cfg.Baseline {
					lb.transfer(from, to, amount)
				} else if err := stm.Atomically(func(tx *stm.Tx) error {
					attempts.Inc()
					b.Transfer(tx, from, to, amount)
					return nil
				}); err != nil {
					fail(err)
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Go(func() {
		for !stop.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
			var sum int64
			var negative int
			if cfg.Baseline {
				sum = lb.audit()
			} else {
				_ = stm.Atomically(func(tx *stm.Tx) error {
					attempts.Inc()
					sum, negative = b.Audit(tx)
					return nil
				})
			}
			audits.Add(1)
			if sum != total || negative > 0 {
				fail(fmt.Errorf("bank: audit %d found total %d with %d negative accounts, want %d and none", audits.Load(), sum, negative, total))
				return
			}
			// Audit now and then, as a bank would, rather than back to back.
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	res := workload.Result{
		Ops:      ops.Load(),
		Unit:     "transfers",
		Elapsed:  time.Since(start),
		Attempts: attempts.Load(),
		Check:    fmt.Sprintf("total %d in all %d audits", total, audits.Load()),
	}
	if !cfg.Baseline {
		res.Txs = res.Ops + audits.Load()
		var sum int64
		for _, v := range b.Balances() {
			sum += v
		}
		if sum != total && firstErr == nil {
			firstErr = fmt.Errorf("bank: final total %d, want %d", sum, total)
		}
	}
	return res, firstErr
}
