// Package btree inserts keys into one shared B-tree whose nodes are
// stm.Vars, one transaction per insert, as in the seed's btree benchmark
// (PyPy-STM: 2.01 s with one thread, 2.42 s with four: no scaling, because
// "the atomic blocks create too many conflicts").
//
// The naive tree keeps its root pointer and its size in one header Var, the
// way a tree struct usually holds both; every insert reads the header first
// (to find the root) and writes it last (size++), so any two inserts that
// overlap in time conflict, whatever keys they touch. The log shows it as a
// write-read conflict between the header Load and the header Store lines.
// The fixed tree (Config.Fixed) keeps the root pointer alone in the header,
// written only when the root splits, and counts the size in shards; then
// inserts conflict only when they meet in a node. The baseline is the same
// B-tree made of plain nodes under one sync.Mutex.
package btree

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// DefaultSize is the number of keys one round inserts into a fresh tree.
const DefaultSize = 20000

// maxKeys is the most keys a node holds (a B-tree of minimum degree 4).
// Small nodes make a deep tree, as in the seed's pure-Python benchmark.
const (
	minDegree = 4
	maxKeys   = 2*minDegree - 1
)

// sizeShards is how many counters the fixed tree spreads its size over.
const sizeShards = 16

// node is immutable once stored in its Var: an insert stores a new node.
// Its keys and children are held by value, so that writing a node is one
// allocation (the box its Store publishes) and loading one reads no other
// object; the baseline's plainNode has the same layout.
type node struct {
	n        int // keys in use
	keys     [maxKeys]int
	children [maxKeys + 1]*stm.Var[node] // children[:n+1]; all nil for a leaf
}

func (n *node) leaf() bool { return n.children[0] == nil }

// insertAt puts key at i, and child (if not nil) right of it at i+1.
func (n *node) insertAt(i, key int, child *stm.Var[node]) {
	copy(n.keys[i+1:n.n+1], n.keys[i:n.n])
	n.keys[i] = key
	if child != nil {
		copy(n.children[i+2:n.n+2], n.children[i+1:n.n+1])
		n.children[i+1] = child
	}
	n.n++
}

// split returns the halves of full node c and the median key between them.
func (c *node) split() (left, right node, median int) {
	const mid = maxKeys / 2
	left.n, right.n = mid, maxKeys-mid-1
	copy(left.keys[:], c.keys[:mid])
	copy(right.keys[:], c.keys[mid+1:])
	copy(left.children[:], c.children[:mid+1])
	copy(right.children[:], c.children[mid+1:])
	return left, right, c.keys[mid]
}

type header struct {
	root *stm.Var[node]
	size int // naive tree only
}

// Tree is a B-tree of distinct ints.
type Tree struct {
	fixed bool
	hdr   *stm.Var[header]
	sizes []*stm.Var[int] // fixed tree only
}

// New returns an empty tree; fixed selects the version without the header
// conflict.
func New(fixed bool) *Tree {
	t := &Tree{fixed: fixed, hdr: stm.NewVar(header{root: stm.NewVar(node{})})}
	if fixed {
		t.sizes = make([]*stm.Var[int], sizeShards)
		for i := range t.sizes {
			t.sizes[i] = stm.NewVar(0)
		}
	}
	return t
}

// Insert adds key within tx and reports whether it was new.
func (t *Tree) Insert(tx *stm.Tx, key int) bool {
	h := t.hdr.Load(tx) // naive: every insert reads the header
	grew := false
	v, r := h.root, h.root.Load(tx)
	if r.n == maxKeys {
		// Grow at the top: the old root's Var keeps its left half, and a
		// new root holds the median between the two halves.
		left, right, median := r.split()
		v.Store(tx, left)
		r = node{n: 1}
		r.keys[0] = median
		r.children[0], r.children[1] = v, stm.NewVar(right)
		v = stm.NewVar(r)
		h.root = v
		grew = true
	}
	inserted := insertNonFull(tx, v, r, key)
	if t.fixed {
		if grew {
			t.hdr.Store(tx, h)
		}
		if inserted {
			s := t.sizes[uint(key)%sizeShards]
			s.Store(tx, s.Load(tx)+1)
		}
		return inserted
	}
	if inserted {
		h.size++
	}
	if inserted || grew {
		t.hdr.Store(tx, h) // naive: ... and writes it back
	}
	return inserted
}

// insertNonFull inserts key under n, the node in v, which is not full,
// splitting full children on the way down so a split never climbs back up.
// Each node on the way is loaded once (each Load is a read set entry that
// the commit validates): after a split the next step goes on with the half
// it made, not a Load of it.
func insertNonFull(tx *stm.Tx, v *stm.Var[node], n node, key int) bool {
	for {
		i, found := slices.BinarySearch(n.keys[:n.n], key)
		if found {
			return false
		}
		if n.leaf() {
			n.insertAt(i, key, nil)
			v.Store(tx, n)
			return true
		}
		cv := n.children[i]
		c := cv.Load(tx)
		if c.n == maxKeys {
			left, right, median := c.split()
			cv.Store(tx, left)
			rv := stm.NewVar(right)
			n.insertAt(i, median, rv)
			v.Store(tx, n)
			switch {
			case key == median:
				return false
			case key > median:
				cv, c = rv, right
			default:
				c = left
			}
		}
		v, n = cv, c
	}
}

// Len returns the committed number of keys.
func (t *Tree) Len() int {
	if !t.fixed {
		return t.hdr.Peek().size
	}
	n := 0
	for _, s := range t.sizes {
		n += s.Peek()
	}
	return n
}

// Keys returns the committed keys in order.
func (t *Tree) Keys() []int {
	var out []int
	var walk func(v *stm.Var[node])
	walk = func(v *stm.Var[node]) {
		n := v.Peek()
		for i, k := range n.keys[:n.n] {
			if !n.leaf() {
				walk(n.children[i])
			}
			out = append(out, k)
		}
		if !n.leaf() {
			walk(n.children[n.n])
		}
	}
	walk(t.hdr.Peek().root)
	return out
}

// Check verifies the B-tree invariants of the committed tree: keys in order
// and within their separators, node sizes within bounds, every leaf at the
// same depth, and the size counter equal to the number of keys.
func (t *Tree) Check() error {
	leafDepth := -1
	count := 0
	var walk func(v *stm.Var[node], lo, hi *int, depth int, root bool) error
	walk = func(v *stm.Var[node], lo, hi *int, depth int, root bool) error {
		n := v.Peek()
		if n.n > maxKeys || n.n < 0 || (!root && n.n < minDegree-1) {
			return fmt.Errorf("btree: node at depth %d holds %d keys, want %d to %d", depth, n.n, minDegree-1, maxKeys)
		}
		keys := n.keys[:n.n]
		for i, k := range keys {
			if (i > 0 && keys[i-1] >= k) || (lo != nil && k <= *lo) || (hi != nil && k >= *hi) {
				return fmt.Errorf("btree: key %d at depth %d is out of order", k, depth)
			}
		}
		count += n.n
		kids := 0
		for kids < len(n.children) && n.children[kids] != nil {
			kids++
		}
		for _, c := range n.children[kids:] {
			if c != nil {
				return fmt.Errorf("btree: node at depth %d has a gap in its children", depth)
			}
		}
		if n.leaf() {
			if leafDepth >= 0 && depth != leafDepth {
				return fmt.Errorf("btree: leaves at depths %d and %d", leafDepth, depth)
			}
			leafDepth = depth
			return nil
		}
		if kids != n.n+1 {
			return fmt.Errorf("btree: node at depth %d has %d keys and %d children", depth, n.n, kids)
		}
		for i, c := range n.children[:kids] {
			clo, chi := lo, hi
			if i > 0 {
				clo = &keys[i-1]
			}
			if i < len(keys) {
				chi = &keys[i]
			}
			if err := walk(c, clo, chi, depth+1, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(t.hdr.Peek().root, nil, nil, 0, true); err != nil {
		return err
	}
	if count != t.Len() {
		return fmt.Errorf("btree: %d keys in the nodes, size counter says %d", count, t.Len())
	}
	return nil
}

// InsertAll inserts keys with one transaction per key, run by a stm.Queue of
// workers. attempts, if not nil, counts executions of the transactions.
func (t *Tree) InsertAll(keys []int, workers int, attempts *workload.Counter) error {
	q := stm.NewQueue()
	q.AddN(len(keys), func(tx *stm.Tx, i int) error {
		if attempts != nil {
			attempts.Inc()
		}
		t.Insert(tx, keys[i])
		return nil
	})
	return q.Run(workers)
}

// plainNode and plainTree are the baseline: the same algorithm on mutable
// nodes of the same layout (keys and children by value), one mutex for
// the tree.
type plainNode struct {
	n        int
	keys     [maxKeys]int
	children [maxKeys + 1]*plainNode // all nil for a leaf
}

type plainTree struct {
	mu   sync.Mutex
	root *plainNode
	size int
}

func newPlain() *plainTree { return &plainTree{root: &plainNode{}} }

func (t *plainTree) insert(key int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.root.n == maxKeys {
		r := &plainNode{}
		r.children[0] = t.root
		r.split(0)
		t.root = r
	}
	for n := t.root; ; {
		i, found := slices.BinarySearch(n.keys[:n.n], key)
		if found {
			return false
		}
		if n.children[0] == nil {
			n.insertAt(i, key, nil)
			t.size++
			return true
		}
		if n.children[i].n == maxKeys {
			n.split(i)
			switch {
			case key == n.keys[i]:
				return false
			case key > n.keys[i]:
				i++
			}
		}
		n = n.children[i]
	}
}

// insertAt is node.insertAt.
func (n *plainNode) insertAt(i, key int, child *plainNode) {
	copy(n.keys[i+1:n.n+1], n.keys[i:n.n])
	n.keys[i] = key
	if child != nil {
		copy(n.children[i+2:n.n+2], n.children[i+1:n.n+1])
		n.children[i+1] = child
	}
	n.n++
}

// split splits p's full child i in place: its upper half moves to a new
// right sibling and its median up into p.
func (p *plainNode) split(i int) {
	const mid = maxKeys / 2
	c := p.children[i]
	right := &plainNode{n: maxKeys - mid - 1}
	copy(right.keys[:], c.keys[mid+1:])
	copy(right.children[:], c.children[mid+1:])
	clear(c.children[mid+1:])
	c.n = mid
	p.insertAt(i, c.keys[mid], right)
}

func (t *plainTree) keys() []int {
	var out []int
	var walk func(n *plainNode)
	walk = func(n *plainNode) {
		for i, k := range n.keys[:n.n] {
			if n.children[0] != nil {
				walk(n.children[i])
			}
			out = append(out, k)
		}
		if n.children[0] != nil {
			walk(n.children[n.n])
		}
	}
	walk(t.root)
	return out
}

func (t *plainTree) insertAll(keys []int, workers int) {
	workload.Fan(workers, 256, keys, func(k int) { t.insert(k) })
}

// Keys returns n random distinct keys from [0, 4n).
func Keys(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 5))
	return rng.Perm(4 * n)[:n]
}

// Run inserts cfg.Size random keys into a fresh tree, round after round,
// for cfg.Duration, and checks each tree against the sorted keys. Ops counts
// inserts.
func Run(ctx context.Context, cfg workload.Config) (workload.Result, error) {
	cfg = cfg.Normalize(DefaultSize)
	var attempts workload.Counter
	round := 0
	rounds, elapsed, err := workload.Repeat(ctx, cfg.Duration, func() error {
		round++
		keys := Keys(cfg.Size, uint64(round))
		want := slices.Sorted(slices.Values(keys))
		var got []int
		if cfg.Baseline {
			t := newPlain()
			t.insertAll(keys, cfg.Workers)
			got = t.keys()
		} else {
			t := New(cfg.Fixed)
			t.hdr.Name("btree header") // for the report; not in New, which benchmarks call often
			if err := t.InsertAll(keys, cfg.Workers, &attempts); err != nil {
				return err
			}
			if err := t.Check(); err != nil {
				return err
			}
			got = t.Keys()
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("btree: round %d: tree holds %d keys, %d inserted (or out of order)", round, len(got), len(want))
		}
		return nil
	})
	res := workload.Result{
		Ops:      int64(rounds * cfg.Size),
		Unit:     "inserts",
		Elapsed:  elapsed,
		Attempts: attempts.Load(),
		Check:    fmt.Sprintf("%d trees of %d keys = sorted keys, B-tree invariants hold", rounds, cfg.Size),
	}
	if !cfg.Baseline {
		res.Txs = res.Ops
	}
	return res, err
}
