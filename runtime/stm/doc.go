// Package stm is a software transactional memory for Go, built so that its
// conflicts can be recorded and explained (see cmd/stmlog).
//
//	balance := stm.NewVar(100)
//	err := stm.Atomically(func(tx *stm.Tx) error {
//		b := balance.Load(tx)
//		if b < 10 {
//			return ErrInsufficient // writes discarded, error returned as is
//		}
//		balance.Store(tx, b-10)
//		return nil
//	})
//
// # Guarantees
//
// Transactions are serializable, and opaque: a body never sees an
// inconsistent snapshot, not even in an attempt that is going to abort, so
// invariants that hold between Vars hold inside every body. A conflicting
// attempt is abandoned at the Load that detects it (the body is unwound
// with an internal panic; do not recover it) and run again. Inevitable
// makes a transaction irrevocable, for I/O. A body that returns ErrRetry
// waits for a change of a Var read so far, then runs again (tx.Retry does
// the same from anywhere inside the body, by unwinding it with a panic);
// Select composes alternatives (orElse). Queue runs many functions as
// transactions on several goroutines, PyPy's TransactionQueue.
//
// # How it works
//
// It is TL2 with snapshot extension (LSA), with one change: versions come
// from per-context commit counters instead of one global clock, so commits
// on different cores share no cache line (clock.go says why that stays
// opaque). Each Var holds a pointer to an immutable box: its committed value
// plus the version that wrote it (and, when recording, who wrote it and
// where). The box pointer doubles as the Var's lock: a committing
// transaction swaps in its new box marked "locked" and publishes it by
// storing its commit version into it. A Load reads the box pointer and the
// version atomically: a locked box makes it wait (commits are short), a
// version newer than the transaction's snapshot makes it try to extend the
// snapshot (check that every box read so far is still current), and abort
// if some read has changed since. Stores are buffered in the transaction,
// one new box per written Var (its only allocation). A commit locks the
// written Vars in id order, takes a version from its own counter,
// re-validates the reads, and publishes. Readers never lock and never
// allocate, and everything is race-detector clean: values are only ever
// read from boxes reached by atomic loads and never written again.
//
// A Var whose T holds no pointers and is at most 64 bytes (an int, a
// float, a small struct of numbers) keeps one box for life instead, and a
// commit writes the value into it word by word (inplace.go): the box's
// version word is the lock, a reader copies the words between two loads
// of the version and uses them only if it did not change, and validation
// compares versions. Its pending writes live in the transaction's own
// buffer, so writing such Vars allocates nothing. Every word is accessed
// atomically, so this too is race-detector clean, and opaque as boxes are:
// a version names one commit and is never reused.
//
// The fast path executes no locked instruction besides a commit's own
// compare-and-swaps (one per written Var): a transaction's context (its
// read and write sets and its commit clock) is the one of the processor it
// starts on, taken and given back with plain loads and stores (ctx.go),
// and statistics are counters only their context writes. A read-only
// transaction writes nothing outside its own context.
//
// Because a box records the version, writer and write site of the value it
// holds, a transaction that finds a read stale can say exactly which Var,
// which kind of conflict (write-read, or write-write when it wrote the Var
// too), which thread committed it and where, at no cost to the fast path.
//
// Inevitability is a token: while a transaction holds it, a flag is set
// and other transactions that write wait at commit (they check the flag
// once they hold their locks, so either the holder sees their locks or
// they see the flag), so nothing the inevitable transaction read can
// change and it never aborts. Read-only transactions are not held up. The token is handed over in FIFO
// order (a releasing holder gives it straight to the longest waiter), and
// a release first lets through the committers that waited for it, so
// neither askers nor plain writers starve while others keep asking.
//
// Contention management: after each conflict abort an attempt backs off a
// little more (randomized yields, then short sleeps); after 12 aborts the
// next attempt runs inevitable from its start, so every transaction
// eventually commits.
//
// Retry registers the transaction on a waiter list of each Var it read and
// blocks; commits wake the waiters of the Vars they write, nobody else. The
// first waiters of a Var sit in compare-and-swap slots, so a hand-off
// never sleeps on a lock.
//
// # Recording
//
// With STMLOG=path in the environment (%p is replaced by the process id),
// or between StartLog and StopLog, the runtime writes a log that
// cmd/stmlog analyzes (format: package logformat). It has two levels, as
// Go has pprof profiles and execution traces:
//
//   - LevelProfile, the default: every conflict with both sides' call
//     stacks, every abort, pause and inevitable transaction, with exact
//     times, except that the Retry waits of a call that met nothing else
//     are counted per goroutine with their exact total times, not logged
//     one by one (a waiting consumer is not contention, and logging each
//     cost a hand-off more than the hand-off itself); a transaction that
//     meets none of these is counted, not logged,
//     and one in 64 of them (at random) is timed, so that committed time is
//     estimated with a known error (logformat.Aggregate); a goroutine of
//     few or long transactions has each of them timed.
//   - LevelFull (STMLOG_EVENTS=all, or StartLog(w, WithLevel(LevelFull))):
//     every attempt's start, commit and abort too, which timelines and
//     what-if replay need.
//
// At both levels the first conflict on a Var names no write site for the
// side that wrote it before the Var was known to be contended: a Store
// captures its stack only for a Var that has been in a conflict, unless a
// full-level recording is asked for every site (STMLOG_SITES=all, or
// StartLog's WithEverySite), which costs a stack lookup a Store. Nor, at
// either level, does the first conflict with a goroutine that nobody
// conflicted with in the last second or so: a goroutine's Stores capture
// their sites only while others conflict with it (its own side of a
// write-write conflict is taken from the re-run's Store), and a Load's
// site is taken from the re-run of the transaction it conflicted in. A Store
// finds its site by its innermost frames and their place on the stack,
// checked against the whole stack at one Store in 32 (at random): where
// one function at one depth is reached through two callers with frames of
// one size, its Stores may name the other caller's stack until a check
// finds the two, after about 32 of them.
//
// StartLog(w, options) is the one way to record programmatically, to any
// io.Writer, at either level. STMLOG is read at start-up; the file is
// created by the first transaction. Buffered events reach the file every
// 10 ms, so a program that exits without StopLog loses at most about the
// last 20 ms; while STMLOG records, SIGINT and SIGTERM complete the log and
// then take their default effect (signals.go has the rule for programs
// that handle them themselves; STMLOG_SIGNALS=0 leaves them alone). Off,
// recording costs one atomic load per transaction (measured against a
// build without it: the stmlog_norecord tag). Threads in the log are
// goroutines. See record.go and recthread.go for threads, sites and
// buffering, recprofile.go for the profile level's counting and sampling.
//
// # Live profiles, flight recorder, execution traces
//
// A Tap streams the recorded conflicts, aborts and pauses to the program
// itself (package runtime/stm/stmhttp serves pprof profiles of a window of
// them over HTTP); a FlightRecorder keeps the last seconds of them in
// memory and writes them as a log on demand. Both work whether or not the
// program records: without STMLOG or StartLog they run an in-memory
// recording of their own while they are open. TraceTransactions (or
// STMTRACE=1) makes transactions regions and conflicts logs of Go's
// execution tracer, for `go tool trace`. See tap.go, flight.go and
// trace.go.
//
// # Rules for bodies
//
// A body may run several times: until it calls Inevitable it must have no
// effects besides Loads and Stores (and AfterCommit, which runs once, after
// the commit). A *Tx must not escape its body or be used by another
// goroutine. Do not call Atomically inside a body: the inner transaction is
// separate, and if the outer one is inevitable and the inner one writes,
// they wait for each other forever.
package stm
