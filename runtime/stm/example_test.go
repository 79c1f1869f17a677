package stm_test

import (
	"errors"
	"fmt"
	"sync"

	"github.com/stmlog/stmlog/runtime/stm"
)

var errInsufficient = errors.New("insufficient funds")

// A transfer between two accounts: both Stores become visible together or
// not at all, and a body that returns an error leaves nothing behind.
func ExampleAtomically() {
	from, to := stm.NewVar(100), stm.NewVar(0)
	transfer := func(amount int) error {
		return stm.Atomically(func(tx *stm.Tx) error {
			f := from.Load(tx)
			if f < amount {
				return errInsufficient // writes discarded, error returned as is
			}
			from.Store(tx, f-amount)
			to.Store(tx, to.Load(tx)+amount)
			return nil
		})
	}
	fmt.Println(transfer(30), from.Peek(), to.Peek())
	fmt.Println(transfer(500), from.Peek(), to.Peek())
	// Output:
	// <nil> 70 30
	// insufficient funds 70 30
}

// A consumer waits for an item by returning ErrRetry: the attempt is
// dropped and the body runs again once a Var it read (here items) has
// changed.
func ExampleErrRetry() {
	items := stm.NewVar([]string(nil))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2 {
			var got string
			stm.Atomically(func(tx *stm.Tx) error {
				q := items.Load(tx)
				if len(q) == 0 {
					return stm.ErrRetry // block until items changes
				}
				got = q[0]
				items.Store(tx, q[1:])
				return nil
			})
			fmt.Println("took", got)
		}
	}()
	for _, s := range []string{"apple", "pear"} {
		stm.Atomically(func(tx *stm.Tx) error {
			q := items.Load(tx)
			items.Store(tx, append(q[:len(q):len(q)], s)) // a new array: values are immutable
			return nil
		})
	}
	<-done
	// Output:
	// took apple
	// took pear
}

// Retry does the same as returning ErrRetry, from anywhere inside the body
// (it unwinds with a panic): here from a helper that returns a value.
func ExampleTx_Retry() {
	balance := stm.NewVar(0)
	withdraw := func(tx *stm.Tx, n int) int {
		b := balance.Load(tx)
		if b < n {
			tx.Retry() // wait for a deposit
		}
		balance.Store(tx, b-n)
		return b - n
	}
	left := make(chan int)
	go func() {
		var l int
		stm.Atomically(func(tx *stm.Tx) error { l = withdraw(tx, 50); return nil })
		left <- l
	}()
	for range 3 {
		stm.Atomically(func(tx *stm.Tx) error { balance.Store(tx, balance.Load(tx)+20); return nil })
	}
	fmt.Println("left after withdrawing 50:", <-left)
	// Output:
	// left after withdrawing 50: 10
}

// Select takes from whichever of two queues has an item, preferring the
// first; if both are empty, the transaction waits for either.
func ExampleSelect() {
	urgent, normal := stm.NewVar([]int(nil)), stm.NewVar([]int{1, 2})
	take := func(q *stm.Var[[]int], got *int) func(*stm.Tx) error {
		return func(tx *stm.Tx) error {
			s := q.Load(tx)
			if len(s) == 0 {
				return stm.ErrRetry // try the next alternative
			}
			*got = s[0]
			q.Store(tx, s[1:])
			return nil
		}
	}
	var got int
	stm.Atomically(stm.Select(take(urgent, &got), take(normal, &got)))
	fmt.Println("got", got)
	stm.Atomically(func(tx *stm.Tx) error { urgent.Store(tx, []int{99}); return nil })
	stm.Atomically(stm.Select(take(urgent, &got), take(normal, &got)))
	fmt.Println("got", got)
	// Output:
	// got 1
	// got 99
}

// Inevitable lets a body do I/O: from there on the attempt cannot abort,
// so the line is printed exactly once, with the values it committed.
func ExampleTx_Inevitable() {
	next := stm.NewVar(1)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stm.Atomically(func(tx *stm.Tx) error {
				n := next.Load(tx)
				next.Store(tx, n+1)
				if n == 3 {
					tx.Inevitable()
					fmt.Println("ticket 3 issued")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	fmt.Println("next ticket:", next.Peek())
	// Output:
	// ticket 3 issued
	// next ticket: 4
}

// AfterCommit runs its function once, after the commit, however often the
// body ran: the place for effects that need the transaction to have
// happened (notifying someone, logging).
func ExampleTx_AfterCommit() {
	stock := stm.NewVar(2)
	for range 3 {
		stm.Atomically(func(tx *stm.Tx) error {
			n := stock.Load(tx)
			if n == 0 {
				tx.AfterCommit(func() { fmt.Println("sold out") }) // discarded: the body fails
				return errors.New("no stock")
			}
			stock.Store(tx, n-1)
			tx.AfterCommit(func() { fmt.Println("sold one,", n-1, "left") })
			return nil
		})
	}
	// Output:
	// sold one, 1 left
	// sold one, 0 left
}

// A Queue runs functions as transactions on several goroutines, as if one
// at a time; a function can queue more work, which is added only if its
// transaction commits.
func ExampleQueue() {
	total := stm.NewVar(0)
	q := stm.NewQueue()
	var add func(n int) func(*stm.Tx) error
	add = func(n int) func(*stm.Tx) error {
		return func(tx *stm.Tx) error {
			total.Store(tx, total.Load(tx)+n)
			if n > 1 {
				q.Add(add(n - 1)) // queued when this transaction commits
			}
			return nil
		}
	}
	for range 4 {
		q.Add(add(10))
	}
	if err := q.Run(2); err != nil {
		fmt.Println(err)
	}
	fmt.Println("total:", total.Peek()) // 4 * (10+9+...+1)
	// Output:
	// total: 220
}
