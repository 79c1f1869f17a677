package stm

import (
	"runtime"
	"testing"
)

// TestContextGivenBack: a P's own context is given back however the
// Atomically call ends (commit, error, panic in the body or in an
// AfterCommit function, runtime.Goexit in the body, a conflict or a Retry
// in the first attempt, Inevitable), cleaned, so the next
// call on that P gets it again rather than one from the pool.
func TestContextGivenBack(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	v := NewVar(0)
	ends := []struct {
		name string
		call func()
	}{
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
			Atomically(func(tx *Tx) error {
				x := v.Load(tx)
				if first {
					first = false
					go Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
					return ErrRetry
				}
				v.Store(tx, x+1)
				return nil
			})
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
	before := ReadStats()
	for _, e := range ends {
		e.call()
		tx := getTx()
		home, clean := tx.home, tx.state&stActive == 0 && len(tx.reads) == 0 && len(tx.writes) == 0 && len(tx.after) == 0 && !tx.extra
		putTx(tx)
		if home == nil || !clean {
			t.Errorf("after %s: next context pooled=%v clean=%v, want the P's own, clean", e.name, home == nil, clean)
		}
	}
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
	if inevFlag.Load() {
		t.Error("the inevitability token is still held")
	}
}

var errTest = testError("test")

type testError string

func (e testError) Error() string { return string(e) }
