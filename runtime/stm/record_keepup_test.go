package stm

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

// TestFullLevelKeepsUp: at the full level on one processor, a goroutine
// that runs small transactions in a loop without blocking hands a buffer
// over every few hundred calls; unless it yields to the flusher, the
// queue fills long before preemption lets the flusher run, and events are
// dropped (before the full level yielded, 500k calls lost ~80 % of their events).
func TestFullLevelKeepsUp(t *testing.T) {
	if !recorderBuilt {
		t.Skip("built with stmlog_norecord")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var buf bytes.Buffer
	if err := StartLog(&buf, WithLevel(LevelFull)); err != nil {
		t.Fatal(err)
	}
	const n = 500_000
	v := NewVar(1)
	for i := 0; i < n; i++ {
		Atomically(func(tx *Tx) error { _ = v.Load(tx); return nil })
	}
	if err := StopLog(); err != nil {
		t.Fatal(err)
	}
	r, err := logformat.NewReader(&buf, logformat.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var starts, commits int
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case logformat.KindTxStart:
			starts++
		case logformat.KindTxCommit:
			commits++
		}
	}
	if d := r.Stats().Dropped; d != 0 || starts != n || commits != n {
		t.Errorf("%d starts, %d commits of %d calls, %d events dropped", starts, commits, n, d)
	}
}

// TestNudgePendingKick: a nudge that finds a kick already pending (a full
// buffer's hand-over sent it) still moves flushedAt, so that the calls
// after it do not each try again until the flusher runs.
func TestNudgePendingKick(t *testing.T) {
	r := &recorder{kick: make(chan struct{}, 1)}
	r.due.Store(100)
	r.kick <- struct{}{}
	r.nudgeFlusher(1000)
	if got := r.flushedAt.Load(); got != 1000 {
		t.Fatalf("flushedAt %d after a nudge at 1000", got)
	}
	<-r.kick
	r.nudgeFlusher(1050) // within due of the last nudge: no kick
	select {
	case <-r.kick:
		t.Fatal("kicked again within due of the last nudge")
	default:
	}
	r.nudgeFlusher(1200)
	select {
	case <-r.kick:
	default:
		t.Fatal("no kick past due")
	}
}

// TestFullPendingStartNoRoom: a full-level call whose thread's buffer has
// no room for its quiet entry (one that grew past its hand-over size
// while a site patch held the hand-over back) writes the start, still
// pending at the commit, through emitAt before the commit: every call's
// start and commit in the log, in order, with the buffer left at no room
// before each call.
func TestFullPendingStartNoRoom(t *testing.T) {
	if !recorderBuilt {
		t.Skip("built with stmlog_norecord")
	}
	if curg() == 0 {
		t.Skip("no goroutine identity here: calls do not take runFull")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var buf bytes.Buffer
	if err := StartLog(&buf, WithLevel(LevelFull)); err != nil {
		t.Fatal(err)
	}
	v := NewVar(1)
	read := func(tx *Tx) error { _ = v.Load(tx); return nil }
	Atomically(read) // the context learns the goroutine's thread
	const n = 5
	ran := 0
	for range n {
		tx := getTx()
		th := tx.lastGThread
		putTx(tx)
		if th == nil || !th.fullIdle() {
			t.Fatal("the goroutine's thread is not idle at the full level")
		}
		th.buf = th.buf[:len(th.buf):len(th.buf)] // no room (the flusher copies out of cur, not buf)
		Atomically(read)
		ran++
	}
	if err := StopLog(); err != nil {
		t.Fatal(err)
	}
	evs, _ := readLog(t, buf.Bytes())
	var kinds []logformat.Kind
	for _, ev := range evs {
		if ev.Kind == logformat.KindTxStart || ev.Kind == logformat.KindTxCommit {
			kinds = append(kinds, ev.Kind)
		}
	}
	if len(kinds) != 2*(ran+1) {
		t.Fatalf("%d starts and commits for %d calls, want %d", len(kinds), ran+1, 2*(ran+1))
	}
	for i, k := range kinds {
		if want := []logformat.Kind{logformat.KindTxStart, logformat.KindTxCommit}[i%2]; k != want {
			t.Fatalf("start or commit %d is a %v, want a %v", i, k, want)
		}
	}
}
