package stm

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// Vars updated in place.
//
// A Var normally gets a new box from every commit that writes it: the box
// pointer doubles as the lock and the box's contents never change once
// published, so a reader needs no more than the pointer and the version.
// That costs an allocation per written Var, and with it the GC's share,
// which is most of what a small writing transaction costs.
//
// A Var whose T holds no pointers and fits in maxInPlaceWords words is
// instead given one box for life, and commits write the value into it
// word by word: the box's version word is the lock (a compare-and-swap
// from an even version to the locker's odd lockWord, the version it
// locked from kept beside the box, heldFrom), the value is copied in with one
// atomic store per word once the commit is validated, and the new version
// is stored last. A reader copies the words between two loads of the
// version and uses them only if the version did not change (a seqlock), so
// a read sees one commit's value whole or tries again. Validation compares
// the version as well as the box pointer (the pointer alone never changes
// here). The pending value of a Store sits in the context's word arena
// until commit, so once a context's arena has grown, writing such a Var
// allocates nothing. Race builds see every word access as atomic.
//
// Opacity holds as for boxes: a version identifies one commit (slot and
// count) and is never reused, so "the version I read is still the current
// one" means what "the box I read is still the current one" meant.
const maxInPlaceWords = 8

// load's copy is written out for 8 words.
const _ = uint(maxInPlaceWords-8) + uint(8-maxInPlaceWords)

// inPlaceWords returns the number of words a Var[T] keeps in place, or 0
// if T is updated through boxes (it holds pointers, is empty, or too big).
func inPlaceWords[T any]() uint8 {
	t := reflect.TypeFor[T]()
	if t.Size() == 0 || t.Size() > maxInPlaceWords*8 || t.Align() > 8 {
		return 0
	}
	if t.Kind() == reflect.Struct {
		// A struct's fields cost hundreds of instructions to walk, at
		// every NewVar (a tree's new nodes): once per type instead.
		if nw, ok := structWords.Load(t); ok {
			return nw.(uint8)
		}
		var nw uint8
		if !hasPointers(t) {
			nw = uint8((t.Size() + 7) / 8)
		}
		structWords.Store(t, nw)
		return nw
	}
	if hasPointers(t) {
		return 0
	}
	return uint8((t.Size() + 7) / 8)
}

// structWords caches inPlaceWords of struct types, by reflect.Type.
var structWords sync.Map

// hasPointers reports whether a value of type t holds anything the GC
// follows (so it cannot be copied as plain words).
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}

// words is an in-place value: up to maxInPlaceWords words, a T read from
// or written to its start (T's size is at most its length in bytes).
type words [maxInPlaceWords]uint64

// newInPlaceBox returns a box with nw value words holding v. It is
// allocated as words, so the GC never scans it.
//
// The box starts one word into the allocation: the word before its header
// is heldFrom's.
func newInPlaceBox[T any](nw uint8, v T) unsafe.Pointer {
	b := make([]uint64, 3+int(nw)) // heldFrom's word, then boxHeader's two
	*(*T)(unsafe.Pointer(&b[3])) = v
	return unsafe.Pointer(&b[1])
}

// heldFrom is where the transaction that holds in-place box p's lock
// keeps the version it locked it from (the word before the box), so that
// its validation accepts a read of p at that version with no lookup in
// its write set: the version word of a box it holds is its lockWord.
// Only the lock's holder writes or reads it.
func heldFrom(p unsafe.Pointer) *uint64 { return (*uint64)(unsafe.Add(p, -8)) }

// boxWord returns value word i of an in-place box.
func boxWord(p unsafe.Pointer, i int) *uint64 {
	return (*uint64)(unsafe.Add(p, boxValueOff+uintptr(i)*8))
}

// copyWordsIn copies the nw words of in-place box p (which may be being
// written) into dst, one atomic load each, for the slow paths (readWords,
// peekWords): load has the copy written out per word count, which costs a
// quarter of this loop's instructions a word (its counter, compare and
// address).
func copyWordsIn(dst *words, p unsafe.Pointer, nw uint8) {
	for i := range int(nw) {
		dst[i] = atomic.LoadUint64(boxWord(p, i))
	}
}

// arenaAlloc reserves nw words in tx's arena for a pending in-place value
// and returns their offset. The arena is reset when the attempt's writes
// are discarded.
func (tx *Tx) arenaAlloc(nw uint8) int32 {
	off := len(tx.arena)
	if off+int(nw) > cap(tx.arena) {
		tx.extra = true // the general end: it may have grown past maxKeptArena
		tx.arena = append(tx.arena, make([]uint64, nw)...)
	} else {
		tx.arena = tx.arena[:off+int(nw)]
	}
	return int32(off)
}

// pending returns the arena words of write-set entry e (an in-place Var).
func (tx *Tx) pending(e *writeEntry) unsafe.Pointer { return arenaAt(tx.arena, e.off) }

// arenaAt is &arena[off] without the bounds check, for an offset that
// arenaAlloc returned for this arena (its words are below its length).
func arenaAt(arena []uint64, off int32) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(arena)), uintptr(off)*8)
}

// readWords reads in-place Var h into dst as readBox reads a boxed one:
// consistent with tx's snapshot, added to the read set, or the attempt
// aborts.
func (tx *Tx) readWords(h *varHeader, dst *words) {
	tx.checkActive()
	spins := 0
	for {
		p := atomic.LoadPointer(&h.val)
		b := (*boxHeader)(p)
		v := b.loadVersion()
		if v&1 != 0 {
			tx.waitUnlocked(h, &spins, logformat.ConflictWriteRead, 0, -1)
			continue
		}
		if !tx.visible(v) {
			if i := tx.extend(v); i >= 0 {
				tx.conflictOnRead(i)
			}
		}
		copyWordsIn(dst, p, h.nw)
		if b.loadVersion() != v {
			continue // written meanwhile: the copy may be torn
		}
		// addRead, inline, as load's for one word (no clearing at the
		// end: the entry keeps nothing alive but the Var and its box).
		if n := len(tx.reads); n < cap(tx.reads) && tx.rec == nil {
			tx.reads = tx.reads[:n+1]
			e := &tx.reads[n]
			e.h, e.box, e.ver, e.pcOff, e.pcN = h, p, v, 0, 0
			return
		}
		tx.addRead(h, p, v)
		return
	}
}

// peekWords is Peek for an in-place Var.
func peekWords(h *varHeader, dst *words) {
	for spins := 0; ; spins++ {
		p := atomic.LoadPointer(&h.val)
		b := (*boxHeader)(p)
		if v := b.loadVersion(); v&1 == 0 {
			copyWordsIn(dst, p, h.nw)
			if b.loadVersion() == v {
				return
			}
		} else if spins > 64 {
			awaitUnlock(h) // a commit of h is under way
		}
	}
}
