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
type node struct {
	keys     []int
	children []*stm.Var[*node] // nil for a leaf
}

func (n *node) leaf() bool { return n.children == nil }

type header struct {
	root *stm.Var[*node]
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
	t := &Tree{fixed: fixed, hdr: stm.NewVar(header{root: stm.NewVar(&node{})})}
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
	r := h.root.Load(tx)
	if len(r.keys) == maxKeys {
		// Grow at the top: a new root whose only child is the old one.
		nr := &node{children: []*stm.Var[*node]{h.root}}
		h.root = stm.NewVar(nr)
		r = splitChild(tx, h.root, nr, 0, r)
		grew = true
	}
	inserted := insertNonFull(tx, h.root, r, key)
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

// splitChild splits c, the full child i of p (the node in pv), around its
// median key, which moves up into the parent, and returns the new parent.
// The caller passes the nodes it has loaded: each Load is a read set entry
// that the commit validates, and loading a Var again adds another.
func splitChild(tx *stm.Tx, pv *stm.Var[*node], p *node, i int, c *node) *node {
	cv := p.children[i]
	mid := maxKeys / 2
	left := &node{keys: slices.Clone(c.keys[:mid])}
	right := &node{keys: slices.Clone(c.keys[mid+1:])}
	if !c.leaf() {
		left.children = slices.Clone(c.children[:mid+1])
		right.children = slices.Clone(c.children[mid+1:])
	}
	cv.Store(tx, left)
	np := &node{
		keys:     insertCopy(p.keys, i, c.keys[mid]),
		children: insertCopy(p.children, i+1, stm.NewVar(right)),
	}
	pv.Store(tx, np)
	return np
}

// insertNonFull inserts key under n, the node in v, which is not full,
// splitting full children on the way down so a split never climbs back up.
// Each node on the way is loaded once: the child loaded to see whether it
// is full is the node of the next step.
func insertNonFull(tx *stm.Tx, v *stm.Var[*node], n *node, key int) bool {
	for {
		i, found := slices.BinarySearch(n.keys, key)
		if found {
			return false
		}
		if n.leaf() {
			v.Store(tx, newLeaf(n.keys, i, key))
			return true
		}
		cv := n.children[i]
		c := cv.Load(tx)
		if len(c.keys) == maxKeys {
			n = splitChild(tx, v, n, i, c)
			switch {
			case key == n.keys[i]:
				return false
			case key > n.keys[i]:
				i++
			}
			cv = n.children[i]
			c = cv.Load(tx) // the new half: our own pending write, or a Var made here
		}
		v, n = cv, c
	}
}

// insertCopy returns a copy of s with x inserted at i, in one allocation:
// slices.Insert on a slices.Clone allocates twice whenever the clone has
// no spare capacity, as most clones of a node's keys have not.
func insertCopy[T any](s []T, i int, x T) []T {
	out := make([]T, len(s)+1)
	copy(out, s[:i])
	out[i] = x
	copy(out[i+1:], s[i:])
	return out
}

// newLeaf returns a new leaf holding keys with key inserted at i. The node
// and its keys are one allocation (an insert's commonest), capped at their
// length so that no append can write into the array.
func newLeaf(keys []int, i, key int) *node {
	a := &struct {
		n node
		k [maxKeys]int
	}{}
	k := a.k[: len(keys)+1 : len(keys)+1]
	copy(k, keys[:i])
	k[i] = key
	copy(k[i+1:], keys[i:])
	a.n.keys = k
	return &a.n
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
	var walk func(v *stm.Var[*node])
	walk = func(v *stm.Var[*node]) {
		n := v.Peek()
		for i, k := range n.keys {
			if !n.leaf() {
				walk(n.children[i])
			}
			out = append(out, k)
		}
		if !n.leaf() {
			walk(n.children[len(n.keys)])
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
	var walk func(v *stm.Var[*node], lo, hi *int, depth int, root bool) error
	walk = func(v *stm.Var[*node], lo, hi *int, depth int, root bool) error {
		n := v.Peek()
		if len(n.keys) > maxKeys || (!root && len(n.keys) < minDegree-1) {
			return fmt.Errorf("btree: node at depth %d holds %d keys, want %d to %d", depth, len(n.keys), minDegree-1, maxKeys)
		}
		for i, k := range n.keys {
			if (i > 0 && n.keys[i-1] >= k) || (lo != nil && k <= *lo) || (hi != nil && k >= *hi) {
				return fmt.Errorf("btree: key %d at depth %d is out of order", k, depth)
			}
		}
		count += len(n.keys)
		if n.leaf() {
			if leafDepth >= 0 && depth != leafDepth {
				return fmt.Errorf("btree: leaves at depths %d and %d", leafDepth, depth)
			}
			leafDepth = depth
			return nil
		}
		if len(n.children) != len(n.keys)+1 {
			return fmt.Errorf("btree: node at depth %d has %d keys and %d children", depth, len(n.keys), len(n.children))
		}
		for i, c := range n.children {
			clo, chi := lo, hi
			if i > 0 {
				clo = &n.keys[i-1]
			}
			if i < len(n.keys) {
				chi = &n.keys[i]
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
	for _, k := range keys {
		q.Add(func(tx *stm.Tx) error {
			if attempts != nil {
				attempts.Inc()
			}
			t.Insert(tx, k)
			return nil
		})
	}
	return q.Run(workers)
}

// plainNode and plainTree are the baseline: the same algorithm on mutable
// nodes, one mutex for the tree.
type plainNode struct {
	keys     []int
	children []*plainNode
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
	if len(t.root.keys) == maxKeys {
		t.root = &plainNode{children: []*plainNode{t.root}}
		t.root.split(0)
	}
	for n := t.root; ; {
		i, found := slices.BinarySearch(n.keys, key)
		if found {
			return false
		}
		if n.children == nil {
			n.keys = slices.Insert(n.keys, i, key)
			t.size++
			return true
		}
		if len(n.children[i].keys) == maxKeys {
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

func (p *plainNode) split(i int) {
	c := p.children[i]
	mid := maxKeys / 2
	right := &plainNode{keys: slices.Clone(c.keys[mid+1:])}
	if c.children != nil {
		right.children = slices.Clone(c.children[mid+1:])
		c.children = c.children[:mid+1]
	}
	p.keys = slices.Insert(p.keys, i, c.keys[mid])
	p.children = slices.Insert(p.children, i+1, right)
	c.keys = c.keys[:mid]
}

func (t *plainTree) keys() []int {
	var out []int
	var walk func(n *plainNode)
	walk = func(n *plainNode) {
		for i, k := range n.keys {
			if n.children != nil {
				walk(n.children[i])
			}
			out = append(out, k)
		}
		if n.children != nil {
			walk(n.children[len(n.keys)])
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
