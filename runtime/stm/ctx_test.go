package stm

import (
	"runtime"
	"testing"
)

// TestContextGivenBack: a P's own context is given back however the
// Atomically call ends (commit, error, panic in the body or in an
// AfterCommit function, runtime.Goexit in the body), cleaned, so the next
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
		{"goexit", func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				Atomically(func(tx *Tx) error { v.Store(tx, 5); runtime.Goexit(); return nil })
			}()
			<-done
		}},
	}
	for _, e := range ends {
		e.call()
		tx := getTx()
		home, clean := tx.home, !tx.active && len(tx.reads) == 0 && len(tx.writes) == 0 && len(tx.after) == 0 && !tx.extra
		putTx(tx)
		if home == 0 || !clean {
			t.Errorf("after %s: next context home=%d clean=%v, want the P's own (home > 0), clean", e.name, home, clean)
		}
	}
	if got := v.Peek(); got != 2 {
		t.Errorf("v=%d, want 2 (only the two commits)", got)
	}
}

var errTest = testError("test")

type testError string

func (e testError) Error() string { return string(e) }
