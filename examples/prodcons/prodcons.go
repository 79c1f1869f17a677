// Package prodcons passes items from producers to consumers through a
// bounded buffer, three ways: an STM buffer whose Put and Take block by
// returning stm.ErrRetry, a Go channel, and a mutex with two sync.Conds (the construct the
// seed's PythonPlus post spent months making fast). Retry is STM's condition
// variable: a transaction that finds the buffer full (or empty) is parked
// until a Var it read changes, with no signal to forget and no lost wake-up.
//
// The STM buffer keeps two counters, items put and items taken, and a ring
// of slots. Producers write only the put counter and consumers only the
// taken one, but each side reads the other's to know whether the buffer is
// full or empty, so the conflicts of this workload are write-read conflicts
// on the two counters.
package prodcons

import (
	"context"
	"fmt"
	"sync"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// DefaultSize is the number of items one round passes.
const DefaultSize = 20000

// Capacity is the buffer's size in items.
const Capacity = 64

// Buffer is a bounded FIFO of ints made of stm.Vars.
type Buffer struct {
	put, taken *stm.Var[int64] // items put and taken so far
	slots      []*stm.Var[int]
}

// NewBuffer returns an empty buffer of capacity n.
func NewBuffer(n int) *Buffer {
	b := &Buffer{put: stm.NewVar[int64](0).Name("items put"), taken: stm.NewVar[int64](0).Name("items taken"), slots: make([]*stm.Var[int], n)}
	for i := range b.slots {
		b.slots[i] = stm.NewVar(0)
	}
	return b
}

// Put appends x. While the buffer is full it returns stm.ErrRetry, which
// the transaction body returns in turn: the transaction then blocks until
// a consumer takes an item, and runs again.
func (b *Buffer) Put(tx *stm.Tx, x int) error {
	p := b.put.Load(tx)
	if p-b.taken.Load(tx) == int64(len(b.slots)) { // the producer reads the consumers' counter
		return stm.ErrRetry
	}
	b.slots[p%int64(len(b.slots))].Store(tx, x)
	b.put.Store(tx, p+1)
	return nil
}

// Take removes the oldest item. While the buffer is empty it returns
// stm.ErrRetry, for the body to return (blocking until a producer puts
// one).
func (b *Buffer) Take(tx *stm.Tx) (int, error) {
	t := b.taken.Load(tx)
	if b.put.Load(tx) == t { // the consumer reads the producers' counter
		return 0, stm.ErrRetry
	}
	x := b.slots[t%int64(len(b.slots))].Load(tx)
	b.taken.Store(tx, t+1)
	return x, nil
}

// PutBatch appends every item of xs in one transaction. While the buffer
// has no room for all of them it returns stm.ErrRetry. xs must not be
// longer than the buffer.
func (b *Buffer) PutBatch(tx *stm.Tx, xs []int) error {
	p := b.put.Load(tx)
	if int64(len(b.slots))-(p-b.taken.Load(tx)) < int64(len(xs)) {
		return stm.ErrRetry
	}
	for i, x := range xs {
		b.slots[(p+int64(i))%int64(len(b.slots))].Store(tx, x)
	}
	b.put.Store(tx, p+int64(len(xs)))
	return nil
}

// TakeBatch removes up to max of the oldest items into dst[:0], and stops
// after an item equal to last (an end marker: what follows it is for
// another consumer). While the buffer is empty it returns stm.ErrRetry.
func (b *Buffer) TakeBatch(tx *stm.Tx, dst []int, max, last int) ([]int, error) {
	t := b.taken.Load(tx)
	n := min(b.put.Load(tx)-t, int64(max))
	if n == 0 {
		return dst[:0], stm.ErrRetry
	}
	dst = dst[:0]
	for i := range n {
		x := b.slots[(t+i)%int64(len(b.slots))].Load(tx)
		dst = append(dst, x)
		if x == last {
			break
		}
	}
	b.taken.Store(tx, t+int64(len(dst)))
	return dst, nil
}

// Len returns the committed number of items in the buffer.
func (b *Buffer) Len() int { return int(b.put.Peek() - b.taken.Peek()) }

// condBuffer is the sync.Cond baseline.
type condBuffer struct {
	mu                sync.Mutex
	notFull, notEmpty sync.Cond
	items             []int
	head, n           int
}

func newCondBuffer(n int) *condBuffer {
	b := &condBuffer{items: make([]int, n)}
	b.notFull.L, b.notEmpty.L = &b.mu, &b.mu
	return b
}

func (b *condBuffer) put(x int) {
	b.mu.Lock()
	for b.n == len(b.items) {
		b.notFull.Wait()
	}
	b.items[(b.head+b.n)%len(b.items)] = x
	b.n++
	b.notEmpty.Signal()
	b.mu.Unlock()
}

func (b *condBuffer) take() int {
	b.mu.Lock()
	for b.n == 0 {
		b.notEmpty.Wait()
	}
	x := b.items[b.head]
	b.head = (b.head + 1) % len(b.items)
	b.n--
	b.notFull.Signal()
	b.mu.Unlock()
	return x
}

// Impl selects how items are passed.
type Impl uint8

const (
	STM Impl = iota
	Chan
	Cond
	// STMBatch is the fixed STM version: each producer-consumer pair has
	// its own buffer (no two producers write one put counter), and items
	// go over Batch at a time, so there are Batch times fewer transactions
	// on the counters, and fewer Retry waits and wake-ups.
	STMBatch
)

// Batch is how many items STMBatch moves per transaction by default.
const Batch = 16

// FixedBatch is how many items STMBatch moves per transaction: Batch
// unless the command's -batch flag says otherwise. With 1 the fixed
// version only partitions the buffer (one per producer-consumer pair),
// which removes the producers' and the consumers' write-write conflicts
// and nothing else: the variant a what-if prediction of removing those
// conflicts is checked against (scripts/whatif-validate).
var FixedBatch = Batch

func (i Impl) String() string { return [...]string{"stm", "chan", "cond", "stm-batch"}[i] }

// done marks the end of a producer's items.
const done = -1

// Pass has pairs producers put items producer*items/pairs+k (k counting up)
// and pairs consumers take them, through impl, and checks that every item
// arrived exactly once and each producer's items in the order it put them.
// attempts, if not nil, counts executions of the STM transactions.
func Pass(impl Impl, pairs, items int, attempts *workload.Counter) error {
	return pass(impl, pairs, items, attempts, nil)
}

// pass is Pass that also counts, in txs if not nil, the STMBatch
// transactions that committed (how many items a Take gets varies, so Run
// cannot work it out as it does for STM).
func pass(impl Impl, pairs, items int, attempts, txs *workload.Counter) error {
	var put func(int)
	var take func() int
	switch impl {
	case STM:
		b := NewBuffer(Capacity)
		put = func(x int) {
			stm.Atomically(func(tx *stm.Tx) error {
				if attempts != nil {
					attempts.Inc()
				}
				return b.Put(tx, x)
			})
		}
		take = func() (x int) {
			stm.Atomically(func(tx *stm.Tx) error {
				if attempts != nil {
					attempts.Inc()
				}
				var err error
				x, err = b.Take(tx)
				return err
			})
			return x
		}
	case STMBatch:
		// Each producer and consumer keeps its own batch; put and take
		// are called by one goroutine each, so the closures are made
		// per goroutine below (mkPut, mkTake).
	case Chan:
		c := make(chan int, Capacity)
		put = func(x int) { c <- x }
		take = func() int { return <-c }
	case Cond:
		b := newCondBuffer(Capacity)
		put, take = b.put, b.take
	}
	mkPut := func(int) func(int) { return put }
	mkTake := func(int) func() int { return take }
	if impl == STMBatch {
		bufs := make([]*Buffer, pairs)
		for i := range bufs {
			bufs[i] = NewBuffer(Capacity)
		}
		count := func() {
			if attempts != nil {
				attempts.Inc()
			}
		}
		committed := func() {
			if txs != nil {
				txs.Inc()
			}
		}
		mkPut = func(p int) func(int) {
			b := bufs[p]
			batch := make([]int, 0, FixedBatch)
			flush := func() {
				stm.Atomically(func(tx *stm.Tx) error {
					count()
					return b.PutBatch(tx, batch)
				})
				committed()
				batch = batch[:0]
			}
			return func(x int) {
				batch = append(batch, x)
				if len(batch) == FixedBatch || x == done {
					flush()
				}
			}
		}
		mkTake = func(c int) func() int {
			b := bufs[c]
			var ready []int
			buf := make([]int, 0, FixedBatch)
			return func() int {
				if len(ready) == 0 {
					stm.Atomically(func(tx *stm.Tx) error {
						count()
						var err error
						buf, err = b.TakeBatch(tx, buf, FixedBatch, done)
						return err
					})
					committed()
					ready = buf
				}
				x := ready[0]
				ready = ready[1:]
				return x
			}
		}
	}
	per := items / pairs
	var wg sync.WaitGroup
	for p := range pairs {
		wg.Go(func() {
			put := mkPut(p)
			for k := range per {
				put(p*per + k)
			}
			put(done)
		})
	}
	got := make([][]int, pairs)
	for c := range pairs {
		wg.Go(func() {
			take := mkTake(c)
			for {
				x := take()
				if x == done {
					return
				}
				got[c] = append(got[c], x)
			}
		})
	}
	wg.Wait()
	seen := make([]bool, per*pairs)
	for c, xs := range got {
		last := make([]int, pairs)
		for i := range last {
			last[i] = -1
		}
		for _, x := range xs {
			if x < 0 || x >= len(seen) || seen[x] {
				return fmt.Errorf("prodcons: %v: item %d taken twice or never put", impl, x)
			}
			seen[x] = true
			if p := x / per; x <= last[p] {
				return fmt.Errorf("prodcons: %v: consumer %d took producer %d's item %d after %d", impl, c, p, x, last[p])
			} else {
				last[p] = x
			}
		}
	}
	for x, ok := range seen {
		if !ok {
			return fmt.Errorf("prodcons: %v: item %d never taken", impl, x)
		}
	}
	return nil
}

// Run passes cfg.Size items, round after round, for cfg.Duration, between
// cfg.Workers producers and as many consumers, through the STM buffer (the
// channel for the baseline). Ops counts items.
func Run(ctx context.Context, cfg workload.Config) (workload.Result, error) {
	cfg = cfg.Normalize(DefaultSize)
	if FixedBatch < 1 || FixedBatch > Capacity {
		return workload.Result{}, fmt.Errorf("prodcons: a batch of %d items: want 1 to the buffer's %d", FixedBatch, Capacity)
	}
	impl := STM
	switch {
	case cfg.Baseline:
		impl = Chan
	case cfg.Fixed:
		impl = STMBatch
	}
	per := cfg.Size / cfg.Workers
	var attempts, txs workload.Counter
	rounds, elapsed, err := workload.Repeat(ctx, cfg.Duration, func() error {
		return pass(impl, cfg.Workers, cfg.Size, &attempts, &txs)
	})
	res := workload.Result{
		Ops:      int64(rounds * per * cfg.Workers),
		Unit:     "items",
		Elapsed:  elapsed,
		Attempts: attempts.Load(),
		Check:    fmt.Sprintf("%d rounds: every item taken once, each producer's in order", rounds),
	}
	switch impl {
	case STM:
		// Each item is one Put and one Take, plus the end markers.
		res.Txs = 2 * int64(rounds*(per+1)*cfg.Workers)
	case STMBatch:
		res.Txs = txs.Load()
	}
	return res, err
}
