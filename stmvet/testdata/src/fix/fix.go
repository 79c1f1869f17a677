package fix

import (
	"fmt"
	"log"

	"github.com/stmlog/stmlog/runtime/stm"
)

var counter = stm.NewVar(0)

func trailing() { // want trailing:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		n := counter.Load(tx) + 1
		counter.Store(tx, n)
		fmt.Println("stored", n) // want `fmt.Println in a transaction body`
		log.Print("done")        // want `log.Print in a transaction body`
		return nil
	})
}

// Not mechanical: a statement follows that is not a call, so moving the
// print would change what it sees; no fix is offered.
func middle() { // want middle:`effects\(nested:stm.Atomically\)`
	stm.Atomically(func(tx *stm.Tx) error {
		n := counter.Load(tx)
		fmt.Println("loaded", n) // want `fmt.Println in a transaction body`
		n++
		counter.Store(tx, n)
		return nil
	})
}
