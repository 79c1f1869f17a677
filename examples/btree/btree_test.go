package btree

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stmlog/stmlog/examples/internal/benchmode"
	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

func ascending(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestInsert(t *testing.T) {
	desc := ascending(500)
	slices.Reverse(desc)
	tests := []struct {
		name string
		keys []int
	}{
		{"empty", nil},
		{"one", []int{42}},
		{"fills the root", ascending(maxKeys)},
		{"splits the root", ascending(maxKeys + 1)},
		{"ascending", ascending(1000)},
		{"descending", desc},
		{"random", Keys(2000, 1)},
		{"duplicates", append(append(ascending(300), ascending(300)...), Keys(100, 2)...)},
		{"negative", []int{-5, 3, -100, 0, 7, -5, 2, 1, -1, 8, 9, 10}},
	}
	for _, tt := range tests {
		for _, fixed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fixed=%v", tt.name, fixed), func(t *testing.T) {
				tr := New(fixed)
				seen := map[int]bool{}
				for _, k := range tt.keys {
					var fresh bool
					if err := stm.Atomically(func(tx *stm.Tx) error { fresh = tr.Insert(tx, k); return nil }); err != nil {
						t.Fatal(err)
					}
					if fresh == seen[k] {
						t.Fatalf("Insert(%d) = %v after %d inserts", k, fresh, len(seen))
					}
					seen[k] = true
				}
				if err := tr.Check(); err != nil {
					t.Fatal(err)
				}
				want := make([]int, 0, len(seen))
				for k := range seen {
					want = append(want, k)
				}
				slices.Sort(want)
				if got := tr.Keys(); !slices.Equal(got, want) {
					t.Errorf("Keys() = %d keys, want %d", len(got), len(want))
				}
				if tr.Len() != len(want) {
					t.Errorf("Len() = %d, want %d", tr.Len(), len(want))
				}
				p := newPlain()
				for _, k := range tt.keys {
					p.insert(k)
				}
				if got := p.keys(); !slices.Equal(got, want) || p.size != len(want) {
					t.Errorf("plain tree: %d keys (size %d), want %d", len(got), p.size, len(want))
				}
			})
		}
	}
}

func TestConcurrentInserts(t *testing.T) {
	keys := Keys(3000, 9)
	want := slices.Sorted(slices.Values(keys))
	for _, fixed := range []bool{false, true} {
		for _, w := range []int{1, 2, 4} {
			tr := New(fixed)
			var attempts workload.Counter
			if err := tr.InsertAll(keys, w, &attempts); err != nil {
				t.Fatal(err)
			}
			if err := tr.Check(); err != nil {
				t.Errorf("fixed=%v, %d workers: %v", fixed, w, err)
			}
			if got := tr.Keys(); !slices.Equal(got, want) {
				t.Errorf("fixed=%v, %d workers: %d keys, want %d", fixed, w, len(got), len(want))
			}
			if attempts.Load() < int64(len(keys)) {
				t.Errorf("fixed=%v, %d workers: %d attempts for %d inserts", fixed, w, attempts.Load(), len(keys))
			}
		}
		p := newPlain()
		p.insertAll(keys, 4)
		if got := p.keys(); !slices.Equal(got, want) {
			t.Errorf("plain tree: %d keys, want %d", len(got), len(want))
		}
	}
}

// TestTable adds nodes from two goroutines across chunk boundaries, each
// found again by its index.
func TestTable(t *testing.T) {
	var tab table
	const per = chunkSize + chunkSize/2
	got := make([][]int32, 2)
	var wg sync.WaitGroup
	for g := range got {
		wg.Go(func() {
			for k := range per {
				got[g] = append(got[g], tab.add(node{n: int32(g), keys: [maxKeys]int32{int32(k)}}))
			}
		})
	}
	wg.Wait()
	seen := map[int32]bool{}
	for g, idx := range got {
		for k, i := range idx {
			if i <= 0 || seen[i] {
				t.Fatalf("index %d handed out twice, or not positive", i)
			}
			seen[i] = true
			if n := tab.at(i).Peek(); n.n != int32(g) || n.keys[0] != int32(k) {
				t.Fatalf("node %d holds %d/%d, want %d/%d", i, n.n, n.keys[0], g, k)
			}
		}
	}
	if int(tab.next.Load()) != 2*per {
		t.Errorf("%d indexes handed out, want %d", tab.next.Load(), 2*per)
	}
}

func TestCheckFindsDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(tx *stm.Tx, tr *Tree)
	}{
		{"keys out of order", func(tx *stm.Tx, tr *Tree) {
			n := tr.nodes.at(tr.hdr.Load(tx).root).Load(tx)
			leaf := tr.nodes.at(n.children[0])
			l := leaf.Load(tx)
			l.keys[0], l.keys[1] = l.keys[1], l.keys[0]
			leaf.Store(tx, l)
		}},
		{"key outside its separators", func(tx *stm.Tx, tr *Tree) {
			n := tr.nodes.at(tr.hdr.Load(tx).root).Load(tx)
			leaf := tr.nodes.at(n.children[0])
			l := leaf.Load(tx)
			l.keys[l.n-1] = n.keys[0] + 1
			leaf.Store(tx, l)
		}},
		{"size counter off", func(tx *stm.Tx, tr *Tree) {
			h := tr.hdr.Load(tx)
			h.size++
			tr.hdr.Store(tx, h)
		}},
		{"leaves at different depths", func(tx *stm.Tx, tr *Tree) {
			n := tr.nodes.at(tr.hdr.Load(tx).root).Load(tx)
			leaf := tr.nodes.at(n.children[0])
			l := leaf.Load(tx)
			a, b := node{n: 1, keys: [maxKeys]int32{l.keys[0]}}, node{n: 1, keys: [maxKeys]int32{l.keys[2]}}
			sub := node{n: 1, keys: [maxKeys]int32{l.keys[1]}}
			sub.children[0], sub.children[1] = tr.nodes.add(a), tr.nodes.add(b)
			leaf.Store(tx, sub)
		}},
		{"a child missing", func(tx *stm.Tx, tr *Tree) {
			v := tr.nodes.at(tr.hdr.Load(tx).root)
			n := v.Load(tx)
			n.children[n.n] = 0
			v.Store(tx, n)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(false)
			if err := tr.InsertAll(ascending(100), 1, nil); err != nil {
				t.Fatal(err)
			}
			if err := tr.Check(); err != nil {
				t.Fatalf("before damage: %v", err)
			}
			if err := stm.Atomically(func(tx *stm.Tx) error { tt.damage(tx, tr); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := tr.Check(); err == nil {
				t.Error("Check found nothing wrong")
			}
		})
	}
}

func TestRun(t *testing.T) {
	for _, cfg := range []workload.Config{
		{Workers: 2, Size: 2000},
		{Workers: 2, Size: 2000, Fixed: true},
		{Workers: 2, Size: 2000, Baseline: true},
	} {
		cfg.Duration = 50 * time.Millisecond
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		if res.Ops == 0 || res.Ops%2000 != 0 {
			t.Errorf("%+v: %d inserts, want a positive multiple of 2000", cfg, res.Ops)
		}
	}
}

// BenchmarkInsert: one op is one tree of 2000 random keys, one transaction
// (or one locked insert) per key.
func BenchmarkInsert(b *testing.B) {
	keys := Keys(2000, 1)
	for _, v := range []struct {
		name  string
		fixed bool
		mode  benchmode.Mode
	}{
		{"naive", false, benchmode.Modes[0]},
		{"naive-log", false, benchmode.Modes[1]},
		{"naive-full", false, benchmode.Modes[3]},
		{"fixed", true, benchmode.Modes[0]},
		{"fixed-log", true, benchmode.Modes[1]},
		{"baseline", false, benchmode.Modes[2]},
	} {
		for _, w := range benchmode.Workers {
			b.Run(fmt.Sprintf("%s/workers=%d", v.name, w), func(b *testing.B) {
				v.mode.Start(b)
				attempts := benchmode.StartAttempts()
				cpu := benchmode.StartCPU()
				for b.Loop() {
					if v.mode.STM {
						if err := New(v.fixed).InsertAll(keys, w, nil); err != nil {
							b.Fatal(err)
						}
					} else {
						newPlain().insertAll(keys, w)
					}
				}
				cpu.Report(b)
				b.ReportMetric(float64(b.N*len(keys))/b.Elapsed().Seconds(), "inserts/s")
				if v.mode.STM {
					b.ReportMetric(float64(attempts.Since())/float64(b.N*len(keys)), "attempts/tx")
				}
			})
		}
	}
}
