package stm

import (
	"runtime"
	"sync"
	"sync/atomic"
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
