package stm

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability check: several goroutines run random transactions on
// two Vars (a, b), and porcupine checks that the history of calls and
// results is explained by some sequential order consistent with real time.

type pairState struct{ a, b int }

type pairOp struct {
	kind int // 0 read both, 1 move d from a to b, 2 set a, 3 increment a
	d    int
}

var pairModel = porcupine.Model{
	Init: func() any { return pairState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(pairState), input.(pairOp), output.(pairState)
		switch in.kind {
		case 0:
			return out == s, s
		case 1:
			n := pairState{s.a - in.d, s.b + in.d}
			return out == s, n
		case 2:
			n := pairState{in.d, s.b}
			return out == n, n
		default:
			n := pairState{s.a + 1, s.b}
			return out == n, n
		}
	},
}

func runPairHistory(t *testing.T, newInt func(int) *Var[int], clients, opsEach int) []porcupine.Operation {
	a, b := newInt(0), newInt(0)
	start := time.Now()
	var mu sync.Mutex
	var ops []porcupine.Operation
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for range opsEach {
				in := pairOp{kind: r.IntN(4), d: r.IntN(10)}
				call := time.Since(start).Nanoseconds()
				var out pairState
				err := Atomically(func(tx *Tx) error {
					x, y := a.Load(tx), b.Load(tx)
					switch in.kind {
					case 0, 1:
						out = pairState{x, y}
						if in.kind == 1 {
							a.Store(tx, x-in.d)
							b.Store(tx, y+in.d)
						}
					case 2:
						a.Store(tx, in.d)
						out = pairState{in.d, y}
					case 3:
						a.Store(tx, x+1)
						out = pairState{x + 1, y}
					}
					return nil
				})
				ret := time.Since(start).Nanoseconds()
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ops
}

func TestLinearizable(t *testing.T) { bothReps(t, testLinearizable) }

func testLinearizable(t *testing.T, newInt func(int) *Var[int]) {
	// Four clients with longer histories, then more clients than processors
	// (and so more transaction contexts and clock slots) with shorter ones.
	shapes := [][2]int{{4, 60}, {8, 30}, {12, 20}}
	for round := range 12 {
		shape := shapes[round%len(shapes)]
		ops := runPairHistory(t, newInt, shape[0], shape[1])
		res := porcupine.CheckOperationsTimeout(pairModel, ops, 10*time.Second)
		if res != porcupine.Ok {
			t.Fatalf("round %d: history of %d operations is not linearizable (%v)", round, len(ops), res)
		}
	}
}

// TestLinearizableCheckerRejects makes sure the check above can fail: a
// history where a read returns a value nobody could have seen is rejected.
func TestLinearizableCheckerRejects(t *testing.T) {
	ops := runPairHistory(t, NewVar[int], 2, 30)
	for i := range ops {
		if ops[i].Input.(pairOp).kind == 0 {
			o := ops[i].Output.(pairState)
			ops[i].Output = pairState{o.a + 1000, o.b}
			break
		}
	}
	if res := porcupine.CheckOperationsTimeout(pairModel, ops, 10*time.Second); res != porcupine.Illegal {
		t.Fatalf("tampered history checked as %v, want Illegal", res)
	}
}
