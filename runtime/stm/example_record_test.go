package stm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/runtime/stm"
)

// Recording to a writer, for as long as the program wants (STMLOG=path
// does the same for a whole run): the log is what `stmlog report` reads.
// At the full level every attempt is in it.
func ExampleStartLog() {
	var log bytes.Buffer
	if err := stm.StartLog(&log, stm.WithLevel(stm.LevelFull)); err != nil {
		fmt.Println(err) // recording is on already (STMLOG is set)
		return
	}
	hits := stm.NewNamedVar("hits", 0) // the name the report gives it
	for range 3 {
		stm.Atomically(func(tx *stm.Tx) error { hits.Store(tx, hits.Load(tx)+1); return nil })
	}
	if err := stm.StopLog(); err != nil {
		fmt.Println(err)
		return
	}
	commits, err := countCommits(&log)
	fmt.Println("commits in the log:", commits, err)
	// Output:
	// commits in the log: 3 <nil>
}

// countCommits reads a native log to its end and counts its commits.
func countCommits(r io.Reader) (int, error) {
	lr, err := logformat.NewReader(r, logformat.ReaderOptions{Name: "stm.log"})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		ev, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if ev.Kind == logformat.KindTxCommit {
			n++
		}
	}
}

// ReadStats are the runtime's own counters, kept whether or not anything
// records: differences between two reads say what happened in between.
func ExampleReadStats() {
	v := stm.NewVar(0)
	before := stm.ReadStats()
	stm.Atomically(func(tx *stm.Tx) error { v.Store(tx, 1); return nil })
	stm.Atomically(func(tx *stm.Tx) error { v.Store(tx, 2); return errors.New("no") }) // rolled back
	after := stm.ReadStats()
	fmt.Println("commits:", after.Commits-before.Commits, "aborted by an error:", after.AbortsError-before.AbortsError, "v:", v.Peek())
	// Output:
	// commits: 1 aborted by an error: 1 v: 1
}

// A flight recorder keeps the last MinAge of contention in memory, so that
// a program can write out an incident after it happened (say, when a
// request was slow) as a log `stmlog report` reads.
func ExampleNewFlightRecorder() {
	fr := stm.NewFlightRecorder(stm.FlightRecorderConfig{MinAge: 10 * time.Second})
	if err := fr.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer fr.Stop()
	v := stm.NewVar(0)
	stm.Atomically(func(tx *stm.Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
	// ... later, something was slow:
	var incident bytes.Buffer
	if _, err := fr.WriteTo(&incident); err != nil {
		fmt.Println(err)
		return
	}
	_, err := countCommits(&incident)
	fmt.Println("the incident's log reads:", err == nil)
	// Output:
	// the incident's log reads: true
}
