package a

import (
	"bytes"
	"fmt"
	"log"
	"math/rand"
	"os"
	"strings"
	"sync"
	"time"

	"helpers"

	"github.com/stmlog/stmlog/runtime/stm"
)

var (
	counter = stm.NewVar(0)
	global  []int
	saved   *stm.Tx
	mu      sync.Mutex
)

func io() { // want io:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		n := counter.Load(tx)
		fmt.Println(n)                // want `fmt.Println in a transaction body: it runs again each time the transaction re-runs`
		log.Printf("n=%d", n)         // want `log.Printf in a transaction body`
		os.WriteFile("x", nil, 0o644) // want `os.WriteFile in a transaction body`
		counter.Store(tx, n+1)
		return nil
	})
}

func clockAndRand() { // want clockAndRand:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		t := time.Now()                             // want `time.Now in a transaction body: each re-run reads`
		time.Sleep(time.Millisecond)                // want `time.Sleep in a transaction body`
		counter.Store(tx, rand.Intn(10)+t.Second()) // want `rand.Intn in a transaction body: the global source`
		r := rand.New(rand.NewSource(1))
		counter.Store(tx, r.Intn(10)) // a local generator is fine
		return nil
	})
}

func concurrency(ch chan int) { // want concurrency:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		ch <- 1        // want `channel send in a transaction body`
		<-ch           // want `channel receive in a transaction body`
		go func() {}() // want `go statement in a transaction body`
		mu.Lock()      // want `sync.Mutex.Lock in a transaction body`
		mu.Unlock()    // want `sync.Mutex.Unlock in a transaction body`
		select {       // want `select statement in a transaction body`
		case v := <-ch:
			_ = v
		default:
		}
		return nil
	})
}

func viaCalls(q *stm.Queue) {
	q.Add(func(tx *stm.Tx) error {
		counter.Store(tx, helpers.Pure(counter.Load(tx)))
		helpers.Log("hi") // want `fmt.Println in a transaction body, via helpers.Log → helpers.write \(helpers.go:\d+\)`
		local(tx)         // want `time.Now in a transaction body, via a.local \(a.go:\d+\)`
		return nil
	})
}

func local(tx *stm.Tx) { // want local:`effects\(clock:time.Now\)`
	counter.Store(tx, time.Now().Second())
}

// Silent: every effect comes after the transaction became inevitable.
func afterInevitable() { // want afterInevitable:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		n := counter.Load(tx)
		tx.Inevitable()
		fmt.Println(n)
		os.Stdout.WriteString("done\n")
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		helpers.Sure(tx)
		fmt.Println("after a helper that made it inevitable")
		return nil
	})
}

// Silent: formatting is not I/O, local appends are repeated on a fresh
// slice, AfterCommit functions run once, after the commit.
func pure() { // want pure:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		var buf bytes.Buffer
		var sb strings.Builder
		fmt.Fprintf(&buf, "%d", counter.Load(tx))
		fmt.Fprintf(&sb, "%d", counter.Load(tx))
		s := fmt.Sprintf("%d", counter.Load(tx))
		var xs []int
		xs = append(xs, len(s))
		n := 0
		n += len(xs)
		n++
		counter.Store(tx, n)
		tx.AfterCommit(func() {
			fmt.Println(s)
			global = append(global, n)
		})
		return nil
	})
}

func captured() { // want captured:`effects\(nested:stm.Atomically\)`
	var xs []int
	total := 0
	stm.Atomically(func(tx *stm.Tx) error {
		n := counter.Load(tx)
		xs = append(xs, n)         // want `append to xs, captured from outside the transaction body: it is repeated on every re-run`
		global = append(global, n) // want `append to global, captured`
		total += n                 // want `total \+= on total, captured`
		total++                    // want `total\+\+ on total, captured`
		return nil
	})
}

func retries() { // want retries:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		tx.Retry() // want `tx.Retry\(\) with no Load before it`
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		return stm.ErrRetry // want `stm.ErrRetry with no Load before it`
	})
	// Silent: something was read, so a change of it wakes the transaction.
	stm.Atomically(func(tx *stm.Tx) error {
		if counter.Load(tx) == 0 {
			return stm.ErrRetry
		}
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		if readsSomething(tx) {
			tx.Retry()
		}
		return nil
	})
}

func readsSomething(tx *stm.Tx) bool { return counter.Load(tx) > 0 }

func misuse(ch chan *stm.Tx) { // want misuse:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		stm.Atomically(func(tx2 *stm.Tx) error { return nil }) // want `stm.Atomically in a transaction body: the inner transaction commits on its own`
		_ = counter.Peek()                                     // want `Peek in a transaction body: Peek reads outside the transaction`
		defer func() {
			if r := recover(); r != nil { // want `recover\(\) in a transaction body`
				panic(r)
			}
		}()
		return nil
	})
}

func escapes(ch chan *stm.Tx) { // want escapes:`effects\(nested:stm.Atomically\)`
	var keep *stm.Tx
	stm.Atomically(func(tx *stm.Tx) error {
		saved = tx                          // want `the \*stm.Tx is stored in saved, which outlives the body`
		keep = tx                           // want `the \*stm.Tx is stored in keep`
		ch <- tx                            // want `channel send in a transaction body` `the \*stm.Tx is sent on a channel`
		get := func() *stm.Tx { return tx } // want `the \*stm.Tx is returned from a closure`
		_ = get
		tx.AfterCommit(func() {
			counter.Store(tx, 1) // want `the \*stm.Tx is used in an AfterCommit function`
		})
		mine := tx // a local copy is fine
		_ = mine
		return nil
	})
	_ = keep
}

func needless() { // want needless:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		start := func() time.Time { tx.Inevitable(); return time.Now() }() // want `tx.Inevitable\(\) only to read the clock \(time.Now at a.go:\d+\)`
		counter.Store(tx, start.Second())
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		tx.Inevitable() // want `tx.Inevitable\(\) with no side effect after it`
		counter.Store(tx, len(strings.Repeat("x", 3)))
		return nil
	})
}

// A body passed by name is checked too, and so is one a helper returns.
func named(q *stm.Queue) { // want named:`effects\(nested:stm.Atomically\)`
	stm.Atomically(body)
	q.Add(makeBody(3))
}

func body(tx *stm.Tx) error { // want body:`effects\(io:fmt.Print\)`
	fmt.Print("x") // want `fmt.Print in a transaction body`
	return nil
}

func makeBody(n int) func(*stm.Tx) error {
	return func(tx *stm.Tx) error {
		println(n) // want `println in a transaction body`
		return nil
	}
}

// Queue.AddN's function takes the index after the *stm.Tx: a body all
// the same, passed as a literal or by name.
func batches(q *stm.Queue, keys []int) { // want batches:`effects\(nested:stm.Atomically\)`
	q.AddN(len(keys), func(tx *stm.Tx, i int) error {
		counter.Store(tx, keys[i])
		fmt.Println(i) // want `fmt.Println in a transaction body`
		saved = tx     // want `the \*stm.Tx is stored in saved, which outlives the body`
		return nil
	})
	q.AddN(2, func(tx *stm.Tx, i int) error {
		return stm.ErrRetry // want `stm.ErrRetry with no Load before it`
	})
	q.AddN(3, batchBody)
	stm.Atomically(func(tx *stm.Tx) error {
		// Queued from a body: its function is a body of its own, whose
		// effects are reported once, not as the outer body's.
		q.AddN(1, func(tx *stm.Tx, i int) error {
			fmt.Println(i) // want `fmt.Println in a transaction body`
			return nil
		})
		return nil
	})
}

func batchBody(tx *stm.Tx, i int) error { // want batchBody:`effects\(io:fmt.Print\)`
	fmt.Print(i) // want `fmt.Print in a transaction body`
	return nil
}

func selects() error { // want selects:`effects\(nested:stm.Atomically\)`
	return stm.Atomically(stm.Select(
		func(tx *stm.Tx) error {
			if counter.Load(tx) == 0 {
				return stm.ErrRetry
			}
			return nil
		},
		func(tx *stm.Tx) error {
			time.Sleep(0) // want `time.Sleep in a transaction body`
			return nil
		},
	))
}

func ignored() { // want ignored:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		fmt.Println("a") //stmvet:ignore the user knows
		//stmvet:ignore
		fmt.Println("b")
		return nil
	})
}

// Not a body: effects outside transactions are nobody's business here.
func notABody() { // want notABody:`effects\(io:fmt.Println, clock:time.Sleep\)`
	fmt.Println("hello")
	time.Sleep(0)
}
