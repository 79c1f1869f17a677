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
	"sync/atomic"

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
// It holds no pointers (keys are int32s, children indexes into the tree's
// node table) and fills 8 words, so its Var is updated in place: writing
// a node allocates nothing and loading one reads no other object. The
// baseline keeps the same nodes in a slice, by the same indexes.
type node struct {
	n        int32 // keys in use
	keys     [maxKeys]int32
	children [maxKeys + 1]int32 // children[:n+1]; all 0 for a leaf (index 0 holds no node)
}

func (n *node) leaf() bool { return n.children[0] == 0 }

// insertAt puts key at i, and child (if not 0) right of it at i+1.
func (n *node) insertAt(i int, key, child int32) {
	copy(n.keys[i+1:n.n+1], n.keys[i:n.n])
	n.keys[i] = key
	if child != 0 {
		copy(n.children[i+2:n.n+2], n.children[i+1:n.n+1])
		n.children[i+1] = child
	}
	n.n++
}

// split returns the halves of full node c and the median key between them.
func (c *node) split() (left, right node, median int32) {
	const mid = maxKeys / 2
	left.n, right.n = mid, maxKeys-mid-1
	copy(left.keys[:], c.keys[:mid])
	copy(right.keys[:], c.keys[mid+1:])
	copy(left.children[:], c.children[:mid+1])
	copy(right.children[:], c.children[mid+1:])
	return left, right, c.keys[mid]
}

// key32 is key as a node holds it.
func key32(key int) int32 {
	k := int32(key)
	if int(k) != key {
		panic(fmt.Sprintf("btree: key %d does not fit in an int32", key))
	}
	return k
}

type header struct {
	root int32 // the root's index in the node table
	size int   // naive tree only
}

// Tree is a B-tree of distinct ints (each within int32).
type Tree struct {
	fixed bool
	hdr   *stm.Var[header]
	sizes []*stm.Var[int] // fixed tree only
	nodes table
}

// New returns an empty tree; fixed selects the version without the header
// conflict.
func New(fixed bool) *Tree {
	t := &Tree{fixed: fixed}
	t.hdr = stm.NewVar(header{root: t.nodes.add(node{})})
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
	k := key32(key)
	h := t.hdr.Load(tx) // naive: every insert reads the header
	grew := false
	v := t.nodes.at(h.root)
	r := v.Load(tx)
	if r.n == maxKeys {
		// Grow at the top: the old root's Var keeps its left half, and a
		// new root holds the median between the two halves.
		left, right, median := r.split()
		v.Store(tx, left)
		r = node{n: 1}
		r.keys[0] = median
		r.children[0], r.children[1] = h.root, t.nodes.add(right)
		h.root = t.nodes.add(r)
		v = t.nodes.at(h.root)
		grew = true
	}
	inserted := t.insertNonFull(tx, v, r, k)
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
func (t *Tree) insertNonFull(tx *stm.Tx, v *stm.Var[node], n node, key int32) bool {
	for {
		i, found := slices.BinarySearch(n.keys[:n.n], key)
		if found {
			return false
		}
		if n.leaf() {
			n.insertAt(i, key, 0)
			v.Store(tx, n)
			return true
		}
		cv := t.nodes.at(n.children[i])
		c := cv.Load(tx)
		if c.n == maxKeys {
			left, right, median := c.split()
			cv.Store(tx, left)
			ri := t.nodes.add(right)
			n.insertAt(i, median, ri)
			v.Store(tx, n)
			switch {
			case key == median:
				return false
			case key > median:
				cv, c = t.nodes.at(ri), right
			default:
				c = left
			}
		}
		v, n = cv, c
	}
}

// table is a tree's node Vars by index (from 1), in chunks that never
// move, so that a transaction looks a node up while others add nodes. A
// node added by an attempt that does not commit is never referred to.
type table struct {
	next   atomic.Int32 // the last index handed out
	chunks [maxChunks]atomic.Pointer[[chunkSize]atomic.Pointer[stm.Var[node]]]
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	maxChunks = 1 << 12 // 4 M nodes: over 12 M keys
)

// add stores n in a new Var and returns its index.
func (t *table) add(n node) int32 {
	i := t.next.Add(1)
	if i >= chunkSize*maxChunks {
		panic("btree: more nodes than the table holds")
	}
	c := t.chunks[i>>chunkBits].Load()
	if c == nil {
		// A compare-and-swap, not a lock: add runs inside transactions.
		c = new([chunkSize]atomic.Pointer[stm.Var[node]])
		if !t.chunks[i>>chunkBits].CompareAndSwap(nil, c) {
			c = t.chunks[i>>chunkBits].Load()
		}
	}
	c[i&(chunkSize-1)].Store(stm.NewVar(n))
	return i
}

// at returns node i's Var.
func (t *table) at(i int32) *stm.Var[node] {
	return t.chunks[i>>chunkBits].Load()[i&(chunkSize-1)].Load()
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
	var walk func(i int32)
	walk = func(i int32) {
		n := t.nodes.at(i).Peek()
		for j, k := range n.keys[:n.n] {
			if !n.leaf() {
				walk(n.children[j])
			}
			out = append(out, int(k))
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
	var walk func(v int32, lo, hi *int32, depth int, root bool) error
	walk = func(v int32, lo, hi *int32, depth int, root bool) error {
		n := t.nodes.at(v).Peek()
		if n.n > maxKeys || n.n < 0 || (!root && n.n < minDegree-1) {
			return fmt.Errorf("btree: node at depth %d holds %d keys, want %d to %d", depth, n.n, minDegree-1, maxKeys)
		}
		keys := n.keys[:n.n]
		for i, k := range keys {
			if (i > 0 && keys[i-1] >= k) || (lo != nil && k <= *lo) || (hi != nil && k >= *hi) {
				return fmt.Errorf("btree: key %d at depth %d is out of order", k, depth)
			}
		}
		count += int(n.n)
		kids := 0
		for kids < len(n.children) && n.children[kids] != 0 {
			kids++
		}
		for _, c := range n.children[kids:] {
			if c != 0 {
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
		if kids != int(n.n)+1 {
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

// plainTree is the baseline: the same algorithm on the same nodes, kept
// in a slice by the same indexes and changed in place, under one mutex.
type plainTree struct {
	mu    sync.Mutex
	nodes []node // nodes[0] unused, as the STM tree's index 0
	root  int32
	size  int
}

func newPlain() *plainTree { return &plainTree{nodes: make([]node, 2, 64), root: 1} }

// add appends n and returns its index (the slice may move: callers index
// again after it).
func (t *plainTree) add(n node) int32 {
	t.nodes = append(t.nodes, n)
	return int32(len(t.nodes) - 1)
}

func (t *plainTree) insert(key int) bool {
	k := key32(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nodes[t.root].n == maxKeys {
		left, right, median := t.nodes[t.root].split()
		t.nodes[t.root] = left
		r := node{n: 1}
		r.keys[0] = median
		r.children[0], r.children[1] = t.root, t.add(right)
		t.root = t.add(r)
	}
	for ni := t.root; ; {
		n := &t.nodes[ni]
		i, found := slices.BinarySearch(n.keys[:n.n], k)
		if found {
			return false
		}
		if n.leaf() {
			n.insertAt(i, k, 0)
			t.size++
			return true
		}
		ci := n.children[i]
		if t.nodes[ci].n == maxKeys {
			left, right, median := t.nodes[ci].split()
			t.nodes[ci] = left
			ri := t.add(right)
			t.nodes[ni].insertAt(i, median, ri)
			switch {
			case k == median:
				return false
			case k > median:
				ci = ri
			}
		}
		ni = ci
	}
}

func (t *plainTree) keys() []int {
	var out []int
	var walk func(i int32)
	walk = func(i int32) {
		n := &t.nodes[i]
		for j, k := range n.keys[:n.n] {
			if !n.leaf() {
				walk(n.children[j])
			}
			out = append(out, int(k))
		}
		if !n.leaf() {
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
