package astar

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stmlog/stmlog/examples/internal/benchmode"
	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// parse reads a map drawn with '#' for walls, 'S' and 'G' for start and goal.
func parse(t *testing.T, s string) (Grid, Point, Point) {
	t.Helper()
	var g Grid
	var start, goal Point
	for y, line := range strings.Split(strings.TrimSpace(s), "\n") {
		line = strings.TrimSpace(line)
		row := make([]uint8, len(line))
		for x, c := range line {
			switch c {
			case '#':
				row[x] = wall
			case 'S':
				start = Point{x, y}
			case 'G':
				goal = Point{x, y}
			}
		}
		g = append(g, row)
	}
	if len(g) != len(g[0]) {
		t.Fatalf("map is %dx%d, want square", len(g[0]), len(g))
	}
	return g, start, goal
}

func TestSearch(t *testing.T) {
	tests := []struct {
		name  string
		grid  string
		steps int // -1: no path
	}{
		{"straight", `
			S..G
			....
			....
			....`, 3},
		{"around a wall", `
			S#G
			.#.
			...`, 6},
		{"maze, the long way", `
			S.#...
			#.#.#.
			..#.#.
			.##.#.
			....#G
			######`, 19},
		{"shortcut through a door", `
			S.#...
			#.#.#.
			..#.#.
			.##.#.
			......
			####.G`, 12},
		{"walled in", `
			S#..
			##..
			....
			...G`, -1},
		{"start is goal", `
			G...
			....
			....
			....`, 0},
		{"goal is a wall", `
			S...
			....
			....
			...#`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, start, goal := parse(t, tt.grid)
			if tt.name == "start is goal" {
				start = goal
			}
			if tt.name == "goal is a wall" {
				goal = Point{3, 3}
			}
			path := search(start, goal, len(g), g.Free)
			steps := len(path) - 1
			if path == nil {
				steps = -1
			}
			if steps != tt.steps {
				t.Fatalf("path of %d steps %v, want %d", steps, path, tt.steps)
			}
			if err := CheckPath(g, start, goal, path); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCheckPathRejects(t *testing.T) {
	g, start, goal := parse(t, `
		S#G
		.#.
		...`)
	good := []Point{{0, 0}, {0, 1}, {0, 2}, {1, 2}, {2, 2}, {2, 1}, {2, 0}}
	if err := CheckPath(g, start, goal, good); err != nil {
		t.Fatalf("good path: %v", err)
	}
	tests := []struct {
		name string
		path []Point
	}{
		{"through a wall", []Point{{0, 0}, {1, 0}, {2, 0}}},
		{"jumps", []Point{{0, 0}, {0, 2}, {1, 2}, {2, 2}, {2, 1}, {2, 0}}},
		{"wrong start", good[1:]},
		{"wrong end", good[:6]},
		{"not shortest", []Point{{0, 0}, {0, 1}, {0, 2}, {0, 1}, {0, 2}, {1, 2}, {2, 2}, {2, 1}, {2, 0}}},
		{"none though there is one", nil},
	}
	for _, tt := range tests {
		if err := CheckPath(g, start, goal, tt.path); err == nil {
			t.Errorf("%s: CheckPath accepted %v", tt.name, tt.path)
		}
	}
}

func TestBuildAndErase(t *testing.T) {
	gm := NewGame(16, 3)
	var pl Point
	var built, erased, again, onPlayer bool
	err := stm.Atomically(func(tx *stm.Tx) error {
		pl = gm.players[0].Load(tx)
		onPlayer = gm.Build(tx, pl)
		target := Point{(pl.X + 1) % 16, pl.Y}
		for _, p := range gm.players {
			if p.Load(tx) == target {
				target.Y = (target.Y + 1) % 16
			}
		}
		gm.Erase(tx, target)
		built = gm.Build(tx, target)
		again = gm.Build(tx, target)
		erased = gm.Erase(tx, target)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if onPlayer || !built || again || !erased {
		t.Errorf("build on player %v, build %v, build again %v, erase %v; want false, true, false, true", onPlayer, built, again, erased)
	}
}

// TestConcurrentRequests runs the request mix on 4 workers and checks every
// move's path against what its search saw, and the players at the end.
func TestConcurrentRequests(t *testing.T) {
	for _, workers := range []int{1, 4} {
		gm := NewGame(24, 5)
		rng := rand.New(rand.NewPCG(7, 8))
		var mu sync.Mutex
		var moved []Moved
		q := stm.NewQueue()
		for range 800 {
			op := NextOp(rng, 24)
			q.Add(func(tx *stm.Tx) error {
				m := gm.Do(tx, op)
				if op.Kind == OpMove {
					tx.AfterCommit(func() {
						mu.Lock()
						moved = append(moved, m)
						mu.Unlock()
					})
				}
				return nil
			})
		}
		// Audit concurrently: no snapshot may show a player on a wall.
		stop := make(chan struct{})
		audit := make(chan error, 1)
		go func() {
			for {
				select {
				case <-stop:
					audit <- nil
					return
				default:
				}
				if err := stm.Atomically(gm.CheckPlayers); err != nil {
					audit <- err
					return
				}
			}
		}()
		if err := q.Run(workers); err != nil {
			t.Fatal(err)
		}
		close(stop)
		if err := <-audit; err != nil {
			t.Errorf("%d workers: %v", workers, err)
		}
		found := 0
		for _, m := range moved {
			if err := m.Check(); err != nil {
				t.Fatalf("%d workers: %v", workers, err)
			}
			if m.Path != nil {
				found++
			}
		}
		if len(moved) < 600 || found < len(moved)/2 {
			t.Errorf("%d workers: %d moves, %d with a path: the mix or the map is off", workers, len(moved), found)
		}
	}
}

func TestRun(t *testing.T) {
	for _, baseline := range []bool{false, true} {
		res, err := Run(context.Background(), workload.Config{Workers: 2, Duration: 50 * time.Millisecond, Size: 24, Baseline: baseline})
		if err != nil {
			t.Fatalf("baseline=%v: %v", baseline, err)
		}
		if res.Ops == 0 || res.Ops%opsPerRound != 0 {
			t.Errorf("baseline=%v: %d requests", baseline, res.Ops)
		}
	}
}

// BenchmarkRequests: one op is one batch of 256 requests of the mix on a
// 48x48 map.
func BenchmarkRequests(b *testing.B) {
	for _, m := range benchmode.Modes {
		for _, w := range benchmode.Workers {
			b.Run(fmt.Sprintf("%s/workers=%d", m.Name, w), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				gm, lg := NewGame(DefaultSize, 1), newLocked(DefaultSize, 1)
				m.Start(b)
				var attempts workload.Counter
				cpu := benchmode.StartCPU()
				for b.Loop() {
					ops := make([]Op, opsPerRound)
					for i := range ops {
						ops[i] = NextOp(rng, DefaultSize)
					}
					if m.STM {
						q := stm.NewQueue()
						for _, op := range ops {
							q.Add(func(tx *stm.Tx) error { attempts.Inc(); gm.Do(tx, op); return nil })
						}
						if err := q.Run(w); err != nil {
							b.Fatal(err)
						}
					} else {
						lg.doAll(ops, w)
					}
				}
				cpu.Report(b)
				b.ReportMetric(float64(b.N*opsPerRound)/b.Elapsed().Seconds(), "req/s")
				if m.STM {
					b.ReportMetric(float64(attempts.Load())/float64(b.N*opsPerRound), "attempts/tx")
				}
			})
		}
	}
}

// TestWallDensityStaysPut plays many rounds single-threaded and checks that
// the share of walls stays near the starting fifth, so that long runs and
// benchmarks measure the same map as short ones.
func TestWallDensityStaysPut(t *testing.T) {
	gm := NewGame(32, 4)
	rng := rand.New(rand.NewPCG(3, 3))
	density := func() float64 {
		var g Grid
		stm.Atomically(func(tx *stm.Tx) error { g, _ = gm.Show(tx); return nil })
		walls := 0
		for _, r := range g {
			for _, c := range r {
				if c == wall {
					walls++
				}
			}
		}
		return float64(walls) / float64(32*32)
	}
	for round := range 5 {
		for range 4000 {
			op := NextOp(rng, 32)
			stm.Atomically(func(tx *stm.Tx) error { gm.Do(tx, op); return nil })
		}
		if d := density(); d < 0.12 || d > 0.30 {
			t.Fatalf("after %d requests %.0f%% of the cells are walls, want about 20%%", (round+1)*4000, 100*d)
		}
	}
}
