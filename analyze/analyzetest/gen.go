// Package analyzetest generates deterministic native logs for tests and
// benchmarks of the analyzer, the reports and the CLI.
//
// The logs look like a small bank program recorded by runtime/stm: a few
// threads run transfer transactions that sometimes meet write-write and
// write-read conflicts (and abort, then back off), sometimes wait for an
// inevitable transaction, and sometimes retry. Everything comes from a seeded
// PRNG, so a given Config always yields the same bytes, which golden files
// rely on.
package analyzetest

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/stmlog/stmlog/logformat"
)

// Config describes a generated log.
type Config struct {
	Threads int    // default 4
	Tx      int    // committed transactions per thread; default 100
	Seed    uint64 // PRNG seed
	// Start is the time of the first event (the writer's epoch is arbitrary).
	Start int64
	// NoClose leaves the log without its end marker (as after a crash).
	NoClose bool
	// Dropped, when > 0, records that many dropped events.
	Dropped int64
	// FlushEvery, when > 0, flushes the writer after every that many
	// rounds (a transaction of each thread), so that the log's chunks
	// are cut as a recording's periodic flushes cut them; else each
	// thread's events are in one chunk (or as many as fill).
	FlushEvery int
}

// File is the source file named by the generated stacks (see Sites); tests
// that want source lines put a copy of it under a source root.
const File = "/home/build/go/src/example.com/bank/bank.go"

// Source is the content of File that the sites' line numbers point into.
const Source = `package bank

import "github.com/stmlog/stmlog/runtime/stm"

type Bank struct{ accounts []*stm.Var[int64]; audit *stm.Var[int64] }

func (b *Bank) Transfer(from, to int, n int64) error {
	return stm.Atomically(func(tx *stm.Tx) error {
		f := b.accounts[from].Load(tx)
		b.accounts[from].Store(tx, f-n)
		b.accounts[to].Store(tx, b.accounts[to].Load(tx)+n)
		b.audit.Store(tx, b.audit.Load(tx)+1)
		return nil
	})
}

func (b *Bank) Audit() (sum int64) {
	stm.Atomically(func(tx *stm.Tx) error {
		tx.Inevitable()
		for _, a := range b.accounts {
			sum += a.Load(tx)
		}
		return nil
	})
	return sum
}
`

// site lines in Source.
var sites = []logformat.Stack{
	{Frames: []logformat.Frame{{Func: "example.com/bank.(*Bank).Transfer.func1", File: File, Line: 10},
		{Func: "example.com/bank.(*Bank).Transfer", File: File, Line: 8}}}, // from.Store
	{Frames: []logformat.Frame{{Func: "example.com/bank.(*Bank).Transfer.func1", File: File, Line: 11},
		{Func: "example.com/bank.(*Bank).Transfer", File: File, Line: 8}}}, // to.Store
	{Frames: []logformat.Frame{{Func: "example.com/bank.(*Bank).Transfer.func1", File: File, Line: 12},
		{Func: "example.com/bank.(*Bank).Transfer", File: File, Line: 8}}}, // audit.Store
	{Frames: []logformat.Frame{{Func: "example.com/bank.(*Bank).Transfer.func1", File: File, Line: 9},
		{Func: "example.com/bank.(*Bank).Transfer", File: File, Line: 8}}}, // from.Load
	{Frames: []logformat.Frame{{Func: "example.com/bank.(*Bank).Audit.func1", File: File, Line: 19},
		{Func: "example.com/bank.(*Bank).Audit", File: File, Line: 18}}}, // tx.Inevitable
}

// Generate writes a log for cfg to w and returns the number of events.
func Generate(w io.Writer, cfg Config) (int64, error) {
	if cfg.Threads <= 0 {
		cfg.Threads = 4
	}
	if cfg.Tx <= 0 {
		cfg.Tx = 100
	}
	lw, err := logformat.NewWriter(w)
	if err != nil {
		return 0, err
	}
	ids := make([]logformat.StackID, len(sites))
	for i, s := range sites {
		ids[i] = lw.Stack(s)
	}
	lw.NameVar(1, "audit")
	lw.NameVar(2, "accounts[0]")
	lw.NameVar(3, "accounts[1]")

	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	now := make([]int64, cfg.Threads+1)
	for i := range now {
		now[i] = cfg.Start
	}
	var n int64
	var werr error
	emit := func(ev logformat.Event) {
		if werr == nil {
			werr = lw.Write(&ev)
			n++
		}
	}
	const us = 1000
	for round := range cfg.Tx {
		if cfg.FlushEvery > 0 && round > 0 && round%cfg.FlushEvery == 0 && werr == nil {
			werr = lw.Flush()
		}
		for th := 1; th <= cfg.Threads; th++ {
			tid := uint32(th)
			other := uint32(th%cfg.Threads + 1)
			t := now[th]
			for {
				emit(logformat.Event{Time: t, Kind: logformat.KindTxStart, Thread: tid})
				run := int64(20*us + r.IntN(30*us))
				p := r.IntN(100)
				switch {
				case p < 12: // write-write on audit, aborted, then a backoff
					emit(logformat.Event{Time: t + run/2, Kind: logformat.KindConflict, Thread: tid, Conflict: logformat.ConflictWriteWrite,
						Var: 1, OtherThread: other, Site: ids[2], OtherSite: ids[2]})
					t += run
					emit(logformat.Event{Time: t, Kind: logformat.KindTxAbort, Thread: tid, Cause: logformat.AbortConflict})
					emit(logformat.Event{Time: t, Kind: logformat.KindWaitStart, Thread: tid, Reason: logformat.WaitBackoff})
					t += int64(2*us + r.IntN(3*us))
					emit(logformat.Event{Time: t, Kind: logformat.KindWaitDone, Thread: tid, Reason: logformat.WaitBackoff})
					t += us
					continue
				case p < 20: // write-read: read account 0, another transfer wrote it
					emit(logformat.Event{Time: t + run/3, Kind: logformat.KindConflict, Thread: tid, Conflict: logformat.ConflictWriteRead,
						Var: 2, OtherThread: other, Site: ids[3], OtherSite: ids[0]})
					t += run / 2
					emit(logformat.Event{Time: t, Kind: logformat.KindTxAbort, Thread: tid, Cause: logformat.AbortConflict})
					t += us
					continue
				case p < 25: // wait for the auditor's inevitable transaction
					emit(logformat.Event{Time: t + run/4, Kind: logformat.KindConflict, Thread: tid, Conflict: logformat.ConflictInevitable,
						OtherThread: other, Site: ids[1], OtherSite: ids[4]})
					emit(logformat.Event{Time: t + run/4, Kind: logformat.KindWaitStart, Thread: tid, Reason: logformat.WaitInevitable})
					wait := int64(50*us + r.IntN(100*us))
					emit(logformat.Event{Time: t + run/4 + wait, Kind: logformat.KindWaitDone, Thread: tid, Reason: logformat.WaitInevitable})
					t += run + wait
				case p < 27 && th == 1: // the auditor itself
					emit(logformat.Event{Time: t + us, Kind: logformat.KindBecomeInevitable, Thread: tid, Site: ids[4]})
					t += run
				default:
					t += run
				}
				emit(logformat.Event{Time: t, Kind: logformat.KindTxCommit, Thread: tid})
				t += int64(1*us + r.IntN(4*us))
				break
			}
			now[th] = t
		}
	}
	if werr != nil {
		return n, fmt.Errorf("analyzetest: %w", werr)
	}
	if cfg.Dropped > 0 {
		lw.Dropped(cfg.Dropped)
	}
	if cfg.NoClose {
		return n, lw.Flush()
	}
	return n, lw.Close()
}
