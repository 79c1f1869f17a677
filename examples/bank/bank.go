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
//
// The fixed version (Config.Fixed, type Books) does what a bank does: it
// closes the books and audits them as of the close while business goes on.
// Closing is one tiny transaction that advances an epoch; the first transfer
// to touch an account after a close saves the account's balance at the
// close beside it, in the same transaction. The auditor waits a moment
// (most accounts are touched by then), then reads each account's closing
// balance in a transaction of its own: saved balances no longer change, and
// an account not yet touched still holds its closing balance. The audit is
// exactly as strict (the closing balances are one consistent snapshot, the
// state at the close's commit), but no transaction reads every account, so
// the long reader and its conflicts are gone.
package bank

import (
	"context"
	"fmt"
	"math"
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
	src, dst := b.accounts[from], b.accounts[to]
	s := src.Load(tx)
	if s < amount || from == to {
		return false
	}
	src.Store(tx, s-amount)
	dst.Store(tx, dst.Load(tx)+amount)
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

// balance is an account of Books: its amount in the low 32 bits and, in
// the high 32, the epoch of the last transfer that wrote it. One word, so
// that a transfer's Loads and Stores take the runtime's one-word path as
// Bank's int64 balances do: with a two-word struct the fix's transfers
// cost more than the auditor's conflicts did (BENCHMARKS.md, the what-if
// validation).
type balance uint64

func mkBalance(amount int64, epoch uint64) balance {
	return balance(epoch<<32 | uint64(uint32(amount)))
}

func (b balance) amount() int64 { return int64(int32(uint32(b))) }
func (b balance) epoch() uint64 { return uint64(b >> 32) }

// maxEpoch is the last epoch a balance can hold.
const maxEpoch = 1<<32 - 1

// Books is the fixed bank: accounts whose balance at the last close of the
// books is kept beside them, so that audits read no Var a transfer is
// writing.
type Books struct {
	// epoch counts the closes; transfers read it, only Close writes it.
	epoch *stm.Var[uint64]
	cur   []*stm.Var[balance]
	// closed[i] is account i's balance at the close of epoch closed[i].epoch,
	// saved by the first transfer after that close.
	closed []*stm.Var[balance]
	total  int64
	// attempt, if set, is called by each run of Close's and Audit's
	// transaction bodies (Run counts attempts with it).
	attempt func()
}

func (b *Books) counted() {
	if b.attempt != nil {
		b.attempt()
	}
}

// NewBooks opens n accounts of Initial each, in epoch 1. Their total must
// fit a balance's 31 bits.
func NewBooks(n int) *Books {
	if int64(n)*Initial > math.MaxInt32 {
		panic(fmt.Sprintf("bank: %d accounts of %d hold more than a balance's 31 bits", n, Initial))
	}
	b := &Books{epoch: stm.NewVar[uint64](1), cur: make([]*stm.Var[balance], n), closed: make([]*stm.Var[balance], n), total: int64(n) * Initial}
	for i := range b.cur {
		b.cur[i] = stm.NewVar(mkBalance(Initial, 0))
		b.closed[i] = stm.NewVar(mkBalance(Initial, 0))
	}
	return b
}

// Transfer moves amount from one account to another within tx, as
// Bank.Transfer does, saving each account's closing balance first if this
// is its first transfer since the last close.
func (b *Books) Transfer(tx *stm.Tx, from, to int, amount int64) bool {
	src := b.cur[from].Load(tx)
	if src.amount() < amount || from == to {
		return false
	}
	e := b.epoch.Load(tx)
	dst := b.cur[to].Load(tx)
	// Written out twice rather than in a helper, so that the report shows
	// both sides of a transfer-transfer conflict in Transfer itself.
	if src.epoch() < e {
		b.closed[from].Store(tx, mkBalance(src.amount(), e-1))
	}
	if dst.epoch() < e {
		b.closed[to].Store(tx, mkBalance(dst.amount(), e-1))
	}
	b.cur[from].Store(tx, mkBalance(src.amount()-amount, e))
	b.cur[to].Store(tx, mkBalance(dst.amount()+amount, e))
	return true
}

// Close closes the books: the epoch it returns is over, and Audit(e) can
// check the balances as they were at this moment.
func (b *Books) Close() (uint64, error) {
	var e uint64
	err := stm.Atomically(func(tx *stm.Tx) error {
		b.counted()
		e = b.epoch.Load(tx)
		if e == maxEpoch {
			return fmt.Errorf("bank: the books were closed %d times, the most a balance can record", e)
		}
		b.epoch.Store(tx, e+1)
		return nil
	})
	return e, err
}

// Audit adds up the balances at the close of epoch e, the last one closed,
// one account per transaction. It fails if the books contradict themselves
// (an account written after the close with no closing balance saved).
func (b *Books) Audit(e uint64) (sum int64, negative int, err error) {
	for i := range b.cur {
		var v int64
		err := stm.Atomically(func(tx *stm.Tx) error {
			b.counted()
			if c := b.closed[i].Load(tx); c.epoch() == e {
				v = c.amount()
				return nil
			}
			c := b.cur[i].Load(tx)
			if c.epoch() > e {
				return fmt.Errorf("bank: account %d written in epoch %d without its balance at the close of %d", i, c.epoch(), e)
			}
			v = c.amount()
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
		sum += v
		if v < 0 {
			negative++
		}
	}
	return sum, negative, nil
}

// Balances returns the current committed balances (outside any
// transaction).
func (b *Books) Balances() []int64 {
	out := make([]int64, len(b.cur))
	for i, a := range b.cur {
		out[i] = a.Peek().amount()
	}
	return out
}

// Total is the sum every audit must find.
func (b *Books) Total() int64 { return b.total }

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
// cfg.Fixed runs Books (see the package doc); the baseline ignores it.
func Run(ctx context.Context, cfg workload.Config) (workload.Result, error) {
	cfg = cfg.Normalize(DefaultSize)
	n := cfg.Size
	var (
		b        *Bank
		bk       *Books
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
	switch {
	case cfg.Baseline:
		lb = newLocked(n)
	case cfg.Fixed:
		bk = NewBooks(n)
		bk.attempt = attempts.Inc
	default:
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
					if bk != nil {
						bk.Transfer(tx, from, to, amount)
					} else {
						b.Transfer(tx, from, to, amount)
					}
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
			switch {
			case cfg.Baseline:
				sum = lb.audit()
			case cfg.Fixed:
				e, err := bk.Close()
				if err == nil {
					// Let business go on: by the time the audit reads an
					// account, a transfer has most likely saved its
					// closing balance, which no longer changes.
					time.Sleep(time.Millisecond)
					sum, negative, err = bk.Audit(e)
				}
				if err != nil {
					fail(err)
					return
				}
			default:
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
			if cfg.Fixed {
				continue // it paused between the close and the audit
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
		balances := func() []int64 { return b.Balances() }
		if cfg.Fixed {
			// An audit is a close and a transaction per account.
			res.Txs = res.Ops + audits.Load()*int64(n+1)
			balances = bk.Balances
		}
		var sum int64
		for _, v := range balances() {
			sum += v
		}
		if sum != total && firstErr == nil {
			firstErr = fmt.Errorf("bank: final total %d, want %d", sum, total)
		}
	}
	return res, firstErr
}
