// Package helpers is called from transaction bodies in package a: its
// effects reach them through facts.
package helpers

import (
	"fmt"
	"os"

	"github.com/stmlog/stmlog/runtime/stm"
)

func Log(msg string) { // want Log:`effects\(io:fmt.Println\)`
	write(msg)
}

func write(msg string) { // want write:`effects\(io:fmt.Println\)`
	fmt.Println(msg)
}

func Pure(x int) int { return x * 2 }

// Sure makes the transaction inevitable before writing, so neither it nor
// what its caller does after it repeats.
func Sure(tx *stm.Tx) { // want Sure:`effects\(inevitable\)`
	tx.Inevitable()
	fmt.Fprintln(os.Stderr, "once")
}
