package stm

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/stmlog/stmlog/logformat"
)

// Queue is PyPy's transaction.TransactionQueue: add functions, then Run
// them all on several goroutines, each as one transaction, so that the
// result is as if they ran one at a time in some order.
//
// Add may be called from anywhere, including from a queued function's body
// (the function is queued only if that transaction commits) and from its
// AfterCommit functions. Telling a body's Add from any other needs to know
// which goroutine calls: a worker records its goroutine once (its g, read
// from the runtime's register or TLS slot; on systems where that is not
// available, its id, which Add then looks up for its caller, about a
// microsecond, only while some worker is inside a transaction). An Add from the body of a transaction that is not
// run by this Queue's workers takes effect at once.
type Queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	pending []qitem
	head    int
	busy    int // workers running a unit (an Add, or a span of an AddN)
	waiting int // workers in cond.Wait
	running bool
	stop    atomic.Bool // set under mu; read without it between a span's transactions
	errs    []error
	panicV  any
	workers []*qworker
	nwork   int          // workers of the current Run
	inTx    atomic.Int32 // workers inside a transaction (only where curg is not available)
}

// qitem is one Add, or the transactions of one AddN not yet started:
// fi(tx, i) for i in [lo, hi).
type qitem struct {
	fn     func(*Tx) error
	fi     func(*Tx, int) error
	lo, hi int
}

// qworker is one worker goroutine of a Run. It takes a unit of work at a
// time: one Add, or a span of consecutive transactions of an AddN (taken
// with one lock, run one after the other); and it keeps one context for
// the whole Run.
type qworker struct {
	g   uintptr // its goroutine (curg), where curg is available
	gid uint64  // else its goroutine id
	tx  *Tx     // touched only by the worker's own goroutine
	// The unit being run: fn, an Add's body, or call, which runs fi(tx, i)
	// for the span [i, hi) of an AddN (made once per worker, so that
	// AddN's transactions allocate nothing). fn is nil between units.
	fn    func(*Tx) error
	span  bool // fn is call
	fi    func(*Tx, int) error
	i, hi int
	call  func(*Tx) error
	// ended: the unit is over, to be counted off busy by the next take.
	ended bool
	// res: the outcome a panic made of the running transaction's attempt
	// (aborted or retried), for runSpan to settle; committed (0) if none.
	res outcome
	// inTx: the worker counts itself in Queue.inTx (where curg is not
	// available).
	inTx bool
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
	if haveCurg {
		// A worker's goroutine is known by its g: one compare per worker,
		// under the lock the Add takes anyway.
		g := curg()
		q.mu.Lock()
		for _, w := range q.workers {
			if w.g == g {
				if w.tx.state&stActive != 0 {
					q.mu.Unlock()
					w.tx.addPending(q, it)
					return
				}
				break
			}
		}
	} else {
		var w *qworker
		if q.inTx.Load() > 0 {
			g := goid()
			q.mu.Lock()
			for _, x := range q.workers {
				if x.gid == g {
					w = x
					break
				}
			}
			q.mu.Unlock()
		}
		if w != nil && w.tx.state&stActive != 0 {
			w.tx.addPending(q, it)
			return
		}
		q.mu.Lock()
	}
	q.pending = append(q.pending, it)
	if q.waiting > 0 {
		if it.hi-it.lo > 1 {
			q.cond.Broadcast()
		} else {
			q.cond.Signal()
		}
	}
	q.mu.Unlock()
}

// addPending queues it for when tx, a worker's transaction whose body
// called Add, commits.
func (tx *Tx) addPending(q *Queue, it qitem) {
	tx.extra = true
	tx.adds = append(tx.adds, pendingAdd{q: q, it: it})
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
	q.running, q.errs, q.panicV, q.nwork = true, nil, nil, workers
	q.stop.Store(false)
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

// spanMax bounds the transactions of an AddN that a worker takes at once:
// a span costs the other workers that much parallelism at the Run's end.
const spanMax = 64

// next counts off w's unit if it is over and takes the next one into w
// (w.fn, and for an AddN's span w.fi, w.i and w.hi); it reports false when
// the Run is over.
func (q *Queue) next(w *qworker) bool {
	q.mu.Lock()
	if w.ended {
		w.ended = false
		q.busy--
	}
	for !q.stop.Load() {
		if q.head < len(q.pending) {
			it := &q.pending[q.head]
			if it.fn != nil {
				w.fn, w.span = it.fn, false
				*it = qitem{}
				q.head++
			} else {
				// A span: about a quarter of each worker's share of what
				// is left, so that the last ones are short.
				n := min(max((it.hi-it.lo)/(4*q.nwork), 1), spanMax)
				w.fn, w.span, w.fi, w.i, w.hi = w.call, true, it.fi, it.lo, it.lo+n
				if it.lo += n; it.lo == it.hi {
					*it = qitem{}
					q.head++
				}
			}
			if q.head == len(q.pending) {
				q.pending, q.head = q.pending[:0], 0
			}
			q.busy++
			q.mu.Unlock()
			return true
		}
		if q.busy == 0 {
			break
		}
		q.waiting++
		q.cond.Wait()
		q.waiting--
	}
	// Over (nothing left and nothing running, or stopped): the waiting
	// workers see it too.
	if q.waiting > 0 {
		q.cond.Broadcast()
	}
	q.mu.Unlock()
	return false
}

func (q *Queue) work(wg *sync.WaitGroup) {
	defer wg.Done()
	w := &qworker{g: curg()}
	if !haveCurg {
		w.gid = goid()
	}
	w.call = func(tx *Tx) error { return w.fi(tx, w.i) }
	// A pooled context, not a P's: the worker keeps it for the whole Run.
	w.tx = txPool.Get().(*Tx)
	q.mu.Lock()
	q.workers = append(q.workers, w)
	q.mu.Unlock()
	th := newWorkerThread()
	if th != nil {
		defer th.r.release(th) // its number goes to the next worker or context
	}
	for !q.runSpan(w, th) {
	}
	putTx(w.tx)
}

// runSpan runs units until the Run is over (it returns true), or until a
// transaction's body panics: its deferred function is the one recover for
// all the transactions it runs, which run with no defer of their own
// (attemptBare). A panic there ends the frame; the worker calls runSpan
// again, which first finishes the transaction the panic interrupted when
// it was an abort or a Retry (its next attempts run through loopPlain, or
// loopHooked for a recorded one, under a defer of their own). While
// recording, a transaction runs its first attempt on the worker's thread
// with no defer of its own either: in runFull at the full level, in
// runCounted at the profile level (a call that is only counted or timed,
// until it meets contention), each when the thread is idle
// (workerIdle); any other that runs with a hook on (tracing, or a thread
// the recorder stopped) takes tx.run.
func (q *Queue) runSpan(w *qworker, th *threadRec) (over bool) {
	tx := w.tx
	defer func() {
		if !over {
			q.unwound(w, recover())
		}
	}()
	for {
		if w.fn == nil && !q.next(w) {
			return true
		}
		var err error
		if res := w.res; res != committed {
			w.res = committed
			var done bool
			if err, done = tx.settle(res, nil); !done {
				if tx.rec != nil {
					err = tx.loopHooked(w.fn) // runFull's first attempt unwound
				} else {
					err = tx.loopPlain(w.fn)
				}
			}
		} else if !haveCurg {
			w.inTx = true
			q.inTx.Add(1)
			err = tx.run(w.fn, th)
			q.inTx.Add(-1)
			w.inTx = false
		} else if h := hookState(); recorderBuilt && h == uint32(recording) && th != nil && th.workerIdle() {
			var res outcome
			var e error
			if loadPair(&th.busy) == 0 {
				res, e = tx.runCounted(w.fn, th)
			} else {
				res, e = tx.runFull(w.fn, th, false)
			}
			if res != ended {
				var done bool
				if err, done = tx.settle(res, e); !done {
					err = tx.loopHooked(w.fn)
				}
			}
		} else if h != 0 {
			err = tx.run(w.fn, th)
		} else {
			res, e := tx.attemptBare(w.fn)
			if res != ended {
				var done bool
				if err, done = tx.settle(res, e); !done {
					err = tx.loopPlain(w.fn)
				}
			}
		}
		if err != nil {
			q.mu.Lock()
			q.errs = append(q.errs, err)
			q.mu.Unlock()
		}
		q.txDone(w)
	}
}

// txDone moves w past the transaction it ran: the next of its span, or
// none (the unit is over).
func (q *Queue) txDone(w *qworker) {
	if w.span {
		if w.i++; w.i < w.hi {
			if !q.stop.Load() {
				return
			}
			q.mu.Lock()
			q.putBack(w, w.i)
			q.mu.Unlock()
		}
	}
	w.fn, w.ended = nil, true
}

// putBack queues again the transactions of w's span from i on, which w
// will not run (the Run stopped, or w's goroutine is ending): they stay
// for the other workers or the next Run, as an AddN's unstarted
// transactions always have. q.mu is held.
func (q *Queue) putBack(w *qworker, i int) {
	if w.span && i < w.hi {
		q.pending = append(q.pending, qitem{fi: w.fi, lo: i, hi: w.hi})
	}
}

// unwound handles what runSpan's frame recovered (r, nil for
// runtime.Goexit). An abort or Retry signal from attemptBare's body leaves
// the transaction to be settled and run on; anything else ends it and is
// the Run's panic.
func (q *Queue) unwound(w *qworker, r any) {
	tx := w.tx
	if tx.state&stActive != 0 {
		// The body of attemptBare (the other paths end tx before a panic
		// leaves them).
		switch r {
		case abortSignal:
			w.res = aborted
			return
		case retrySignal:
			w.res = retried
			return
		}
		tx.clk.stats.abort(logformat.AbortPanic)
		tx.recAbort(logformat.AbortPanic)
		tx.end()
		tx.recEnd()
	}
	if w.inTx {
		w.inTx = false
		q.inTx.Add(-1)
	}
	q.mu.Lock()
	q.putBack(w, w.i+1) // the span's rest; w.i ended here
	w.fn, w.ended = nil, true
	if r == nil {
		// runtime.Goexit: the worker's goroutine ends and never takes
		// another unit, so its unit is counted off here, or the others
		// would wait for it forever; they go on with the rest.
		w.ended = false
		if q.busy--; q.waiting > 0 {
			q.cond.Broadcast()
		}
		q.mu.Unlock()
		return
	}
	if q.panicV == nil {
		q.panicV = r
		q.stop.Store(true)
	}
	q.mu.Unlock()
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
