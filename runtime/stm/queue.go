package stm

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// Queue is PyPy's transaction.TransactionQueue: add functions, then Run
// them all on several goroutines, each as one transaction, so that the
// result is as if they ran one at a time in some order.
//
// Add may be called from anywhere, including from a queued function's body
// (the function is queued only if that transaction commits) and from its
// AfterCommit functions. Telling a body's Add from any other needs to know
// which goroutine calls: a worker records its goroutine id once, and Add
// looks its caller's id up (about a microsecond) only while some worker is
// inside a transaction. An Add from the body of a transaction that is not
// run by this Queue's workers takes effect at once.
type Queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	pending []qitem
	head    int
	busy    int
	running bool
	stop    bool
	errs    []error
	panicV  any
	workers []*qworker
	inTx    atomic.Int32 // workers inside Atomically
}

// qitem is one Add, or the transactions of one AddN not yet started:
// fi(tx, i) for i in [lo, hi).
type qitem struct {
	fn     func(*Tx) error
	fi     func(*Tx, int) error
	lo, hi int
}

type qworker struct {
	gid uint64
	tx  *Tx // touched only by the worker's own goroutine
	// The AddN transaction being run, and the body that runs it (made
	// once per worker, so that AddN's transactions allocate nothing).
	fi   func(*Tx, int) error
	i    int
	call func(*Tx) error
}

// NewQueue returns an empty Queue.
func NewQueue() *Queue {
	q := &Queue{}
	q.cond.L = &q.mu
	return q
}

// Add queues fn to run as a transaction by the next (or the current) Run.
func (q *Queue) Add(fn func(tx *Tx) error) { q.add(qitem{fn: fn}) }

// AddN queues n transactions, fn(tx, 0) to fn(tx, n-1), as n Adds of
// func(tx *Tx) error { return fn(tx, i) } would, in that order, without a
// function or a queue entry for each.
func (q *Queue) AddN(n int, fn func(tx *Tx, i int) error) {
	if n > 0 {
		q.add(qitem{fi: fn, hi: n})
	}
}

func (q *Queue) add(it qitem) {
	if q.inTx.Load() > 0 {
		g := goid()
		q.mu.Lock()
		var w *qworker
		for _, x := range q.workers {
			if x.gid == g {
				w = x
				break
			}
		}
		q.mu.Unlock()
		if w != nil && w.tx != nil && w.tx.state&stActive != 0 {
			w.tx.extra = true
			w.tx.adds = append(w.tx.adds, pendingAdd{q: q, it: it})
			return
		}
	}
	q.mu.Lock()
	q.pending = append(q.pending, it)
	if it.hi-it.lo > 1 {
		q.cond.Broadcast()
	} else {
		q.cond.Signal()
	}
	q.mu.Unlock()
}

// Run runs every queued function, and every function queued meanwhile, on
// workers goroutines (0 means GOMAXPROCS), and returns when none is left.
// It returns errors.Join of the errors returned by failed transactions (nil
// if none failed). If a function panics, Run stops starting new ones, waits
// for the running ones and panics with the same value.
func (q *Queue) Run(workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	q.mu.Lock()
	if q.running {
		q.mu.Unlock()
		panic("stm: Queue.Run called while the Queue is already running")
	}
	q.running, q.stop, q.errs, q.panicV = true, false, nil, nil
	q.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go q.work(&wg)
	}
	wg.Wait()
	q.mu.Lock()
	errs, pv := q.errs, q.panicV
	q.running, q.errs, q.workers = false, nil, nil
	q.mu.Unlock()
	if pv != nil {
		panic(pv)
	}
	return errors.Join(errs...)
}

// next takes the next transaction into w (w.fi and w.i for one of an
// AddN's) and returns its body, or nil when the Run is over.
func (q *Queue) next(w *qworker) func(*Tx) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.stop {
			return nil
		}
		if q.head < len(q.pending) {
			it := &q.pending[q.head]
			fn := it.fn
			if fn == nil {
				w.fi, w.i = it.fi, it.lo
				fn = w.call
				if it.lo++; it.lo < it.hi {
					q.busy++
					return fn
				}
			}
			*it = qitem{}
			q.head++
			if q.head == len(q.pending) {
				q.pending, q.head = q.pending[:0], 0
			}
			q.busy++
			return fn
		}
		if q.busy == 0 {
			q.cond.Broadcast()
			return nil
		}
		q.cond.Wait()
	}
}

func (q *Queue) work(wg *sync.WaitGroup) {
	defer wg.Done()
	w := &qworker{gid: goid()}
	w.call = func(tx *Tx) error { return w.fi(tx, w.i) }
	q.mu.Lock()
	q.workers = append(q.workers, w)
	q.mu.Unlock()
	th := newWorkerThread()
	if th != nil {
		defer th.r.release(th) // its number goes to the next worker or context
	}
	for {
		fn := q.next(w)
		if fn == nil {
			return
		}
		err, pv := q.runOne(w, fn, th)
		q.mu.Lock()
		q.busy--
		if err != nil {
			q.errs = append(q.errs, err)
		}
		if pv != nil && q.panicV == nil {
			q.panicV, q.stop = pv, true
		}
		if q.busy == 0 || q.stop {
			q.cond.Broadcast()
		}
		q.mu.Unlock()
	}
}

func (q *Queue) runOne(w *qworker, fn func(*Tx) error, th *threadRec) (err error, pv any) {
	tx := getTx()
	w.tx = tx
	q.inTx.Add(1)
	defer func() {
		q.inTx.Add(-1)
		w.tx = nil
		pv = recover()
		putTx(tx) // also after a panic: attempt has ended tx
	}()
	return tx.run(fn, th), nil
}

// goid returns the calling goroutine's id, parsed from the header line of
// runtime.Stack ("goroutine 18 [running]:"). Go does not expose it; this
// costs about a microsecond, so it is used off the hot path only.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
