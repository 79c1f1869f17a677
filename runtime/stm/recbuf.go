package stm

// A thread's event buffer: the raw events a logged call appends, and their
// hand-over to the flusher (record.go encodes them).

import (
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// rawEvent is an event as buffered by a thread: 16 bytes, a third of a
// logformat.Event, because writing events into the buffer (and the
// flusher reading them back) is most of what recording costs. a packs
// kind | conflict<<8 | cause<<16 | reason<<24, b is the interned site. A
// conflict takes two entries: the second holds the Var id in t, the other
// thread in a and the other site in b. Times are CPU ticks.
// Its layout is logformat.PackedEvent's: the flusher hands runs of them
// to the Writer as they are, times converted in place (writeEvents).
type rawEvent struct {
	t int64
	a uint32
	b uint32
}

var _ [unsafe.Sizeof(rawEvent{}) - unsafe.Sizeof(logformat.PackedEvent{})]struct{}
var _ [unsafe.Sizeof(logformat.PackedEvent{}) - unsafe.Sizeof(rawEvent{})]struct{}
var _ [unsafe.Offsetof(rawEvent{}.b) - unsafe.Offsetof(logformat.PackedEvent{}.B)]struct{}
var _ [unsafe.Offsetof(logformat.PackedEvent{}.B) - unsafe.Offsetof(rawEvent{}.b)]struct{}

func packKind(k logformat.Kind, c logformat.ConflictKind, ca logformat.AbortCause, r logformat.WaitReason) uint32 {
	return logformat.PackKind(k, c, ca, r)
}

func (tx *Tx) emit(a, site uint32) {
	if !tx.logged() {
		tx.promote()
	}
	th := tx.rec
	t := th.last
	if th.now != 0 {
		t, th.now = th.now, 0
	} else if !th.reuse {
		t = cputicks()
	}
	th.reuse = false
	tx.emitAt(a, site, t)
}

// sameTime lets the thread's next event take the time of its last one
// instead of reading the clock, which costs as much as a small
// transaction where the time-stamp counter is virtualized. Only for the
// events that follow at once, with nothing but the runtime's bookkeeping
// between (well under a microsecond): the abort or pause after a conflict,
// the pause or re-run after an abort, the re-run after a Retry or backoff
// pause.
func (th *threadRec) sameTime() { th.reuse = true }

// emitAt appends an event at time t (ticks; not before the thread's last
// event) to the thread's buffer, which the call holds.
func (tx *Tx) emitAt(a, site uint32, t int64) {
	th := tx.rec
	if s := th.pend; s != 0 {
		th.pend = 0
		tx.emitAt(uint32(logformat.KindTxStart), 0, s) // runFull's, before the attempt's first event
	}
	if t < th.last {
		t = th.last
	}
	th.last = t
	if len(th.buf) == 0 {
		th.gen = th.r.gen.Load()
	}
	n := len(th.buf)
	if n < cap(th.buf) {
		th.buf = th.buf[:n+1] // the length alone: no pointer store, no write barrier
	} else {
		th.buf = grow1(th.buf)
	}
	e := &th.buf[n]
	e.t, e.a, e.b = t, a, site
	if len(th.buf) >= handoffSize && tx.patch.idx < 0 {
		if th.handoff() >= yieldQueued {
			th.r.behind.Store(true)
		}
		th.r.kickFlusher()
	}
}

// kickFlusher asks the flusher to write the buffers now (a full one was
// handed over), without waiting for it.
func (r *recorder) kickFlusher() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// handoff queues the thread's buffer for the flusher (owning the thread).
// It returns how many buffers wait for the flusher now.
func (th *threadRec) handoff() int {
	th.qmu.Lock()
	if len(th.full) >= maxQueued {
		// The flusher is not keeping up: drop rather than block the program.
		th.qdropped += int64(len(th.buf))
		th.buf = th.buf[:0]
	} else {
		th.full = append(th.full, th.buf)
		th.buf = th.r.getBuf()
	}
	th.bufSeq++
	q := len(th.full)
	th.qmu.Unlock()
	return q
}

func (r *recorder) getBuf() []rawEvent {
	r.freeMu.Lock()
	defer r.freeMu.Unlock()
	if n := len(r.free2); n > 0 {
		b := r.free2[n-1]
		r.free2 = r.free2[:n-1]
		return b
	}
	return make([]rawEvent, 0, handoffSize+1)
}

func (r *recorder) putBuf(b []rawEvent) {
	r.freeMu.Lock()
	if len(r.free2) < 256 {
		r.free2 = append(r.free2, b[:0])
	}
	r.freeMu.Unlock()
}
