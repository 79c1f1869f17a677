package stm

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// sites interns call stacks (raw return addresses) as small ids, so that a
// committed box and an event can refer to a stack with one uint32. Lookups
// of known stacks take no lock (an open-addressing table of 64-bit hashes);
// a new stack takes a mutex once. Two different stacks with the same 64-bit
// hash would share an id; with at most thousands of distinct sites the odds
// are negligible.
var sites = newSiteTable()

const siteSlots = 1 << 14

type siteSlot struct {
	h  atomic.Uint64
	id atomic.Uint32
}

type siteTable struct {
	slots    []siteSlot
	mu       sync.Mutex
	list     [][]uintptr // id-1 -> pcs
	overflow map[uint64]uint32
}

func newSiteTable() *siteTable {
	return &siteTable{slots: make([]siteSlot, siteSlots), overflow: map[uint64]uint32{}}
}

func hashPCs(pcs []uintptr) uint64 {
	h := uint64(14695981039346656037)
	for _, pc := range pcs {
		h ^= uint64(pc)
		h *= 1099511628211
		h ^= h >> 29
	}
	return h | 1 // 0 marks an empty slot
}

func (t *siteTable) intern(pcs []uintptr) uint32 {
	h := hashPCs(pcs)
	i := h & (siteSlots - 1)
	for probes := 0; probes < 32; {
		s := &t.slots[i]
		switch x := s.h.Load(); {
		case x == h:
			for {
				if id := s.id.Load(); id != 0 {
					return id
				}
				runtime.Gosched() // another goroutine is adding it
			}
		case x == 0:
			if s.h.CompareAndSwap(0, h) {
				id := t.add(pcs)
				s.id.Store(id)
				return id
			}
			continue // lost the race for this slot: look at it again
		}
		i = (i + 1) & (siteSlots - 1)
		probes++
	}
	// A crowded neighbourhood: fall back to a map.
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.overflow[h]; ok {
		return id
	}
	id := t.addLocked(pcs)
	t.overflow[h] = id
	return id
}

func (t *siteTable) add(pcs []uintptr) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addLocked(pcs)
}

func (t *siteTable) addLocked(pcs []uintptr) uint32 {
	t.list = append(t.list, append([]uintptr(nil), pcs...))
	return uint32(len(t.list))
}

// pcs returns the stack of id (nil for unknown ids).
func (t *siteTable) pcs(id uint32) []uintptr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id == 0 || int(id) > len(t.list) {
		return nil
	}
	return t.list[id-1]
}

// Sites. Loads and Stores capture the raw return addresses of the call
// stack into the Tx (a frame-pointer walk on amd64); a stack is hashed and
// interned only when an event or a committed box needs to name it, and
// symbolized (runtime.CallersFrames, trimming runtime/stm and Go runtime
// frames) by the flusher the first time the log refers to it.

// captureSite appends the caller's stack to tx.pcs.
func (tx *Tx) captureSite(off, n *int32) {
	k := captureStack(tx.pcsRoom())
	l := len(tx.pcs)
	*off = int32(l)
	*n = int32(k)
	tx.pcs = tx.pcs[:l+k]
}

// captureSiteFrom is captureSite for the stack from the frame fb up (nil:
// the caller's, where callerFrame gives no frame).
func (tx *Tx) captureSiteFrom(fb unsafe.Pointer, off, n *int32) {
	var k int
	if fb != nil {
		k = captureStackFrom(fb, tx.pcsRoom())
	} else {
		k = captureStack(tx.pcsRoom())
	}
	l := len(tx.pcs)
	*off = int32(l)
	*n = int32(k)
	tx.pcs = tx.pcs[:l+k]
}

// pcsRoom makes room for a stack at the end of tx.pcs.
func (tx *Tx) pcsRoom() *[maxDepth]uintptr {
	l := len(tx.pcs)
	if cap(tx.pcs)-l < maxDepth {
		tx.pcs = append(tx.pcs[:l:l], make([]uintptr, maxDepth+l)...)[:l]
	}
	return (*[maxDepth]uintptr)(tx.pcs[l : l+maxDepth])
}

// Read sites. Capturing a stack at every Load would make recording cost
// more than the transactions it records, and a read site only matters when
// the Var conflicts. So a Load captures its stack only in a logged call
// (one that has met contention: at the profile level, from the attempt
// after its first conflict, abort or pause on) and only once its Var has
// been in a conflict (varHeader.contended). A conflict of an attempt that
// did not capture the read's site (a counted call's, or any at a Var's
// first conflict) is written without it and patched when the re-run of the
// same transaction, logged, reads that Var again (normally at the same
// place). If the re-run does not read it, the event keeps no site for this
// side. So a counted call pays nothing for the Loads of a Var that once
// conflicted; its Stores of such a Var capture their stack (storeSite)
// while its thread is in conflicts, as the other side of a later conflict
// is named by the box it wrote.
//
// At the full level every call is logged from its start, and a Load of a
// contended Var in each would capture its stack however rarely the Var
// conflicts now, and in every call while it conflicts often (a producer
// and its consumer: most calls). So a full-level call's Loads capture
// only while one of its conflicts waits for its site (tx.patch), that is
// in the re-run after a conflict whose attempt did not capture it: every
// conflict's read site comes from the re-run, as a counted call's does at
// the profile level, and the two levels name the same sites.
// WithEverySite (modeFullSites) captures every time.
//
// The mode is modeLogged, modeFull or modeFullSites only while tx.rec is
// set (promote, runFull and recBegin set both, recEnd and runFull reset
// both), so a Load asks this alone, without testing tx.rec first: one
// compare for a call that is not logged, recording or not.
func (tx *Tx) readSiteWanted(h *varHeader) bool {
	return tx.logged() && h.contended.Load() && tx.readSiteOn()
}

// readSiteOn is readSiteWanted's test of the mode and the pending patch,
// for a logged call's Load of a contended Var.
func (tx *Tx) readSiteOn() bool {
	return tx.prof.mode != modeFull || tx.patch.idx >= 0
}

type sitePatch struct {
	h     *varHeader
	idx   int    // index of the conflict event in rec.buf; -1: none pending
	seq   uint32 // rec.bufSeq when it was written
	store bool   // the site is a Store's of h (write-write), not a Load's
}

// awaitSite leaves the conflict event just written on h without this
// side's site to the re-run's next Load of h (store false) or Store of h
// (store true: a write-write conflict, named by where we wrote).
func (tx *Tx) awaitSite(h *varHeader, store bool) {
	th := tx.rec
	n := len(th.buf)
	if n < 2 || logformat.Kind(th.buf[n-2].a&0xff) != logformat.KindConflict {
		return // the event was handed over already
	}
	tx.patch = sitePatch{h: h, idx: n - 2, seq: th.bufSeq, store: store}
}

// readSite captures the site of a Load of a contended Var, and completes
// the pending conflict event of this Var if there is one.
func (tx *Tx) readSite(h *varHeader, e *readEntry) {
	tx.captureSite(&e.pcOff, &e.pcN)
	if p := &tx.patch; p.idx >= 0 && p.h == h && !p.store {
		th := tx.rec
		if p.seq == th.bufSeq && p.idx < len(th.buf) {
			th.buf[p.idx].b = tx.internSite(e.pcOff, e.pcN)
		}
		*p = sitePatch{idx: -1}
		th.publish(tx)
	}
}

// storePatch completes a pending write-write conflict event with the site
// of a Store of its Var (writeSite, for a Store of tx.patch.h).
func (tx *Tx) storePatch(off, n int32) {
	if p := &tx.patch; p.idx >= 0 && p.store {
		th := tx.rec
		if p.seq == th.bufSeq && p.idx < len(th.buf) {
			th.buf[p.idx].b = tx.internSite(off, n)
		}
		*p = sitePatch{idx: -1}
		th.publish(tx)
	}
}

// internSite returns the interned id of pcs[off:off+n] (0 if empty). A
// context that keeps storing from the same few places (a loop of
// transactions) interns the same stacks again and again: comparing with
// the last few interned costs a few nanoseconds, hashing and probing the
// table a few tens, so the context remembers them (ids never change).
func (tx *Tx) internSite(off, n int32) uint32 {
	if n == 0 {
		return 0
	}
	if n == siteInterned {
		return uint32(off) // writeSite interned it
	}
	return tx.internCached(off, n).id
}

// internCached is internSite for pcs[off:off+n] (n > 0), returning the
// cache entry that holds it.
func (tx *Tx) internCached(off, n int32) *siteCacheEntry {
	pcs := tx.pcs[off : off+n]
	for i := range tx.siteCache {
		c := &tx.siteCache[i]
		if len(c.pcs) == len(pcs) && c.pcs[0] == pcs[0] && slices.Equal(c.pcs, pcs) {
			return c
		}
	}
	id := sites.intern(pcs)
	c := &tx.siteCache[tx.siteNext%uint8(len(tx.siteCache))]
	tx.siteNext++
	c.pcs = append(c.pcs[:0], pcs...)
	c.id = id
	c.fh, c.fn = 0, 0
	return c
}

// siteCacheEntry is a stack interned recently by a context, and its id;
// fh and fn, if fh is not 0, the hashStackFrom of the Stores whose walk
// captured it.
type siteCacheEntry struct {
	pcs []uintptr
	id  uint32
	fn  int32
	fh  uint64
}

// siteInterned as a site's n (pcN) says that its off (pcOff) is the
// interned site itself (writeSite), not a place in tx.pcs.
const siteInterned = 1 << 30

// writeSite is captureSite for a Store (storeSite said so), which also
// interns the stack: off, n become the site id and siteInterned. The
// stack is store's caller's and up (from store's frame, whichever of
// store's paths called writeSite), so one place gives one stack. A
// context that keeps writing from the same place, a loop of transactions
// on a contended Var, finds the stack among those it interned lately by a
// hash of the frame-pointer walk (hashStackFrom), without copying it out,
// hashing it and comparing it again. The hash stands for the stack as the
// site table's own hash does (64 bits: the odds that two of a program's
// stacks share one are negligible).
//
// The walk is still a load per frame, every Store, however few conflicts
// the Var meets: so a place met before is first looked up by its key
// (writeKeys.hit: the Store's return address, its caller's and the
// caller's frame, three loads whatever the depth), see writeKeys. store's
// own Stores, the ones a counted call makes, look it up by keyHere, which
// reads store's frame without the &tx taken here.
//
// A pending write-write conflict of h's (tx.patch) gets the site too.
//
// Only store calls it (callerFrame: its caller's frame is store's; the
// tests call it from a frame that stands for store's).
//
//go:noinline
func (tx *Tx) writeSite(h *varHeader, off, n *int32) {
	fb := callerFrame(unsafe.Pointer(&tx))
	if fb == nil || !tx.wkeys.hit(fb, off, n) {
		tx.walkKey(fb, off, n)
	}
	tx.storeNamed(h, off, n)
}

// writeSiteLast is writeSite for store's new entry (the write set's last),
// by the walk, after keyHere missed or where a write-write conflict of
// h's waits for its site (rare): store keeps nothing live across
// keyHere's call so.
//
//go:noinline
func (tx *Tx) writeSiteLast(h *varHeader) {
	e := &tx.writes[len(tx.writes)-1]
	tx.walkKey(callerFrame(unsafe.Pointer(&tx)), &e.pcOff, &e.pcN)
	tx.storeNamed(h, &e.pcOff, &e.pcN)
}

// writeSiteUp is writeSite for storeSlow, which store calls: store's
// frame is the one above its caller's.
//
//go:noinline
func (tx *Tx) writeSiteUp(h *varHeader, off, n *int32) {
	fb := callerFrame(unsafe.Pointer(&tx))
	if fb != nil {
		fb = *(*unsafe.Pointer)(fb)
	}
	if fb == nil || !tx.wkeys.hit(fb, off, n) {
		tx.walkKey(fb, off, n)
	}
	tx.storeNamed(h, off, n)
}

// storeNamed gives a pending write-write conflict of h's (tx.patch) the
// site of this Store of h (by pointers, read only then: the common case
// is none).
func (tx *Tx) storeNamed(h *varHeader, off, n *int32) {
	if tx.patch.h == h {
		tx.storePatch(*off, *n)
	}
}

// writeKeys remembers, for the places a context stored from lately, the
// site each key stood for. A key is the Store's return address, its
// caller's and where the caller's frame is, which determine the frames
// above only as long as the callers that built them are the same: the
// same function at the same depth, called from two callers whose frames
// have the same size, gives one key for two stacks. So one Store in
// keyCheckEvery found by its key, drawn at random (a fixed period could
// keep missing the second stack of two that alternate), walks the whole
// stack as well, and a key found to stand for two sites is walked every
// time from then on (its fp gets keyVaries: it matches no frame): a Store
// is named wrongly only by a key that varies, and only until a check
// falls on one of its second stack's Stores, after keyCheckEvery of them
// on average, or until the slot is taken by another key.
type writeKeys struct {
	k     [keySlots]writeKey // by keySlot
	check uint8              // Stores found by key until the next check
	rnd   uint32
}

type writeKey struct {
	pc, ret, fp uintptr // the Store's return address, its caller's, the caller's frame
	id          uint32
}

const (
	keySlots      = 4
	keyCheckEvery = 32
	// keyVaries marks a key's fp: no frame is at such an address.
	keyVaries = ^uintptr(0) &^ (^uintptr(0) >> 1)
)

// keySlot is where the key of a Store at pc, its caller's frame at fp,
// is kept: the frame's address as well, so that the same place run from
// two callers (a context's counted and sampled calls) keeps two keys.
func keySlot(pc, fp uintptr) uintptr { return (pc ^ fp>>3) & (keySlots - 1) }

// hit looks the Store of store's frame fb up by its key: found, and the
// check not due, it sets off, n to the key's site and siteInterned. The
// caller's frame (word 0 of fb) is read from only once its address and
// the Store's return address have matched a key walkKey stored, which
// checked the chain there.
func (w *writeKeys) hit(fb unsafe.Pointer, off, n *int32) bool {
	up := *(*unsafe.Pointer)(fb)
	pc := *(*uintptr)(unsafe.Add(fb, 8))
	k := &w.k[keySlot(pc, uintptr(up))]
	if k.pc != pc || k.fp != uintptr(up) || k.ret != *(*uintptr)(unsafe.Add(up, 8)) {
		return false
	}
	if w.check--; w.check == 0 {
		return false
	}
	*off, *n = int32(k.id), siteInterned
	return true
}

// keyAt is the key of the Store of store's frame fb (zero if the chain
// above it is not a frame's).
func keyAt(fb unsafe.Pointer) writeKey {
	up := *(*unsafe.Pointer)(fb)
	if uintptr(up) <= uintptr(fb) {
		return writeKey{}
	}
	return writeKey{pc: *(*uintptr)(unsafe.Add(fb, 8)), ret: *(*uintptr)(unsafe.Add(up, 8)), fp: uintptr(up)}
}

// walkKey names a Store's site by the walk (walkSite) from store's frame
// fb, where its key found none or a check was due, and remembers the site
// by the key, or marks the key varying if it named another site before.
//
//go:noinline
func (tx *Tx) walkKey(fb unsafe.Pointer, off, n *int32) {
	if fb == nil {
		tx.walkSite(nil, off, n)
		return
	}
	w := &tx.wkeys
	key := keyAt(fb)
	k := &w.k[keySlot(key.pc, key.fp)]
	same := k.pc == key.pc && k.ret == key.ret
	if same && k.fp == key.fp && w.check == 0 {
		w.check = w.interval()
	}
	id := tx.walkSite(fb, off, n)
	switch {
	case !same || k.fp&^keyVaries != key.fp:
		if key.pc != 0 && id != 0 {
			key.id = id
			*k = key
			w.check = w.interval()
		}
	case id != k.id:
		k.fp |= keyVaries
	}
}

// interval draws the number of Stores to the next check, uniform in
// [1, 2*keyCheckEvery-1].
func (w *writeKeys) interval() uint8 {
	x := w.rnd
	if x == 0 {
		x = 0x9e3779b9
	}
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	w.rnd = x
	return uint8(x%(2*keyCheckEvery-1)) + 1
}

// walkSite names the Store's site by the whole frame-pointer walk from
// store's frame fb: off, n the interned site and siteInterned (0, 0 for
// no stack), returning the site.
func (tx *Tx) walkSite(fb unsafe.Pointer, off, n *int32) uint32 {
	h, k := hashStackFrom(fb)
	if h != 0 {
		for i := range tx.siteCache {
			if c := &tx.siteCache[i]; c.fh == h && c.fn == int32(k) {
				*off, *n = int32(c.id), siteInterned
				return c.id
			}
		}
	}
	tx.captureSiteFrom(fb, off, n)
	if *n == 0 {
		return 0
	}
	l := *off
	c := tx.internCached(l, *n)
	c.fh, c.fn = h, int32(k)
	*off, *n = int32(c.id), siteInterned
	tx.pcs = tx.pcs[:l]
	return c.id
}

// siteWords is pcOff and pcN as one pair, for keyHere.
func (e *writeEntry) siteWords() *[2]int32 { return (*[2]int32)(unsafe.Pointer(&e.pcOff)) }

// site is the interned site of a write: writeSite interns it at the Store
// (pcN siteInterned, pcOff the id), and a write whose site is not captured
// has neither (0, 0).
func (e *writeEntry) site() uint32 { return uint32(e.pcOff) }

// symbolize turns raw return addresses into the user's frames, leaf first:
// frames of runtime/stm itself (not its tests) and of the Go runtime are
// left out.
func symbolize(pcs []uintptr) logformat.Stack {
	var s logformat.Stack
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && !internalFrame(f) {
			s.Frames = append(s.Frames, logformat.Frame{Func: f.Function, File: f.File, Line: f.Line})
		}
		if !more {
			break
		}
	}
	return s
}

const pkgPath = "github.com/stmlog/stmlog/runtime/stm."

func internalFrame(f runtime.Frame) bool {
	if strings.HasPrefix(f.Function, "runtime.") {
		return true
	}
	if strings.HasPrefix(f.Function, pkgPath) {
		return !strings.HasSuffix(f.File, "_test.go")
	}
	return false
}

// storeSite reports whether a Store of h captures its stack (tx.rec is
// set): at either level, only a Store of a Var that has been in a
// conflict, as for Loads, unless the recording captures every site
// (modeFullSites, WithEverySite). Capturing costs more than a small
// transaction (a Store's lookup of its site is most of an uncontended
// increment), and a write site only matters when someone conflicts with
// the write. So a logged call (every call at the full level, one that met
// contention at the profile level) pays nothing for the Vars nobody ever
// conflicted on. The first conflict on a Var then names no write site for
// the side that wrote it before; the re-run of this side, which finds the
// Var contended, captures its own. A call that is not logged (counted or
// timed), and a full-level call, captures only while its thread is
// wanted (threadRec.siteWant): someone conflicted with this thread in the
// last second or so (a conflict wants both sides, so a re-run after one
// captures). So the first conflict with a thread that nobody conflicted
// with lately names the thread without its site, and the next ones name
// both, at either level; only a profile-level call that met contention
// (modeLogged: it conflicts now) captures every time.
func (tx *Tx) storeSite(h *varHeader) bool {
	if !h.contended.Load() {
		return tx.prof.mode == modeFullSites
	}
	return tx.prof.mode == modeLogged || tx.prof.mode == modeFullSites || tx.rec.siteWant.Load() != 0
}
