package stm

import (
	"runtime"
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

// TestContextGivenBack: a P's own context is given back however the
// Atomically call ends (commit, error, panic in the body or in an
// AfterCommit function, runtime.Goexit in the body, a conflict or a Retry
// in the first attempt, Inevitable), cleaned, so the next
// call on that P gets it again rather than one from the pool.
func TestContextGivenBack(t *testing.T) { atLevels(t, testContextGivenBack) }

func testContextGivenBack(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	v := NewVar(0)
	ends := []callEnd{
		{"commit", func() { Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }) }},
		{"error", func() { Atomically(func(tx *Tx) error { v.Store(tx, 5); return errTest }) }},
		{"panic", func() {
			defer func() { recover() }()
			Atomically(func(tx *Tx) error { v.Store(tx, 5); panic("boom") })
		}},
		{"after-commit-panic", func() {
			defer func() { recover() }()
			Atomically(func(tx *Tx) error {
				v.Store(tx, v.Load(tx)+1)
				tx.AfterCommit(func() { panic("boom") })
				return nil
			})
		}},
		{"read-only", func() { Atomically(func(tx *Tx) error { v.Load(tx); return nil }) }},
		{"conflict-then-commit", func() {
			// The first attempt reads v, a nested call commits v, so the
			// first commit fails validation and a second attempt runs.
			first := true
			Atomically(func(tx *Tx) error {
				x := v.Load(tx)
				if first {
					first = false
					Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
				}
				v.Store(tx, x+1)
				return nil
			})
		}},
		{"retry-then-commit", func() {
			first := true
			var other <-chan struct{}
			Atomically(func(tx *Tx) error {
				x := v.Load(tx)
				if first {
					first = false
					other = goCall(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
					return ErrRetry
				}
				v.Store(tx, x+1)
				return nil
			})
			<-other
		}},
		{"inevitable", func() {
			Atomically(func(tx *Tx) error { tx.Inevitable(); v.Store(tx, v.Load(tx)+1); return nil })
		}},
		{"goexit", func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				Atomically(func(tx *Tx) error { v.Store(tx, 5); runtime.Goexit(); return nil })
			}()
			<-done
		}},
	}
	before := runEnds(t, ends)
	// The commits: commit 1, after-commit-panic 1, conflict-then-commit
	// 2, retry-then-commit 2, inevitable 1.
	if got := v.Peek(); got != 7 {
		t.Errorf("v=%d, want 7 (only the commits)", got)
	}
	st := ReadStats()
	if d := st.AbortsConflict - before.AbortsConflict; d != 1 {
		t.Errorf("%d conflict aborts, want 1 (conflict-then-commit)", d)
	}
	if d := st.AbortsRetry - before.AbortsRetry; d != 1 {
		t.Errorf("%d retries, want 1 (retry-then-commit)", d)
	}
	if inevFlag.Load() != 0 {
		t.Error("the inevitability token is still held")
	}
}

// callEnd is one way a call of Atomically can end.
type callEnd struct {
	name string
	call func()
}

// goCall runs Atomically(fn) on a new goroutine; the channel is closed
// once the call has returned. The tests wait for it before the next call:
// a later goroutine may get the exited one's runtime descriptor, and with
// it its recording thread (recthread.go), and the race detector does not
// see the runtime's hand-over of the descriptor as ordering the two.
func goCall(fn func(*Tx) error) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Atomically(fn)
	}()
	return done
}

// atLevels runs test with recording off, then at the profile and the
// full level: a call's first attempt runs under Atomically's defer in all
// three (the plain call, the counted call, runFull), so each must end
// every way a call can end as the plain call does, and the recorded logs
// must pass checkAttempts.
func atLevels(t *testing.T, test func(t *testing.T)) {
	t.Run("off", test)
	for _, level := range []Level{LevelProfile, LevelFull} {
		t.Run(level.String(), func(t *testing.T) {
			evs, _ := readLog(t, recordAt(t, level, func() { test(t) }))
			starts := checkAttempts(t, evs)
			if level == LevelFull && starts == 0 {
				t.Error("no attempt in the full-level log")
			}
		})
	}
}

// checkAttempts checks that a log holds, on each thread, a commit or an
// abort after each start and before the next, none open at the end, and
// conflicts and inevitability inside attempts; it returns the starts.
func checkAttempts(t *testing.T, evs []logformat.Event) int {
	t.Helper()
	open := map[uint32]bool{}
	starts := 0
	for i, ev := range evs {
		switch ev.Kind {
		case logformat.KindTxStart:
			if open[ev.Thread] {
				t.Fatalf("event %d: thread %d starts an attempt with one open", i, ev.Thread)
			}
			open[ev.Thread] = true
			starts++
		case logformat.KindTxCommit, logformat.KindTxAbort:
			if !open[ev.Thread] {
				t.Fatalf("event %d: thread %d ends an attempt it did not start (%v)", i, ev.Thread, ev.Kind)
			}
			open[ev.Thread] = false
		case logformat.KindConflict, logformat.KindBecomeInevitable:
			// Met inside an attempt: its start is written first
			// (runFull's start waits for the attempt's first event).
			if !open[ev.Thread] {
				t.Fatalf("event %d: thread %d logs a %v outside an attempt", i, ev.Thread, ev.Kind)
			}
		}
	}
	for th, o := range open {
		if o {
			t.Errorf("thread %d: an attempt with no commit or abort", th)
		}
	}
	return starts
}

// runEnds runs each of ends and checks that the next call then gets the
// P's first context back (the tests run on one P), clean: not active, no
// reads, writes, after-commit functions, abort count or extra state left.
// It returns the statistics from before the first.
func runEnds(t *testing.T, ends []callEnd) Stats {
	t.Helper()
	own := getTx()
	putTx(own)
	before := ReadStats()
	for _, e := range ends {
		e.call()
		tx := getTx()
		clean := tx.state&stActive == 0 && len(tx.reads) == 0 && len(tx.writes) == 0 && len(tx.after) == 0 && !tx.extra && tx.aborts == 0
		// A recorded call gives its thread back: not held, not busy
		// with a logged call, tx.rec cleared.
		th := tx.lastGThread
		held := tx.rec != nil || th != nil && (th.held || th.busy.Load()&busyLogged != 0)
		putTx(tx)
		if tx != own || !clean || held {
			t.Errorf("after %s: next context the P's first=%v clean=%v thread held=%v, want the P's first, clean, not held", e.name, tx == own, clean, held)
		}
	}
	return before
}

var errTest = testError("test")

type testError string

func (e testError) Error() string { return string(e) }

// TestFirstAttemptUnwound: a plain call's first attempt runs in
// Atomically's own frame, so a body that unwinds there (an abort signal
// from a stale Load, tx.Retry) has the rest of the call run by
// Atomically's deferred function, on top of the unwound body. Whatever the
// later attempt then does (commit, return an error, panic, tx.Retry,
// runtime.Goexit), the call ends as it would have, the writes of the
// attempts that did not commit are gone, and the P's context comes back
// clean. A Retry that panics for an empty read set inside the after-body
// steps (finish) is caught by the same deferred function.
func TestFirstAttemptUnwound(t *testing.T) { atLevels(t, testFirstAttemptUnwound) }

func testFirstAttemptUnwound(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	a, b, v := NewVar(0), NewVar(0), NewVar(0)
	// staleFirst makes the first attempt's second Load find b written
	// after its snapshot and a changed since its Load: the attempt aborts
	// at that Load, by the abort signal. It reports whether the body got
	// past the Load (it must not, the first time).
	staleFirst := func(tx *Tx, first *bool) (past bool) {
		x := a.Load(tx)
		if *first {
			*first = false
			Atomically(func(tx *Tx) error { a.Store(tx, a.Load(tx)+1); b.Store(tx, b.Load(tx)+1); return nil })
		}
		_ = b.Load(tx)
		_ = x
		return true
	}
	var pastOnFirst bool
	check := func(first bool, past bool) {
		if past && first {
			pastOnFirst = true
		}
	}
	ends := []callEnd{
		{"abort-then-commit", func() {
			first := true
			Atomically(func(tx *Tx) error {
				f := first
				check(f, staleFirst(tx, &first))
				v.Store(tx, v.Load(tx)+1)
				return nil
			})
		}},
		{"abort-then-error", func() {
			first := true
			if err := Atomically(func(tx *Tx) error {
				v.Store(tx, 100)
				f := first
				check(f, staleFirst(tx, &first))
				return errTest
			}); err != errTest {
				t.Errorf("abort-then-error: Atomically returned %v, want %v", err, errTest)
			}
		}},
		{"abort-then-panic", func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("abort-then-panic: recovered %v, want boom", r)
				}
			}()
			first := true
			Atomically(func(tx *Tx) error {
				v.Store(tx, 100)
				f := first
				check(f, staleFirst(tx, &first))
				panic("boom")
			})
		}},
		{"abort-then-goexit", func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				first := true
				Atomically(func(tx *Tx) error {
					v.Store(tx, 100)
					f := first
					check(f, staleFirst(tx, &first))
					runtime.Goexit()
					return nil
				})
				t.Error("abort-then-goexit: Atomically returned")
			}()
			<-done
		}},
		{"retry-signal-then-commit", func() {
			first := true
			var other <-chan struct{}
			Atomically(func(tx *Tx) error {
				x := v.Load(tx)
				if first {
					first = false
					other = goCall(func(tx *Tx) error { a.Store(tx, a.Load(tx)+1); v.Store(tx, v.Load(tx)+1); return nil })
					tx.Retry()
				}
				v.Store(tx, x+1)
				return nil
			})
			<-other
		}},
		{"abort-then-retry-signal", func() {
			first, second := true, true
			var other <-chan struct{}
			Atomically(func(tx *Tx) error {
				f := first
				check(f, staleFirst(tx, &first))
				x := v.Load(tx)
				if second {
					second = false
					other = goCall(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
					tx.Retry()
				}
				v.Store(tx, x+1)
				return nil
			})
			<-other
		}},
		{"errretry-nothing-read", func() {
			defer func() {
				if r := recover(); r == nil {
					t.Error("errretry-nothing-read: no panic")
				}
			}()
			Atomically(func(tx *Tx) error { v.Store(tx, 100); return ErrRetry })
		}},
	}
	before := runEnds(t, ends)
	if pastOnFirst {
		t.Error("a first attempt went on past the Load that found its snapshot stale")
	}
	// v's commits: abort-then-commit 1, retry-signal-then-commit 2 (the
	// other goroutine's and the re-run's), abort-then-retry-signal 2.
	if got := v.Peek(); got != 5 {
		t.Errorf("v=%d, want 5 (only the commits)", got)
	}
	st := ReadStats()
	// Conflict aborts: the stale first attempts of abort-then-commit,
	// -error, -panic, -goexit and -retry-signal.
	if d := st.AbortsConflict - before.AbortsConflict; d != 5 {
		t.Errorf("%d conflict aborts, want 5", d)
	}
	if d := st.AbortsRetry - before.AbortsRetry; d != 2 {
		t.Errorf("%d retries, want 2 (retry-signal-then-commit, abort-then-retry-signal)", d)
	}
	if inevFlag.Load() != 0 {
		t.Error("the inevitability token is still held")
	}
}
