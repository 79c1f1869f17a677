package stm

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// drain reads a Tap to its end on another goroutine.
func drain(tap *Tap) <-chan []logformat.Event {
	out := make(chan []logformat.Event, 1)
	go func() {
		var evs []logformat.Event
		for {
			ev, err := tap.Next()
			if err != nil {
				out <- evs
				return
			}
			evs = append(evs, ev)
		}
	}()
	return out
}

// conflictOnce runs one write-write conflict on v (as TestRecordSites does).
func conflictOnce(v *Var[int]) {
	readDone, fDone := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		first := true
		Atomically(func(tx *Tx) error {
			x := v.Load(tx)
			if first {
				first = false
				close(readDone)
				<-fDone
			}
			v.Store(tx, x+1) // SITE:tap-victim
			return nil
		})
	}()
	go func() {
		defer wg.Done()
		<-readDone
		Atomically(func(tx *Tx) error {
			v.Store(tx, 10) // SITE:tap-writer
			return nil
		})
		close(fDone)
	}()
	wg.Wait()
}

// checkLeaks returns a check, for the end of a test, that the goroutines
// the test started are gone (a recorder's flusher, a Tap's reader).
func checkLeaks(t *testing.T) func() {
	base := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines left, %d before the test:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func recorderState() (on, internal bool) {
	r := cur.Load()
	return recording.Load(), r != nil && r.internal
}

// TestTapWithoutRecording: a Tap turns an in-memory recording on and its
// Close turns it off; its events are the conflict, with the victim's site.
func TestTapWithoutRecording(t *testing.T) {
	defer checkLeaks(t)()
	if on, _ := recorderState(); on {
		t.Fatal("recording before the test")
	}
	v := NewNamedVar("tapped", 0)
	conflictOnce(v) // contended before: its sites are captured (profile level)
	tap, err := NewTap()
	if err != nil {
		t.Fatal(err)
	}
	if on, internal := recorderState(); !on || !internal {
		t.Fatalf("with a Tap open: recording %v, internal %v; want both", on, internal)
	}
	got := drain(tap)
	conflictOnce(v)
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tap.Close(); err == nil || !strings.Contains(err.Error(), "already closed") {
		t.Errorf("second Close: %v", err)
	}
	if on, _ := recorderState(); on || cur.Load() != nil {
		t.Fatal("recording still on after the last Tap closed")
	}
	evs := <-got
	_, line := markerLine(t, "tap-victim")
	var found bool
	for _, ev := range evs {
		if ev.Kind == logformat.KindConflict && ev.Var == v.ID() {
			st := tap.Stack(ev.Site)
			if st == nil || len(st.Frames) == 0 || st.Frames[0].Line != line {
				t.Errorf("conflict site %v, want line %d", st, line)
			}
			if tap.VarName(ev.Var) != "tapped" {
				t.Errorf("Var name %q", tap.VarName(ev.Var))
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no conflict among the Tap's %d events", len(evs))
	}
	if s := tap.Stats(); !s.CleanEnd || s.Events != int64(len(evs)) || !strings.HasPrefix(s.Format, "stmlog") {
		t.Errorf("Stats %+v", s)
	}
}

// TestTapAcrossStartStopLog: a program's StartLog takes over from a Tap's
// recording, its StopLog hands back, and the Tap sees events throughout,
// in time order per thread.
func TestTapAcrossStartStopLog(t *testing.T) {
	defer checkLeaks(t)()
	v := NewVar(0)
	tap, err := NewTap()
	if err != nil {
		t.Fatal(err)
	}
	got := drain(tap)
	conflictOnce(v)
	var log bytes.Buffer
	if err := StartLog(&log); err != nil {
		t.Fatalf("StartLog with a Tap open: %v", err)
	}
	if _, internal := recorderState(); internal {
		t.Fatal("StartLog left the internal recorder running")
	}
	conflictOnce(v)
	if err := StopLog(); err != nil {
		t.Fatal(err)
	}
	if err := StopLog(); err == nil {
		t.Error("a second StopLog (the Tap's recording left) succeeded")
	}
	if on, internal := recorderState(); !on || !internal {
		t.Fatalf("after StopLog with a Tap open: recording %v, internal %v", on, internal)
	}
	time.Sleep(2 * time.Millisecond)
	conflictOnce(v)
	tap.Close()
	if on, _ := recorderState(); on {
		t.Fatal("recording still on")
	}
	evs := <-got
	conflicts := 0
	last := map[uint32]int64{}
	for _, ev := range evs {
		if ev.Kind == logformat.KindConflict && ev.Var == v.ID() {
			conflicts++
		}
		if ev.Time < last[ev.Thread] {
			t.Fatalf("thread %d goes back in time: %d after %d", ev.Thread, ev.Time, last[ev.Thread])
		}
		last[ev.Thread] = ev.Time
	}
	if conflicts != 3 {
		t.Errorf("%d conflicts seen by the Tap, want 3 (before, during and after the program's log)", conflicts)
	}
	// The program's own log is complete and has its one conflict.
	logEvs, r := readLog(t, log.Bytes())
	n := 0
	for _, ev := range logEvs {
		if ev.Kind == logformat.KindConflict {
			n++
		}
	}
	if n != 1 || !r.Stats().CleanEnd {
		t.Errorf("the program's log: %d conflicts, clean end %v; want 1, true", n, r.Stats().CleanEnd)
	}
}

// TestTapUnread: an unread Tap does not hold the program up, conflict-free
// transactions do not reach it, and Next ends with io.EOF after Close.
func TestTapUnread(t *testing.T) {
	t.Run("unrecorded", func(t *testing.T) { testTapUnread(t, false) })
	// At the full level the Tap gets every attempt and counts the
	// conflict-free ones into aggregate records itself.
	t.Run("full level", func(t *testing.T) { testTapUnread(t, true) })
}

func testTapUnread(t *testing.T, full bool) {
	defer checkLeaks(t)()
	if full {
		if err := StartLog(io.Discard, WithLevel(LevelFull)); err != nil {
			t.Fatal(err)
		}
		defer StopLog()
	}
	tap, err := NewTap()
	if err != nil {
		t.Fatal(err)
	}
	v := NewVar(0)
	for range 1000 {
		Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
	}
	conflictOnce(v)
	tap.Close()
	kinds := map[logformat.Kind]int{}
	var aggCommits uint64
	for {
		ev, err := tap.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds[ev.Kind]++
		if ev.Kind == logformat.KindAggregate {
			aggCommits += tap.Aggregate().Commits
		}
	}
	// As events: the victim's aborted attempt and its re-run. The other
	// side and the 1000 before committed without contention: counted in
	// aggregate records.
	if kinds[logformat.KindConflict] != 1 || kinds[logformat.KindTxAbort] != 1 || kinds[logformat.KindTxStart] != 2 || kinds[logformat.KindTxCommit] != 1 {
		t.Errorf("events by kind %v: want the contended attempts only", kinds)
	}
	if aggCommits != 1001 {
		t.Errorf("aggregate records count %d commits, want 1001", aggCommits)
	}
}

// A child process for TestTapUnderSTMLOG (before TestMain, which knows
// only its own modes): with STMLOG set, a Tap opened before the first
// transaction must start STMLOG's recording, not an internal one.
func init() {
	if os.Getenv("STM_TEST_CHILD") != "tap" {
		return
	}
	tap, err := NewTap()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	_, internal := recorderState()
	got := drain(tap)
	conflictOnce(NewVar(0))
	tap.Close()
	n := 0
	for _, ev := range <-got {
		if ev.Kind == logformat.KindConflict {
			n++
		}
	}
	fmt.Printf("internal %v, tap conflicts %d, StopLog %v\n", internal, n, StopLog())
	os.Exit(0)
}

// TestTapUnderSTMLOG: with STMLOG set, a Tap shares the program's
// recording, which goes on writing its file and stops with StopLog.
func TestTapUnderSTMLOG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stm.log")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STM_TEST_CHILD=tap", "STMLOG="+path)
	out, err := cmd.CombinedOutput()
	if want := "internal false, tap conflicts 1, StopLog <nil>\n"; err != nil || string(out) != want {
		t.Fatalf("child: %v, output %q, want %q", err, out, want)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, r := readLog(t, data)
	n := 0
	for _, ev := range evs {
		if ev.Kind == logformat.KindConflict {
			n++
		}
	}
	if n != 1 || !r.Stats().CleanEnd {
		t.Errorf("STMLOG file: %d conflicts, clean end %v; want 1, true", n, r.Stats().CleanEnd)
	}
}
