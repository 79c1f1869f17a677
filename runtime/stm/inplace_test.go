package stm

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// bothReps runs a test on Var[int]s updated in place (what NewVar makes for
// an int) and on boxed ones (a new box per commit, what a T with pointers
// gets), so that the opacity, bank and linearizability checks cover both
// commit paths.
func bothReps(t *testing.T, f func(t *testing.T, newInt func(int) *Var[int])) {
	t.Run("inplace", func(t *testing.T) {
		if NewVar(0).h.nw == 0 {
			t.Fatal("NewVar(0) is not updated in place")
		}
		f(t, NewVar[int])
	})
	t.Run("boxed", func(t *testing.T) { f(t, newBoxedVar[int]) })
}

// newBoxedVar is NewVar without the in-place representation.
func newBoxedVar[T any](v T) *Var[T] {
	x := &Var[T]{}
	x.h.id = varIDs.Add(1)
	x.h.val = unsafe.Pointer(&box[T]{v: v})
	x.h.newBox = newBoxOf[T]
	return x
}

func TestInPlaceWords(t *testing.T) {
	type pair struct {
		a int32
		b int64
	}
	type withPtr struct {
		a int
		p *int
	}
	cases := []struct {
		name string
		got  uint8
		want uint8
	}{
		{"int", inPlaceWords[int](), 1},
		{"bool", inPlaceWords[bool](), 1},
		{"[3]uint16", inPlaceWords[[3]uint16](), 1},
		{"pair", inPlaceWords[pair](), 2},
		{"pair, again (cached)", inPlaceWords[pair](), 2},
		{"complex128", inPlaceWords[complex128](), 2},
		{"[8]uint64", inPlaceWords[[8]uint64](), 8},
		{"[9]uint64 (too big)", inPlaceWords[[9]uint64](), 0},
		{"struct{} (empty)", inPlaceWords[struct{}](), 0},
		{"string", inPlaceWords[string](), 0},
		{"*int", inPlaceWords[*int](), 0},
		{"[]int", inPlaceWords[[]int](), 0},
		{"any", inPlaceWords[any](), 0},
		{"withPtr", inPlaceWords[withPtr](), 0},
		{"withPtr, again (cached)", inPlaceWords[withPtr](), 0},
		{"struct of 8 words", inPlaceWords[struct {
			a uint8
			b [7]uint64
		}](), 8},
		{"[2]withPtr", inPlaceWords[[2]withPtr](), 0},
		{"unsafe.Pointer", inPlaceWords[unsafe.Pointer](), 0},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %d words in place, want %d", c.name, c.got, c.want)
		}
	}
}

// TestAtomicallyAllocs: a read-only transaction allocates nothing, not even
// for a body that captures variables (it must not escape); writes of a Var
// updated in place allocate nothing; a boxed Var's write allocates only
// the box it commits.
func TestAtomicallyAllocs(t *testing.T) {
	v := NewVar(1)
	s := 0
	allocs := func(name string, want float64, body func(tx *Tx) error) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, func() { Atomically(body) }); n != want {
			t.Errorf("%s: %v allocations, want %v", name, n, want)
		}
	}
	allocs("read-only transaction", 0, func(tx *Tx) error { s += v.Load(tx); return nil })
	allocs("one-Var increment (in place)", 0, func(tx *Tx) error { v.Store(tx, v.Load(tx)+s); return nil })
	a, b := NewVar(100), NewVar(100)
	allocs("transfer between two in-place Vars", 0, func(tx *Tx) error {
		a.Store(tx, a.Load(tx)-1)
		b.Store(tx, b.Load(tx)+1)
		return nil
	})
	type point struct{ x, y, z int64 }
	p := NewVar(point{})
	allocs("three-word struct, stored twice", 0, func(tx *Tx) error {
		q := p.Load(tx)
		q.x++
		p.Store(tx, q)
		q.y--
		p.Store(tx, q)
		return nil
	})
	bv := newBoxedVar(1)
	allocs("one-Var increment (boxed)", 1, func(tx *Tx) error { bv.Store(tx, bv.Load(tx)+s); return nil })
	sv := NewVar("x")
	allocs("string Var (boxed)", 1, func(tx *Tx) error { sv.Store(tx, sv.Load(tx)); return nil })
}

// TestInPlaceValues: values of every width in-place Vars support come back
// as stored (own pending writes, committed values, Peek), and an error
// discards them.
func TestInPlaceValues(t *testing.T) {
	type odd struct {
		a int8
		b int32
		c [3]byte
	}
	checkRoundTrip(t, "int8", int8(-7), int8(100))
	checkRoundTrip(t, "bool", false, true)
	checkRoundTrip(t, "[3]uint16", [3]uint16{1, 2, 3}, [3]uint16{65535, 0, 7})
	checkRoundTrip(t, "odd", odd{1, 2, [3]byte{3, 4, 5}}, odd{-1, -2, [3]byte{9, 8, 7}})
	checkRoundTrip(t, "float64", 1.5, -2.25)
	checkRoundTrip(t, "[8]uint64", [8]uint64{1, 2, 3, 4, 5, 6, 7, 8}, [8]uint64{8, 7, 6, 5, 4, 3, 2, 1})
	// Every word count (the copies are written out for each).
	checkRoundTrip(t, "[3]uint64", [3]uint64{1, 2, 3}, [3]uint64{3, 2, 1})
	checkRoundTrip(t, "[4]uint64", [4]uint64{1, 2, 3, 4}, [4]uint64{4, 3, 2, 1})
	checkRoundTrip(t, "[5]uint64", [5]uint64{1, 2, 3, 4, 5}, [5]uint64{5, 4, 3, 2, 1})
	checkRoundTrip(t, "[6]uint64", [6]uint64{1, 2, 3, 4, 5, 6}, [6]uint64{6, 5, 4, 3, 2, 1})
	checkRoundTrip(t, "[7]uint64", [7]uint64{1, 2, 3, 4, 5, 6, 7}, [7]uint64{7, 6, 5, 4, 3, 2, 1})
}

func checkRoundTrip[T comparable](t *testing.T, name string, first, second T) {
	t.Helper()
	v := NewVar(first)
	if v.h.nw == 0 {
		t.Fatalf("%s: not updated in place", name)
	}
	if got := v.Peek(); got != first {
		t.Fatalf("%s: Peek of a new Var = %v, want %v", name, got, first)
	}
	errDrop := errors.New("drop")
	if err := Atomically(func(tx *Tx) error { v.Store(tx, second); return errDrop }); err != errDrop {
		t.Fatalf("%s: %v, want errDrop", name, err)
	}
	if got := v.Peek(); got != first {
		t.Fatalf("%s: after a failed transaction %v, want %v", name, got, first)
	}
	Atomically(func(tx *Tx) error {
		if got := v.Load(tx); got != first {
			t.Errorf("%s: Load %v, want %v", name, got, first)
		}
		v.Store(tx, second)
		if got := v.Load(tx); got != second {
			t.Errorf("%s: Load of own write %v, want %v", name, got, second)
		}
		return nil
	})
	if got := v.Peek(); got != second {
		t.Fatalf("%s: committed %v, want %v", name, got, second)
	}
}

// TestInPlaceSelectRollback: a Select alternative that rewrites an
// in-place Var written before it and then retries leaves the earlier
// pending value, and one that commits keeps its own.
func TestInPlaceSelectRollback(t *testing.T) {
	v, w := NewVar(0), NewVar(0)
	Atomically(func(tx *Tx) error {
		v.Store(tx, 1)
		return Select(
			func(tx *Tx) error { v.Store(tx, 2); w.Store(tx, 2); return ErrRetry },
			func(tx *Tx) error {
				if got := v.Load(tx); got != 1 {
					t.Errorf("second alternative sees v=%d, want 1 (the first one's write rolled back)", got)
				}
				if got := w.Load(tx); got != 0 {
					t.Errorf("second alternative sees w=%d, want 0", got)
				}
				v.Store(tx, v.Load(tx)+10)
				return nil
			},
		)(tx)
	})
	if v.Peek() != 11 || w.Peek() != 0 {
		t.Fatalf("v=%d w=%d, want 11 and 0", v.Peek(), w.Peek())
	}
}

// TestInPlaceNoTornReads: writers store values whose eight words are all
// equal; readers, in transactions and with Peek, must never see two
// different words, nor a Var of a pair that disagrees with the other.
func TestInPlaceNoTornReads(t *testing.T) {
	x, y := NewVar([8]uint64{}), NewVar([8]uint64{})
	var bad atomic.Int64
	whole := func(a [8]uint64) bool {
		for _, w := range a {
			if w != a[0] {
				return false
			}
		}
		return true
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(1); i <= 20000; i++ {
				Atomically(func(tx *Tx) error {
					n := x.Load(tx)[0] + 1
					var a [8]uint64
					for k := range a {
						a[k] = n
					}
					x.Store(tx, a)
					y.Store(tx, a)
					return nil
				})
			}
		}()
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r == 0 {
					if !whole(x.Peek()) {
						bad.Add(1)
					}
					continue
				}
				Atomically(func(tx *Tx) error {
					// Each value is checked as soon as it is loaded: a
					// later Load's validation must not be what hides a
					// torn one.
					a := x.Load(tx)
					if !whole(a) {
						bad.Add(1)
					}
					b := y.Load(tx)
					if !whole(b) || a != b {
						bad.Add(1)
					}
					return nil
				})
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d reads saw a torn or inconsistent value", n)
	}
	if got := x.Peek(); got[0] != 40000 || !whole(got) {
		t.Fatalf("x = %v, want 40000 in every word", got)
	}
}

// TestBoxValueOffset checks what Tx.load assumes: a box's value starts
// right after its header, whatever T is.
func TestBoxValueOffset(t *testing.T) {
	offs := []uintptr{
		unsafe.Offsetof(box[byte]{}.v), unsafe.Offsetof(box[int16]{}.v),
		unsafe.Offsetof(box[int64]{}.v), unsafe.Offsetof(box[complex128]{}.v),
		unsafe.Offsetof(box[struct{}]{}.v), unsafe.Offsetof(box[[3]byte]{}.v),
		unsafe.Offsetof(box[string]{}.v), unsafe.Offsetof(box[[]int]{}.v),
	}
	for i, o := range offs {
		if o != boxValueOff {
			t.Errorf("type %d: value at offset %d, want %d", i, o, boxValueOff)
		}
	}
}
