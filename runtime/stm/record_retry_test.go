package stm

import (
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

// turnHit is one side of a ping-pong on turn: when turn is me, set it to
// next, else wait for a change (a Retry by ErrRetry, or by tx.Retry() if
// panicking).
func turnHit(turn *Var[int], me, next int, panicking bool) func(tx *Tx) error {
	return func(tx *Tx) error {
		if turn.Load(tx) != me {
			if panicking {
				tx.Retry()
			}
			return ErrRetry
		}
		turn.Store(tx, next)
		return nil
	}
}

// TestRecordRetryWaits: a ping-pong's Retry waits are in the log at both
// levels, as events at the full level and counted in aggregate records at
// the profile level (quietRetry), and either way the log's Retry aborts
// and pauses are the runtime's; the events that are logged still pair up
// (every start ends in a commit or an abort).
func TestRecordRetryWaits(t *testing.T) {
	for _, level := range []Level{LevelFull, LevelProfile} {
		t.Run(level.String(), func(t *testing.T) {
			turn := NewVar(0)
			hit := func(me, next int, panicking bool) func(tx *Tx) error {
				return turnHit(turn, me, next, panicking)
			}
			const rounds = 2000
			before := ReadStats()
			data := recordAt(t, level, func() {
				done := make(chan struct{})
				go func() {
					defer close(done)
					for range rounds {
						Atomically(hit(1, 0, true))
					}
				}()
				for range rounds {
					Atomically(hit(0, 1, false))
				}
				<-done
			})
			after := ReadStats()
			evs, aggs, r := readLogAggs(t, data)
			if r.Stats().Dropped != 0 {
				t.Fatalf("%d events dropped", r.Stats().Dropped)
			}
			var commits, starts, aborts, retries, pauses, quiet uint64
			var pausedNs int64
			for i, ev := range evs {
				switch ev.Kind {
				case logformat.KindAggregate:
					a := aggs[i]
					commits += a.Commits
					quiet += a.RetryWaits
					pausedNs += a.RetryPausedNs
				case logformat.KindTxStart:
					starts++
				case logformat.KindTxCommit:
					commits++
				case logformat.KindTxAbort:
					aborts++
					if ev.Cause == logformat.AbortRetry {
						retries++
					}
				case logformat.KindWaitStart:
					if ev.Reason == logformat.WaitRetry {
						pauses++
					}
				}
			}
			wantRetries := after.AbortsRetry - before.AbortsRetry
			if commits != after.Commits-before.Commits || retries+quiet != wantRetries || pauses+quiet != wantRetries {
				t.Fatalf("log: %d commits, %d + %d Retry aborts, %d + %d Retry pauses; runtime: %d commits, %d Retry aborts",
					commits, retries, quiet, pauses, quiet, after.Commits-before.Commits, wantRetries)
			}
			if logged := commits - aggCommits(aggs); starts != logged+aborts {
				t.Fatalf("%d starts for %d logged commits + %d aborts", starts, logged, aborts)
			}
			t.Logf("%d Retry waits: %d logged, %d counted (%d ns paused)", wantRetries, retries, quiet, pausedNs)
			if wantRetries == 0 {
				t.Fatal("no Retry waits: the test proves nothing")
			}
			switch {
			case level == LevelFull && quiet != 0:
				t.Fatalf("full level: %d Retry waits counted, not logged", quiet)
			case level == LevelProfile && (quiet == 0 || pausedNs <= 0):
				t.Fatalf("profile level: %d Retry waits counted (%d ns paused), %d logged", quiet, pausedNs, retries)
			}
		})
	}
}
