package stm

import (
	"sync/atomic"
	"unsafe"
)

// varIDs hands out Var ids. 0 is never used so that logs can say "unknown".
var varIDs atomic.Uint64

// boxHeader is the untyped head of every committed value. A box is immutable
// once published, so readers can use it without locks; the header tells a
// reader which commit produced the value (version) and who wrote it, which
// is how a conflict can name the other side without any extra bookkeeping.
//
// The box pointer of a Var is also its lock. A committing transaction
// installs its new box with version == lockedVersion (a compare-and-swap
// from the box it is replacing), takes a commit version from its own counter, and
// then publishes by storing that version into the box. Readers that find a
// locked box wait for it (commits are short). A commit that cannot go on
// puts the old box back. So a Load is one atomic pointer load plus one
// atomic (plain on x86) load of the version, and a commit writes each Var
// with one CAS and one store.
type boxHeader struct {
	version uint64 // accessed atomically once published; even, or lockedVersion
	writer  uint32 // thread that committed it (0 when not recording)
	site    uint32 // interned stack of the Store that produced it (0 when not recording)
}

const lockedVersion = 1 // odd: a box being committed

func (b *boxHeader) loadVersion() uint64 { return atomic.LoadUint64(&b.version) }

// writerSite returns who wrote b and where, loaded atomically: an in-place
// box (inplace.go) has them rewritten by each commit that locks it.
func (b *boxHeader) writerSite() (writer, site uint32) {
	return atomic.LoadUint32(&b.writer), atomic.LoadUint32(&b.site)
}

// names is writerSite as one word, the writer in its low half: where it
// is one load (loadPair), a commit compares it with its own in one go.
func (b *boxHeader) names() uint64 {
	return loadPair((*atomic.Uint32)(unsafe.Pointer(&b.writer)))
}

// box is a committed (or, inside a write set, a pending) value. boxHeader must
// stay the first field: the write set handles boxes through *boxHeader.
type box[T any] struct {
	boxHeader
	v T
}

// varHeader is the type-independent part of a Var: everything the commit
// protocol needs, so the write set can hold plain pointers to it.
type varHeader struct {
	// val points to the current *box[T] (atomically loaded, swapped and
	// stored); see boxHeader for how it doubles as the Var's lock.
	val   unsafe.Pointer
	id    uint64
	waitq atomic.Pointer[waitQueue] // Retry waiters, created on first use
	// contended is set at the Var's first conflict; from then on, while
	// recording, Loads of it capture their call stack (record.go).
	contended atomic.Bool
	// nw is the number of value words of a Var updated in place
	// (inplace.go), 0 for one that gets a new box from each commit.
	nw uint8
	// newBox returns a new box for a boxed Var (nil for an in-place one),
	// locked, its value to be written through the pointer store returns:
	// so Store is one call and inlines.
	newBox func() unsafe.Pointer
}

// newBoxOf is varHeader.newBox for a Var[T].
func newBoxOf[T any]() unsafe.Pointer {
	return unsafe.Pointer(&box[T]{boxHeader: boxHeader{version: lockedVersion}})
}

func (h *varHeader) loadBox() *boxHeader { return (*boxHeader)(atomic.LoadPointer(&h.val)) }

// Var is a transactional variable holding a T. Values are treated as
// immutable once stored: a Store of a pointer, slice or map publishes that
// reference; mutating what it points to outside a Store is not transactional.
type Var[T any] struct {
	h varHeader
}

// NewVar returns a Var holding v.
func NewVar[T any](v T) *Var[T] {
	x := &Var[T]{}
	x.h.id = varIDs.Add(1)
	if nw := inPlaceWords[T](); nw != 0 {
		x.h.nw = nw
		x.h.val = newInPlaceBox(nw, v)
		return x
	}
	x.h.val = unsafe.Pointer(&box[T]{v: v})
	x.h.newBox = newBoxOf[T]
	return x
}

// ID returns the Var's id, unique in the process, as it appears in logs.
func (v *Var[T]) ID() uint64 { return v.h.id }

// Peek returns the latest committed value, outside any transaction. Two Peeks
// of two Vars are not a consistent snapshot; use Atomically for that.
func (v *Var[T]) Peek() T {
	if v.h.nw != 0 {
		var w words
		peekWords(&v.h, &w)
		return *(*T)(unsafe.Pointer(&w))
	}
	for spins := 0; ; spins++ {
		b := (*box[T])(atomic.LoadPointer(&v.h.val))
		if b.loadVersion()&1 == 0 {
			return b.v
		}
		if spins > 64 {
			awaitUnlock(&v.h) // a commit of v is under way
		}
	}
}

// Load reads v inside tx. It returns tx's own pending write if there is one,
// otherwise a committed value consistent with everything tx read so far. If
// no such value exists any more, the attempt is aborted on the spot (the body
// does not see the value) and re-run.
func (v *Var[T]) Load(tx *Tx) T { return *(*T)(tx.load(&v.h)) }

// Store writes x to v inside tx. The write is buffered until commit, and
// discarded if the attempt aborts, returns an error or panics. The first
// Store of a Var in a transaction allocates the box that commit publishes
// (unless the Var is updated in place: a T without pointers, inplace.go);
// later Stores of the same Var reuse it.
func (v *Var[T]) Store(tx *Tx, x T) { *(*T)(tx.store(&v.h)) = x }
