// Package astar is the seed's second Tornado benchmark: players move on a
// shared grid map, build and erase walls, and ask for shortest paths found
// by A* search, every request one transaction. There are no locks around the
// map: as in Tornado, each request runs as if alone.
//
// The map is one stm.Var per row (a row is an immutable []uint8, copied on
// write) and one Var per player position. A search reads the rows it
// explores; a wall built in one of them invalidates the search, which runs
// again: the write-read conflicts of this workload are between the row Load
// in the search and the row Store in Build. The request mix is what the
// seed's bench_astar.py meant (mostly moves, some wall building and erasing,
// a few map views; a commenter noticed its actual mix was off).
//
// The baseline guards the same map with a sync.RWMutex: searches under the
// read lock, then the move re-checked and applied under the write lock.
package astar

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// DefaultSize is the side of the square map.
const DefaultSize = 48

const (
	free uint8 = 0
	wall uint8 = 1
)

// Players is the number of players on the map.
const Players = 8

// Steps is how far a player moves along its path per move request.
const Steps = 4

// Point is a cell of the map.
type Point struct{ X, Y int }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func dist(a, b Point) int { return abs(a.X-b.X) + abs(a.Y-b.Y) }

// Grid is a read-only view of the map's cells, row by row.
type Grid [][]uint8

func (g Grid) inside(p Point) bool { return p.Y >= 0 && p.Y < len(g) && p.X >= 0 && p.X < len(g[p.Y]) }

// Free reports whether p is on the map and not a wall.
func (g Grid) Free(p Point) bool { return g.inside(p) && g[p.Y][p.X] == free }

var dirs = [4]Point{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}

// search finds a shortest path from start to goal with A* (Manhattan
// heuristic, 4 neighbours); cell reads a cell. The path includes both ends;
// nil means there is none.
func search(start, goal Point, size int, freeAt func(Point) bool) []Point {
	if !freeAt(goal) {
		return nil
	}
	idx := func(p Point) int { return p.Y*size + p.X }
	g := make([]int32, size*size)
	from := make([]int32, size*size)
	for i := range g {
		g[i] = -1
	}
	g[idx(start)] = 0
	from[idx(start)] = -1
	open := &pq{{p: start, f: dist(start, goal)}}
	for open.Len() > 0 {
		cur := heap.Pop(open).(item)
		if cur.p == goal {
			var path []Point
			for i := int32(idx(goal)); i >= 0; i = from[i] {
				path = append(path, Point{int(i) % size, int(i) / size})
			}
			for l, r := 0, len(path)-1; l < r; l, r = l+1, r-1 {
				path[l], path[r] = path[r], path[l]
			}
			return path
		}
		cg := g[idx(cur.p)]
		if cur.f-dist(cur.p, goal) > int(cg) {
			continue // stale heap entry
		}
		for _, d := range dirs {
			n := Point{cur.p.X + d.X, cur.p.Y + d.Y}
			if n.X < 0 || n.Y < 0 || n.X >= size || n.Y >= size || !freeAt(n) {
				continue
			}
			if ng := g[idx(n)]; ng < 0 || cg+1 < ng {
				g[idx(n)] = cg + 1
				from[idx(n)] = int32(idx(cur.p))
				heap.Push(open, item{p: n, f: int(cg) + 1 + dist(n, goal)})
			}
		}
	}
	return nil
}

type item struct {
	p Point
	f int
}

// pq orders by f, then by point, so searches are deterministic.
type pq []item

func (q pq) Len() int { return len(q) }
func (q pq) Less(i, j int) bool {
	if q[i].f != q[j].f {
		return q[i].f < q[j].f
	}
	if q[i].p.Y != q[j].p.Y {
		return q[i].p.Y < q[j].p.Y
	}
	return q[i].p.X < q[j].p.X
}
func (q pq) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pq) Push(x any)   { *q = append(*q, x.(item)) }
func (q *pq) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// Game is the shared map and the players on it.
type Game struct {
	size    int
	rows    []*stm.Var[[]uint8]
	players []*stm.Var[Point]
}

// NewGame returns a size x size map with about a fifth of the cells walls
// (deterministic from seed) and Players players on free cells.
func NewGame(size int, seed uint64) *Game {
	grid, pos := newMap(size, seed)
	gm := &Game{size: size}
	for _, r := range grid {
		gm.rows = append(gm.rows, stm.NewVar(r))
	}
	for _, p := range pos {
		gm.players = append(gm.players, stm.NewVar(p))
	}
	return gm
}

func newMap(size int, seed uint64) (Grid, []Point) {
	rng := rand.New(rand.NewPCG(seed, 13))
	grid := make(Grid, size)
	for y := range grid {
		grid[y] = make([]uint8, size)
		for x := range grid[y] {
			if rng.IntN(5) == 0 {
				grid[y][x] = wall
			}
		}
	}
	pos := make([]Point, Players)
	for i := range pos {
		for {
			p := Point{rng.IntN(size), rng.IntN(size)}
			if grid.Free(p) {
				pos[i] = p
				break
			}
		}
	}
	return grid, pos
}

// Size returns the side of the map.
func (gm *Game) Size() int { return gm.size }

// rowsOf loads rows on demand, each at most once per transaction, so a
// search's read set is the rows it looked at.
type rowsOf struct {
	tx   *stm.Tx
	gm   *Game
	rows Grid
}

func (r *rowsOf) row(y int) []uint8 {
	if r.rows[y] == nil {
		r.rows[y] = r.gm.rows[y].Load(r.tx) // a search reads the rows it explores
	}
	return r.rows[y]
}

func (r *rowsOf) free(p Point) bool { return r.row(p.Y)[p.X] == free }

// Moved is what a move request saw and did.
type Moved struct {
	From, Goal Point
	Path       []Point // nil if Goal cannot be reached
	Seen       Grid    // the rows the search loaded, nil where it did not look
}

// Check verifies the move's path against the rows its search saw (see
// CheckPath).
func (m Moved) Check() error { return CheckPath(m.Seen, m.From, m.Goal, m.Path) }

// Move is the main request: find a shortest path from the player's position
// to goal and move the player up to Steps cells along it.
func (gm *Game) Move(tx *stm.Tx, player int, goal Point) Moved {
	r := &rowsOf{tx: tx, gm: gm, rows: make(Grid, gm.size)}
	from := gm.players[player].Load(tx)
	path := search(from, goal, gm.size, r.free)
	if len(path) > 1 {
		gm.players[player].Store(tx, path[min(Steps, len(path)-1)])
	}
	return Moved{From: from, Goal: goal, Path: path, Seen: r.rows}
}

// Build puts a wall at p unless p is a wall already or a player stands
// there; it reports whether it built.
func (gm *Game) Build(tx *stm.Tx, p Point) bool {
	row := gm.rows[p.Y].Load(tx)
	if row[p.X] == wall {
		return false
	}
	for _, pl := range gm.players {
		if pl.Load(tx) == p {
			return false
		}
	}
	nr := append([]uint8(nil), row...)
	nr[p.X] = wall
	gm.rows[p.Y].Store(tx, nr) // building a wall rewrites its row
	return true
}

// Erase removes the wall at p, if any.
func (gm *Game) Erase(tx *stm.Tx, p Point) bool {
	row := gm.rows[p.Y].Load(tx)
	if row[p.X] != wall {
		return false
	}
	nr := append([]uint8(nil), row...)
	nr[p.X] = free
	gm.rows[p.Y].Store(tx, nr)
	return true
}

// Show reads the whole map and the players, as the seed's "show map"
// request did.
func (gm *Game) Show(tx *stm.Tx) (Grid, []Point) {
	g := make(Grid, gm.size)
	for y, r := range gm.rows {
		g[y] = r.Load(tx)
	}
	pos := make([]Point, len(gm.players))
	for i, p := range gm.players {
		pos[i] = p.Load(tx)
	}
	return g, pos
}

// CheckPlayers verifies, within tx, that no player stands on a wall.
func (gm *Game) CheckPlayers(tx *stm.Tx) error {
	g, pos := gm.Show(tx)
	for i, p := range pos {
		if !g.Free(p) {
			return fmt.Errorf("astar: player %d stands on a wall at %v", i, p)
		}
	}
	return nil
}

// Op is one request of the mix.
type Op struct {
	Kind   OpKind
	Player int
	At     Point // goal of a move, place of a wall
}

// OpKind says what a request does.
type OpKind uint8

const (
	OpMove OpKind = iota
	OpBuild
	OpErase
	OpShow
)

// NextOp draws a request: 85% moves, 3% walls built, 11% erased, 1% map
// views. Building succeeds on free cells and erasing on walls, so these
// rates hold the wall density near 3/(3+11), about the starting fifth:
// the map stays the same kind of map however long a run or a benchmark
// lasts (with equal rates it would drift to half walls, and the cost of a
// search with it).
func NextOp(rng *rand.Rand, size int) Op {
	op := Op{Player: rng.IntN(Players), At: Point{rng.IntN(size), rng.IntN(size)}}
	switch r := rng.IntN(100); {
	case r < 85:
		op.Kind = OpMove
	case r < 88:
		op.Kind = OpBuild
	case r < 99:
		op.Kind = OpErase
	default:
		op.Kind = OpShow
	}
	return op
}

// Do runs op within tx; for a move it also returns what the move saw.
func (gm *Game) Do(tx *stm.Tx, op Op) Moved {
	switch op.Kind {
	case OpMove:
		return gm.Move(tx, op.Player, op.At)
	case OpBuild:
		gm.Build(tx, op.At)
	case OpErase:
		gm.Erase(tx, op.At)
	case OpShow:
		gm.Show(tx)
	}
	return Moved{}
}

// lockedGame is the baseline.
type lockedGame struct {
	mu   sync.RWMutex
	grid Grid
	pos  []Point
}

func newLocked(size int, seed uint64) *lockedGame {
	grid, pos := newMap(size, seed)
	return &lockedGame{grid: grid, pos: pos}
}

// doAll runs ops on workers goroutines, each taking the next op from one
// channel, and waits for them: the baseline's round (Run and the
// benchmark).
func (lg *lockedGame) doAll(ops []Op, workers int) {
	workload.Fan(workers, 0, ops, lg.do)
}

func (lg *lockedGame) do(op Op) {
	size := len(lg.grid)
	switch op.Kind {
	case OpMove:
		for {
			lg.mu.RLock()
			from := lg.pos[op.Player]
			path := search(from, op.At, size, lg.grid.Free)
			lg.mu.RUnlock()
			if len(path) < 2 {
				return
			}
			to := path[min(Steps, len(path)-1)]
			lg.mu.Lock()
			ok := lg.pos[op.Player] == from
			for _, p := range path[:min(Steps, len(path)-1)+1] {
				ok = ok && lg.grid.Free(p)
			}
			if ok {
				lg.pos[op.Player] = to
			}
			lg.mu.Unlock()
			if ok {
				return
			}
			// The map changed between search and move: search again.
		}
	case OpBuild, OpErase:
		lg.mu.Lock()
		defer lg.mu.Unlock()
		p := op.At
		if op.Kind == OpErase {
			lg.grid[p.Y][p.X] = free
			return
		}
		for _, pl := range lg.pos {
			if pl == p {
				return
			}
		}
		lg.grid[p.Y][p.X] = wall
	case OpShow:
		lg.mu.RLock()
		n := 0
		for _, r := range lg.grid {
			n += len(r)
		}
		_ = n
		lg.mu.RUnlock()
	}
}

// checkEvery: Run checks one move in checkEvery.
const checkEvery = 8

// opsPerRound is how many requests one queue run takes, as one batch of the
// seed's IO loop.
const opsPerRound = 256

// Run plays for cfg.Duration: rounds of opsPerRound random requests run as
// transactions by a stm.Queue of cfg.Workers (or, for the baseline, by
// goroutines on the locked map). After every round it checks that no player
// stands on a wall and that sampled paths are shortest paths in the map their
// search saw. Ops counts requests.
func Run(ctx context.Context, cfg workload.Config) (workload.Result, error) {
	cfg = cfg.Normalize(DefaultSize)
	rng := rand.New(rand.NewPCG(1, 2))
	var attempts workload.Counter
	var gm *Game
	var lg *lockedGame
	if cfg.Baseline {
		lg = newLocked(cfg.Size, 1)
	} else {
		gm = NewGame(cfg.Size, 1)
	}
	var paths int64
	rounds, elapsed, err := workload.Repeat(ctx, cfg.Duration, func() error {
		ops := make([]Op, opsPerRound)
		for i := range ops {
			ops[i] = NextOp(rng, cfg.Size)
		}
		if cfg.Baseline {
			lg.doAll(ops, cfg.Workers)
			lg.mu.RLock()
			defer lg.mu.RUnlock()
			for i, p := range lg.pos {
				if !lg.grid.Free(p) {
					return fmt.Errorf("astar: baseline player %d stands on a wall at %v", i, p)
				}
			}
			return nil
		}
		// Keep every checkEvery-th move to check after the round, so that
		// checking does not weigh on what is measured; the tests check all.
		moves := make([]Moved, len(ops))
		// Naive: one queue, so any worker may move any player, and two
		// workers moving one player conflict on its Var. Fixed: the work
		// is partitioned, a queue per worker, a player's moves always in
		// the same one, so each worker writes its own players' Vars.
		queues := make([]*stm.Queue, 1)
		if cfg.Fixed {
			queues = make([]*stm.Queue, cfg.Workers)
		}
		for i := range queues {
			queues[i] = stm.NewQueue()
		}
		for i, op := range ops {
			part := 0
			if cfg.Fixed {
				part = op.Player % len(queues)
				if op.Kind != OpMove {
					part = i % len(queues)
				}
			}
			queues[part].Add(func(tx *stm.Tx) error {
				attempts.Inc()
				m := gm.Do(tx, op)
				if op.Kind == OpMove && i%checkEvery == 0 {
					tx.AfterCommit(func() { moves[i] = m })
				}
				return nil
			})
		}
		if !cfg.Fixed {
			if err := queues[0].Run(cfg.Workers); err != nil {
				return err
			}
		} else {
			errs := make([]error, len(queues))
			var wg sync.WaitGroup
			for i, q := range queues {
				wg.Go(func() { errs[i] = q.Run(1) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return err
			}
		}
		for i, m := range moves {
			if ops[i].Kind == OpMove && i%checkEvery == 0 {
				if err := m.Check(); err != nil {
					return err
				}
				paths++
			}
		}
		return stm.Atomically(gm.CheckPlayers)
	})
	res := workload.Result{
		Ops:      int64(rounds * opsPerRound),
		Unit:     "requests",
		Elapsed:  elapsed,
		Attempts: attempts.Load(),
		Check:    "no player on a wall after any round",
	}
	if !cfg.Baseline {
		res.Txs = res.Ops
		res.Check = fmt.Sprintf("%d sampled paths shortest in the map their search saw; %s", paths, res.Check)
	}
	return res, err
}

// CheckPath verifies a search result against the rows the search saw:
// a path must run from start to goal through free, adjacent cells and be as
// short as a breadth-first search finds; no path means breadth-first search
// finds none either. Rows the search did not load count as unknown: the
// breadth-first search does not enter them, which is right because A* with
// an admissible heuristic explores every cell a shorter path would need.
func CheckPath(seen Grid, start, goal Point, path []Point) error {
	size := len(seen)
	freeAt := func(p Point) bool {
		return p.Y >= 0 && p.Y < size && seen[p.Y] != nil && p.X >= 0 && p.X < len(seen[p.Y]) && seen[p.Y][p.X] == free
	}
	want := bfs(start, goal, size, freeAt)
	if path == nil {
		if want >= 0 {
			return fmt.Errorf("astar: no path from %v to %v found, breadth-first search finds one of %d steps", start, goal, want)
		}
		return nil
	}
	if path[0] != start || path[len(path)-1] != goal {
		return fmt.Errorf("astar: path runs from %v to %v, want %v to %v", path[0], path[len(path)-1], start, goal)
	}
	for i, p := range path {
		if !freeAt(p) {
			return fmt.Errorf("astar: path step %d at %v is not a free cell", i, p)
		}
		if i > 0 && dist(path[i-1], p) != 1 {
			return fmt.Errorf("astar: path jumps from %v to %v", path[i-1], p)
		}
	}
	if len(path)-1 != want {
		return fmt.Errorf("astar: path of %d steps from %v to %v, shortest is %d", len(path)-1, start, goal, want)
	}
	return nil
}

// bfs returns the length of a shortest path, or -1.
func bfs(start, goal Point, size int, freeAt func(Point) bool) int {
	if !freeAt(goal) {
		return -1
	}
	d := map[Point]int{start: 0}
	queue := []Point{start}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == goal {
			return d[p]
		}
		for _, dd := range dirs {
			n := Point{p.X + dd.X, p.Y + dd.Y}
			if _, ok := d[n]; !ok && freeAt(n) {
				d[n] = d[p] + 1
				queue = append(queue, n)
			}
		}
	}
	return -1
}
