package stm

// A thread's event buffer: the raw events a logged call appends, their
// hand-over to the flusher, and the flusher's writing of them
// (writeEvents; record.go's flush takes the buffers).

import (
	"math"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// rawEvent is an event as buffered by a thread: 16 bytes, a third of a
// logformat.Event, because writing events into the buffer (and the
// flusher reading them back) is most of what recording costs. a packs
// kind | conflict<<8 | cause<<16 | reason<<24, b is the interned site. A
// conflict takes two entries: the second holds the Var id in t, the other
// thread in a and the other site in b. A quiet attempt (a start and its
// commit, nothing between) takes one entry: a is quietEvent, t the start
// and b the commit's ticks after it. Times are CPU ticks.
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

// quietEvent is a quiet attempt's entry's a (logformat.PackedQuiet: the
// flusher converts b to ns in place and hands the entry to WritePacked as
// it is).
const quietEvent = logformat.PackedQuiet

// quietMax bounds a quiet entry's ticks: at a tick rate down to 4 MHz (a
// tick of 256 ns) its ns still fit in b. A longer attempt's start and
// commit take an entry each.
const quietMax = 1 << 24

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
	n := len(th.buf)
	if n < cap(th.buf) {
		th.buf = th.buf[:n+1] // the length alone: no pointer store, no write barrier
	} else {
		th.setBuf(grow1(th.buf))
	}
	e := &th.buf[n]
	e.t, e.a, e.b = t, a, site
	if tx.patch.idx < 0 {
		storeOwnedI64(&th.pub, int64(n+1))
		if n+1 >= handoffSize {
			if th.handoff() >= yieldQueued {
				th.r.behind.Store(true)
			}
			th.r.kickFlusher()
		}
	}
}

// setLen sets the length of *s to n (at most its capacity) with one
// store: the array stays, so no pointer store and no write barrier.
func setLen(s *[]rawEvent, n int) {
	(*struct {
		p    unsafe.Pointer
		n, c int
	})(unsafe.Pointer(s)).n = n
}

// publish lets the flusher take every event in the buffer, once no site
// patch is pending (the thread's goroutine, which holds tx).
func (th *threadRec) publish(tx *Tx) {
	if tx.patch.idx < 0 {
		storeOwnedI64(&th.pub, int64(len(th.buf)))
	}
}

// setBuf replaces the thread's buffer array (grown, or a new one): under
// qmu, as the flusher may be reading cur.
func (th *threadRec) setBuf(b []rawEvent) {
	th.qmu.Lock()
	th.buf, th.cur = b, b[:cap(b)]
	th.qmu.Unlock()
}

// queuedBuf is a buffer handed over to the flusher: its events from
// from on (the flusher wrote those before it while it was current).
type queuedBuf struct {
	evs  []rawEvent
	from int
}

// kickFlusher asks the flusher to write the buffers now (a full one was
// handed over), without waiting for it.
func (r *recorder) kickFlusher() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// handoff queues the thread's buffer for the flusher (the thread's
// goroutine, with no site patch pending: every entry is published). It
// returns how many buffers wait for the flusher now.
func (th *threadRec) handoff() int {
	th.qmu.Lock()
	if len(th.full) >= maxQueued {
		// The flusher is not keeping up: drop rather than block the
		// program. A new array all the same: the flusher may be copying
		// out of this one.
		th.qdropped += int64(len(th.buf) - th.taken)
	} else {
		th.full = append(th.full, queuedBuf{th.buf, th.taken})
	}
	th.buf = th.r.getBuf()
	th.cur, th.taken = th.buf[:cap(th.buf)], 0
	storeOwnedI64(&th.pub, 0)
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

// writeEvents decodes a thread's raw events into the Writer. This runs
// for every event recorded: the times are converted in place first, and
// then the runs of events without a site or another side (most of them)
// go to the Writer in one call each (WritePacked), the others one by one.
func (r *recorder) writeEvents(th *threadRec, evs []rawEvent, tr tickRate) {
	// last starts at 0 (lastNs), so max with it also keeps times from
	// going below 0 (a tick before tick0, from a processor whose counter
	// lags).
	last := th.lastNs
	per := tr.nsPer
	for i := 0; i < len(evs); i++ {
		e := &evs[i]
		t := max(tr.toNs(e.t), last)
		e.t, last = t, t
		if e.a == quietEvent {
			// The commit's distance from the start in b: its ticks'
			// product with the rate, rounded (as unbiased as the
			// difference of the two times' conversions, and one
			// conversion fewer); quietMax keeps it in range.
			d := min(int64(float64(e.b)*per+0.5), math.MaxUint32)
			e.b, last = uint32(d), t+d
		} else if logformat.Kind(e.a) == logformat.KindConflict {
			i++ // the second entry holds no time
		}
	}
	th.lastNs = last
	ss := r.sinks.Load() // tap.go: sinks get the events with interned sites
	tap := ss != nil && len(*ss) > 0
	plain := !tap && !r.internal
	packed := unsafe.Slice((*logformat.PackedEvent)(unsafe.Pointer(unsafe.SliceData(evs))), len(evs))
	ev := logformat.Event{Thread: th.id}
	for i := 0; i < len(evs); i++ {
		if plain {
			n, err := r.w.WritePacked(th.id, packed[i:])
			if i += n; err != nil {
				r.fail(err)
				return
			}
			if i == len(evs) {
				break
			}
		}
		e := &evs[i]
		ev.Time = e.t
		ev.Site, ev.Var, ev.OtherThread, ev.OtherSite = 0, 0, 0, 0
		if e.a == quietEvent {
			// One WritePacked stopped at, or any with a tap: its start
			// and its commit.
			ev.Kind, ev.Conflict, ev.Cause, ev.Reason = logformat.KindTxStart, 0, 0, 0
			r.writeOne(&ev, 0, 0, tap)
			ev.Time, ev.Kind = e.t+int64(e.b), logformat.KindTxCommit
			r.writeOne(&ev, 0, 0, tap)
			continue
		}
		ev.Kind = logformat.Kind(e.a)
		ev.Conflict = logformat.ConflictKind(e.a >> 8)
		ev.Cause = logformat.AbortCause(e.a >> 16)
		ev.Reason = logformat.WaitReason(e.a >> 24)
		site, otherSite := e.b, uint32(0)
		if ev.Kind == logformat.KindConflict && i+1 < len(evs) {
			i++
			p := &evs[i]
			ev.Var, ev.OtherThread, otherSite = uint64(p.t), p.a, p.b
		}
		r.writeOne(&ev, site, otherSite, tap)
	}
	if tap {
		for _, s := range *ss {
			s.add(r.epoch, th.id, r.sinkBuf)
		}
		clear(r.sinkBuf)
		r.sinkBuf = r.sinkBuf[:0]
	}
}

// writeOne hands ev, whose sites are the thread's interned ones (0: none),
// to the sinks (if tap) and writes it with the sites' stack ids.
func (r *recorder) writeOne(ev *logformat.Event, site, otherSite uint32, tap bool) {
	if tap {
		r.sinkBuf = append(r.sinkBuf, *ev)
		se := &r.sinkBuf[len(r.sinkBuf)-1]
		se.Site, se.OtherSite = logformat.StackID(site), logformat.StackID(otherSite)
	}
	if r.internal {
		return
	}
	if site != 0 {
		ev.Site = r.stackID(site)
	}
	if otherSite != 0 {
		ev.OtherSite = r.stackID(otherSite)
	}
	if err := r.w.Write(ev); err != nil {
		r.fail(err)
	}
}

// fail keeps the first error of the Writer, and says so once.
func (r *recorder) fail(err error) {
	if r.err == nil {
		r.err = err
		r.warn(err)
	}
}
