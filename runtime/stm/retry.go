package stm

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/stmlog/stmlog/logformat"
)

// waiter is one transaction blocked in Retry.
type waiter struct {
	ch chan struct{} // capacity 1: a wake-up is never lost, never blocks
}

// waitQueue lists the waiters of one Var. Committers check n without
// any lock, so a Var nobody waits on costs one atomic load per commit.
//
// The first few waiters sit in slots taken and cleared by compare-and-swap;
// only more than that go to a list under a mutex. A hand-off (producer and
// consumer, ping-pong) has one waiter per Var, and with a mutex the
// waiter's registration and the committer's wake-up kept colliding: the
// loser of the lock went to sleep in the kernel, which cost more than the
// whole hand-off.
type waitQueue struct {
	n     atomic.Int32 // registered waiters, slots and list
	slots [waitSlots]atomic.Pointer[waiter]
	over  atomic.Int32 // waiters in ws
	mu    sync.Mutex
	ws    []*waiter
}

const waitSlots = 4

func (h *varHeader) waitQueue() *waitQueue {
	if q := h.waitq.Load(); q != nil {
		return q
	}
	q := &waitQueue{}
	if h.waitq.CompareAndSwap(nil, q) {
		return q
	}
	return h.waitq.Load()
}

// add registers w. Each count goes up before w is visible in the queue, and
// the waiter re-checks its reads only after add: so either a committer
// that published a change finds w, or the waiter's re-check sees the
// change.
func (q *waitQueue) add(w *waiter) {
	q.n.Add(1)
	for i := range q.slots {
		if q.slots[i].Load() == nil && q.slots[i].CompareAndSwap(nil, w) {
			return
		}
	}
	q.over.Add(1)
	q.mu.Lock()
	q.ws = append(q.ws, w)
	q.mu.Unlock()
}

func (q *waitQueue) remove(w *waiter) {
	for i := range q.slots {
		if q.slots[i].Load() == w && q.slots[i].CompareAndSwap(w, nil) {
			q.n.Add(-1)
			return
		}
	}
	if q.over.Load() == 0 {
		return // a committer took w out of its slot (wake)
	}
	q.mu.Lock()
	for i, x := range q.ws {
		if x == w {
			last := len(q.ws) - 1
			q.ws[i] = q.ws[last]
			q.ws[last] = nil
			q.ws = q.ws[:last]
			q.over.Add(-1)
			q.n.Add(-1)
			break
		}
	}
	q.mu.Unlock()
}

// wake signals every waiter. A waiter in a slot is taken out of it (it
// will run again, and registers anew if it still waits), so that the
// commits that follow before it has run, a producer's next items, find
// the Var without waiters (q.n) and wake nobody: each signal otherwise
// costs a channel operation. A waiter's remove then finds nothing to do.
// A committer whose compare-and-swap meets the same waiter registered
// again for its next wait takes it out and signals it: a spurious wake-up,
// after which the body just runs again.
func (q *waitQueue) wake() {
	for i := range q.slots {
		if w := q.slots[i].Load(); w != nil && q.slots[i].CompareAndSwap(w, nil) {
			q.n.Add(-1)
			w.signal()
		}
	}
	if q.over.Load() > 0 {
		q.mu.Lock()
		for _, w := range q.ws {
			w.signal()
		}
		q.mu.Unlock()
	}
}

// signal wakes w if it is parked, or makes its next park return at once.
func (w *waiter) signal() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// ErrRetry is an error a transaction body may return to retry: the same as
// calling tx.Retry(), but the body ends by returning, so nothing is
// unwound with a panic (a panic and its recovery cost more than a small
// transaction). Like fs.SkipDir it steers the caller rather than reporting
// a failure: Atomically never returns it. It is matched with errors.Is, so a
// body may also return an error that wraps it. Inside a Select alternative
// it moves on to the next alternative; a Select whose alternatives all
// retry returns ErrRetry itself, for its caller to return in turn.
var ErrRetry = errors.New("stm: retry (return it from a transaction body; it is not an error)")

// isRetry reports whether a body's error asks for a retry.
func isRetry(err error) bool { return err == ErrRetry || errors.Is(err, ErrRetry) }

// Retry abandons this attempt and blocks until another transaction commits
// a change to a Var this attempt has read; then the body runs again. It is
// how a transaction waits for a condition ("queue not empty"). Inside a
// Select alternative it moves on to the next alternative instead. Calling
// Retry before reading any Var panics: nothing could ever wake it.
//
// Retry unwinds the body with a panic, so it works from helpers deep inside
// it; a body that can simply return should return ErrRetry instead, which
// costs no panic.
func (tx *Tx) Retry() {
	tx.checkActive()
	if tx.selectDepth == 0 {
		tx.checkCanRetry()
	}
	panic(retrySignal)
}

func (tx *Tx) checkCanRetry() {
	if len(tx.reads) == 0 {
		panic("stm: Retry called before the transaction read any Var: no commit could ever wake it up")
	}
	if tx.userInev {
		panic("stm: Retry called after Inevitable: the transaction cannot be rolled back")
	}
}

// waitRetry blocks until a Var of the read set changes. It registers on
// each Var first and only then re-checks the versions, so a commit that
// lands in between is seen either by the check or by the wake-up.
func (tx *Tx) waitRetry() {
	w := tx.wait
	select {
	case <-w.ch:
	default:
	}
	// Register once per distinct Var (reads may repeat).
	var seen map[*varHeader]struct{}
	if len(tx.reads) > 16 {
		seen = make(map[*varHeader]struct{}, len(tx.reads))
	}
	for i := range tx.reads {
		h := tx.reads[i].h
		if seen != nil {
			if _, dup := seen[h]; dup {
				continue
			}
			seen[h] = struct{}{}
		} else if slicesContainsBefore(tx.reads, i, h) {
			continue
		}
		h.waitQueue().add(w)
	}
	tx.waitStart(logformat.WaitRetry)
	tx.awaitChange(w)
	tx.waitDone(logformat.WaitRetry)
	for i := range tx.reads {
		h := tx.reads[i].h
		if seen != nil {
			if _, ok := seen[h]; !ok {
				continue
			}
			delete(seen, h)
		} else if slicesContainsBefore(tx.reads, i, h) {
			continue
		}
		h.waitq.Load().remove(w)
	}
}

// awaitChange returns once a Var read has changed (or on a wake-up, which
// may come from an older change: the body then just runs again). The
// change is often a moment away, the other side of a hand-off being at
// work, so we yield a few times before parking: that spares a sleep and a
// wake-up, and with one processor the yield runs that other side directly.
// Not a busy loop over the reads: the side that will change them is
// usually queued on the watcher's own processor (BENCHMARKS.md has the
// measurements).
func (tx *Tx) awaitChange(w *waiter) {
	for range retrySpins {
		if tx.readsChanged() {
			return
		}
		runtime.Gosched()
		select {
		case <-w.ch:
			return
		default:
		}
	}
	if !tx.readsChanged() {
		<-w.ch
	}
}

// retrySpins is how many times Retry yields before parking (a variable so
// that the ping-pong benchmark can compare with parking at once).
var retrySpins = 3

func (tx *Tx) readsChanged() bool {
	for i := range tx.reads {
		e := &tx.reads[i]
		p := atomic.LoadPointer(&e.h.val)
		if p != e.box || (*boxHeader)(p).loadVersion() != e.ver {
			return true
		}
	}
	return false
}

// savepoint marks the state a Select alternative starts from.
type savepoint struct {
	writes, undo, after, adds, pcs int
	spWrites                       int
	spSerial                       uint32
}

func (tx *Tx) savepoint() savepoint {
	sp := savepoint{
		writes: len(tx.writes), undo: len(tx.undo), after: len(tx.after), adds: len(tx.adds),
		pcs: len(tx.pcs), spWrites: tx.spWrites, spSerial: tx.spSerial,
	}
	tx.extra = true
	tx.spNext++
	tx.spSerial = tx.spNext
	tx.spWrites = len(tx.writes)
	return sp
}

// rollbackTo undoes the writes made since sp (keeping the reads: if every
// alternative retries, the transaction waits on all of them).
func (tx *Tx) rollbackTo(sp savepoint) {
	for i := len(tx.undo) - 1; i >= sp.undo; i-- {
		u := &tx.undo[i]
		e := &tx.writes[u.idx]
		e.box, e.off, e.sp, e.pcOff, e.pcN = u.box, u.off, u.sp, u.pcOff, u.pcN
		tx.undo[i] = undoEntry{}
	}
	tx.undo = tx.undo[:sp.undo]
	for i := sp.writes; i < len(tx.writes); i++ {
		if tx.windex != nil {
			delete(tx.windex, tx.writes[i].h)
		}
		tx.writes[i] = writeEntry{}
	}
	tx.writes = tx.writes[:sp.writes]
	tx.wfilter = 0
	for i := range tx.writes {
		tx.wfilter |= 1 << (tx.writes[i].h.id & 63)
	}
	clear(tx.after[sp.after:])
	tx.after = tx.after[:sp.after]
	clear(tx.adds[sp.adds:])
	tx.adds = tx.adds[:sp.adds]
	tx.spWrites, tx.spSerial = sp.spWrites, sp.spSerial
}

func (tx *Tx) release(sp savepoint) {
	// The alternative's writes now belong to the enclosing level.
	tx.spWrites, tx.spSerial = sp.spWrites, sp.spSerial
	for i := range tx.writes {
		if tx.writes[i].sp > sp.spSerial {
			tx.writes[i].sp = sp.spSerial
		}
	}
}

// Select returns a transaction body that runs the alternatives in order and
// uses the first one that does not retry (call Retry or return ErrRetry):
// "orElse". Writes, AfterCommit functions and Queue adds of an alternative
// that retried are discarded. If every alternative retries, the body
// returns ErrRetry, so the whole transaction retries (or, inside another
// Select's alternative, that alternative does) and wakes up when any Var
// read by any alternative changes. A body that calls a Select itself
// should return what it returns.
func Select(alts ...func(tx *Tx) error) func(tx *Tx) error {
	return func(tx *Tx) error {
		for _, alt := range alts {
			sp := tx.savepoint()
			err, didRetry := tx.runAlt(alt)
			if !didRetry {
				tx.release(sp)
				return err
			}
			tx.rollbackTo(sp)
		}
		return ErrRetry
	}
}

func (tx *Tx) runAlt(alt func(*Tx) error) (err error, didRetry bool) {
	tx.selectDepth++
	defer func() {
		tx.selectDepth--
		if r := recover(); r != nil {
			if r == retrySignal {
				didRetry = true
				return
			}
			panic(r)
		}
	}()
	err = alt(tx)
	if err != nil && isRetry(err) {
		return nil, true
	}
	return err, false
}

func slicesContainsBefore(reads []readEntry, i int, h *varHeader) bool {
	for j := 0; j < i; j++ {
		if reads[j].h == h {
			return true
		}
	}
	return false
}
