package stm

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestVersionLayout(t *testing.T) {
	for _, c := range []struct {
		slot uint32
		n    uint64
	}{{0, 0}, {1, 1}, {maxSlots - 1, 1}, {12345, 1<<(63-slotBits) - 1}} {
		v := makeVersion(c.slot, c.n)
		if v&1 != 0 {
			t.Fatalf("version of slot %d count %d is odd (would read as locked)", c.slot, c.n)
		}
		if versionSlot(v) != c.slot || versionCount(v) != c.n {
			t.Fatalf("version %#x decodes to slot %d count %d, want %d %d", v, versionSlot(v), versionCount(v), c.slot, c.n)
		}
	}
	if versionSlot(0) != 0 || versionCount(0) != 0 {
		t.Fatal("the initial box's version 0 must be slot 0, count 0")
	}
}

// TestOpacityManyContexts: writers move amounts between random Vars (the
// sum stays 0) while readers add them all up inside their bodies, reading
// in random order with yields in between. Far more goroutines than
// processors (and than a view remembers slots), coming and going, so
// versions come from many clock slots and snapshots are extended slot by
// slot. No body may ever see a sum other
// than 0, even one that is about to abort.
func TestOpacityManyContexts(t *testing.T) {
	const nvars, rounds = 12, 6
	vars := make([]*Var[int], nvars)
	for i := range vars {
		vars[i] = NewVar(0)
	}
	const goroutines = 40
	idle := NewVar(0) // never written: the meeting transaction cannot abort
	var bad, reads atomic.Int64
	deadline := time.Now().Add(time.Second)
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		var wg sync.WaitGroup
		var met atomic.Int32
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// All goroutines inside a transaction at once: at least 40
				// contexts, so more clock slots than a view remembers.
				Atomically(func(tx *Tx) error {
					idle.Load(tx)
					met.Add(1)
					for met.Load() < goroutines {
						runtime.Gosched()
					}
					return nil
				})
				r := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for n := range 600 {
					if g%2 == 0 {
						i, j, k := r.IntN(nvars), r.IntN(nvars), 1+r.IntN(9)
						Atomically(func(tx *Tx) error {
							vars[i].Store(tx, vars[i].Load(tx)+k)
							if n%8 == 0 {
								runtime.Gosched() // more commits in flight, from more contexts
							}
							vars[j].Store(tx, vars[j].Load(tx)-k)
							return nil
						})
						continue
					}
					order := r.Perm(nvars)
					Atomically(func(tx *Tx) error {
						s := 0
						for n, i := range order {
							s += vars[i].Load(tx)
							if n == nvars/2 {
								runtime.Gosched()
							}
						}
						if s != 0 {
							bad.Add(1)
						}
						reads.Add(1)
						return nil
					})
				}
			}()
		}
		wg.Wait()
		runtime.GC() // idle contexts are dropped and their slots reused
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d of %d reader bodies saw an inconsistent sum", n, reads.Load())
	}
	slotMu.Lock()
	slots := slotNext
	slotMu.Unlock()
	if slots <= viewSize {
		t.Fatalf("only %d clock slots in use: the test must exceed the %d a view remembers", slots, viewSize)
	}
	sum := 0
	for _, v := range vars {
		sum += v.Peek()
	}
	if sum != 0 {
		t.Fatalf("final sum %d, want 0", sum)
	}
}

// TestSlotsAreReused: contexts dropped by the pool give their clock slots
// back, so slot numbers (and the statistics kept per slot) stay bounded by
// the contexts alive at once, not by the contexts ever made.
func TestSlotsAreReused(t *testing.T) {
	v := NewVar(0)
	burst := func() {
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				Atomically(func(tx *Tx) error {
					v.Store(tx, v.Load(tx)+1)
					time.Sleep(time.Millisecond) // keep many contexts busy at once
					return nil
				})
			}()
		}
		wg.Wait()
	}
	burst()
	slotMu.Lock()
	high := slotNext
	slotMu.Unlock()
	for range 10 {
		// Two collections empty the pool (its victim cache), a third runs the cleanups.
		runtime.GC()
		runtime.GC()
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		burst()
	}
	slotMu.Lock()
	after := slotNext
	slotMu.Unlock()
	if after-high > 64 {
		t.Fatalf("10 more bursts of 64 contexts took %d new slots (from %d): slots are not reused", after-high, high)
	}
	if got := v.Peek(); got != 11*64 {
		t.Fatalf("counter %d, want %d", got, 11*64)
	}
}
