package stm

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

//go:noinline
func writeSiteFrom(tx *Tx) uint32 {
	var off, n int32
	tx.writeSite(nil, &off, &n)
	return uint32(off)
}

//go:noinline
func keyInner(tx *Tx) uint32 { return writeSiteFrom(tx) }

// keyMid is the frame writeSite's key ends at (writeSiteFrom's and
// keyInner's return addresses, keyInner's frame, which keyMid's frame
// puts where it is); keyViaA and keyViaB are the same code, so called
// from one frame they put it at one address: one key for two stacks.
//
//go:noinline
func keyMid(tx *Tx) uint32 { return keyInner(tx) }

//go:noinline
func keyViaA(tx *Tx) uint32 { return keyMid(tx) }

//go:noinline
func keyViaB(tx *Tx) uint32 { return keyMid(tx) }

// TestWriteSiteKeyVaries stores alternately through two stacks that share
// writeSite's key: the checks must find the key varying, and from then on
// each Store is named by its own stack.
func TestWriteSiteKeyVaries(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("no frame-pointer key here: every Store walks")
	}
	tx := newTx().(*Tx)
	var a, b []uint32
	for i := range 4000 {
		if i%2 == 0 {
			a = append(a, keyViaA(tx))
		} else {
			b = append(b, keyViaB(tx))
		}
	}
	varies := 0
	for _, k := range tx.wkeys.k {
		if k.pc != 0 && k.fp&keyVaries != 0 {
			varies++
		}
	}
	if varies != 1 {
		t.Fatalf("%d keys found varying, want 1 (keys %+v)", varies, tx.wkeys.k)
	}
	for name, ids := range map[string][]uint32{"keyViaA": a, "keyViaB": b} {
		last := ids[len(ids)-100:]
		for _, id := range last[1:] {
			if id != last[0] {
				t.Fatalf("%s: the last Stores named sites %v", name, last)
			}
		}
		s := symbolize(sites.pcs(last[0]))
		found := false
		for _, f := range s.Frames {
			found = found || strings.HasSuffix(f.Func, "."+name)
		}
		if !found {
			t.Errorf("%s: site %d is %v, without %s", name, last[0], s.Frames, name)
		}
	}
	if a[len(a)-1] == b[len(b)-1] {
		t.Errorf("two stacks named one site %d", a[len(a)-1])
	}
}

// TestWriteSiteKeyHits: from one place, Stores after the first are found
// by their key (the walk only at the checks), and name the walk's site.
func TestWriteSiteKeyHits(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("no frame-pointer key here: every Store walks")
	}
	tx := newTx().(*Tx)
	var first uint32
	for i := range 1000 {
		id := keyViaA(tx)
		if i == 0 {
			first = id
		} else if id != first {
			t.Fatalf("site %d, then %d from one place", first, id)
		}
	}
	n := 0
	for _, k := range tx.wkeys.k {
		if k.pc != 0 && k.fp&keyVaries == 0 {
			n++
			if k.id != first {
				t.Errorf("key names site %d, want %d", k.id, first)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d keys trusted, want 1 (keys %+v)", n, tx.wkeys.k)
	}
}

// TestWriteSiteKeyBoxed: two Stores of boxed Vars (through storeSlow, a
// frame more than an in-place Var's) from two lines of one body name two
// sites, from the first call on: the key holds the body's return address.
func TestWriteSiteKeyBoxed(t *testing.T) {
	if err := StartLog(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer StopLog()
	a, b := NewVar[*int](nil), NewVar[*int](nil)
	if a.h.nw != 0 {
		t.Fatal("a *int Var is in place: the test needs a boxed one")
	}
	a.h.contended.Store(true)
	b.h.contended.Store(true)
	x := new(int)
	for i := range 200 {
		var ids [2]uint32
		Atomically(func(tx *Tx) error {
			tx.rec.wantSites() // as after a conflict with this thread: storeSite
			a.Store(tx, x)
			b.Store(tx, x)
			for j := range ids {
				if e := tx.writes[j]; e.pcN == siteInterned {
					ids[j] = e.site()
				}
			}
			return nil
		})
		if ids[0] == 0 || ids[1] == 0 || ids[0] == ids[1] {
			t.Fatalf("call %d: the two Stores named sites %v", i, ids)
		}
	}
}

// TestWriteSiteKeyRewrite: an in-place Var written twice in one body, from
// two lines, names each line's site in turn: the first Store's from
// store's frame (keyHere), the second's from storeSlow's (writeSiteUp),
// which must find store's frame above its own; and a boxed Var's two
// Stores (both through storeSlow) as well.
func TestWriteSiteKeyRewrite(t *testing.T) {
	if err := StartLog(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer StopLog()
	a, b := NewVar(0), NewVar[*int](nil)
	if a.h.nw == 0 || b.h.nw != 0 {
		t.Fatal("the test needs an in-place int Var and a boxed *int one")
	}
	a.h.contended.Store(true)
	b.h.contended.Store(true)
	x := new(int)
	var lines [4]int
	for i := range 300 {
		var ids [4]uint32
		Atomically(func(tx *Tx) error {
			tx.rec.wantSites() // as after a conflict with this thread: storeSite
			_, _, lines[0], _ = runtime.Caller(0)
			a.Store(tx, i)
			ids[0] = tx.writes[0].site()
			_, _, lines[1], _ = runtime.Caller(0)
			a.Store(tx, i+1)
			ids[1] = tx.writes[0].site()
			_, _, lines[2], _ = runtime.Caller(0)
			b.Store(tx, x)
			ids[2] = tx.writes[1].site()
			_, _, lines[3], _ = runtime.Caller(0)
			b.Store(tx, x)
			ids[3] = tx.writes[1].site()
			return nil
		})
		for j, id := range ids {
			s := symbolize(sites.pcs(id))
			if id == 0 || len(s.Frames) == 0 || !strings.Contains(s.Frames[0].Func, "TestWriteSiteKeyRewrite") ||
				s.Frames[0].Line != lines[j]+1 {
				t.Fatalf("call %d: Store %d (line %d) named site %d, %v", i, j, lines[j]+1, id, s.Frames)
			}
		}
	}
}

// TestWriteSiteKeyInPlace: as TestWriteSiteKeyBoxed for in-place Vars,
// whose first Store in a call looks its key up from store's own frame
// (keyHere): in every call the two Stores name sites whose innermost
// frame is this test's closure at the line of that Store. (The sites
// themselves differ between calls the body is run from different places
// in Atomically: counted, sampled or logged.)
func TestWriteSiteKeyInPlace(t *testing.T) {
	if err := StartLog(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer StopLog()
	a, b := NewVar(0), NewVar(0)
	if a.h.nw == 0 {
		t.Fatal("an int Var is boxed: the test needs an in-place one")
	}
	a.h.contended.Store(true)
	b.h.contended.Store(true)
	var lines [2]int
	for i := range 300 {
		var ids [2]uint32
		Atomically(func(tx *Tx) error {
			tx.rec.wantSites() // as after a conflict with this thread: storeSite
			_, _, lines[0], _ = runtime.Caller(0)
			a.Store(tx, i)
			_, _, lines[1], _ = runtime.Caller(0)
			b.Store(tx, i)
			for j := range ids {
				if e := tx.writes[j]; e.pcN == siteInterned {
					ids[j] = e.site()
				}
			}
			return nil
		})
		for j, id := range ids {
			s := symbolize(sites.pcs(id))
			if id == 0 || len(s.Frames) == 0 || !strings.Contains(s.Frames[0].Func, "TestWriteSiteKeyInPlace") ||
				s.Frames[0].Line != lines[j]+1 {
				t.Fatalf("call %d: Store %d (line %d) named site %d, %v", i, j, lines[j]+1, id, s.Frames)
			}
		}
	}
}
