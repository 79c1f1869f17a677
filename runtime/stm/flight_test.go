package stm

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

func conflictsIn(t *testing.T, data []byte, v *Var[int]) (n int, sites []int, r *logformat.Reader) {
	t.Helper()
	evs, r := readLog(t, data)
	for _, ev := range evs {
		if ev.Kind == logformat.KindConflict && ev.Var == v.ID() {
			n++
			if st := r.Stack(ev.Site); st != nil && len(st.Frames) > 0 {
				sites = append(sites, st.Frames[0].Line)
			}
		}
	}
	return n, sites, r
}

// commitsIn counts a log's commits: commit events and aggregate records.
func commitsIn(t *testing.T, data []byte) uint64 {
	t.Helper()
	r, err := logformat.NewReader(bytes.NewReader(data), logformat.ReaderOptions{Name: "flight.log"})
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for {
		ev, err := r.Next()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			return n
		}
		switch ev.Kind {
		case logformat.KindTxCommit:
			n++
		case logformat.KindAggregate:
			n += r.Aggregate().Commits
		}
	}
}

// TestFlightRecorderWindow records a conflict, writes the window as a log
// and reads it back: the conflict with its victim's site and the Var's
// name, a clean end; conflict-free transactions are not kept.
func TestFlightRecorderWindow(t *testing.T) {
	defer checkLeaks(t)()
	v := NewNamedVar("flown", 0)
	conflictOnce(v) // contended before: its sites are captured (profile level)
	quiet := NewVar(0)
	fr := NewFlightRecorder(FlightRecorderConfig{})
	if fr.Enabled() {
		t.Fatal("enabled before Start")
	}
	if _, err := fr.WriteTo(new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("WriteTo before Start: %v", err)
	}
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	if ActiveFlightRecorder() != fr || !fr.Enabled() {
		t.Fatal("not the active, enabled flight recorder after Start")
	}
	if err := fr.Start(); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Start: %v", err)
	}
	other := NewFlightRecorder(FlightRecorderConfig{})
	if err := other.Start(); err == nil || !strings.Contains(err.Error(), "another flight recorder") {
		t.Errorf("Start of a second flight recorder: %v", err)
	}
	for range 1000 {
		Atomically(func(tx *Tx) error { quiet.Store(tx, quiet.Load(tx)+1); return nil })
	}
	conflictOnce(v)
	var buf bytes.Buffer
	n, err := fr.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	got, sites, r := conflictsIn(t, buf.Bytes(), v)
	_, line := markerLine(t, "tap-victim")
	if got != 1 || len(sites) != 1 || sites[0] != line {
		t.Errorf("%d conflicts at lines %v, want 1 at line %d", got, sites, line)
	}
	if !r.Stats().CleanEnd || r.VarName(v.ID()) != "flown" {
		t.Errorf("clean end %v, Var name %q", r.Stats().CleanEnd, r.VarName(v.ID()))
	}
	if s := r.Stats(); s.Events > 50 {
		t.Errorf("%d events in the window: the 1000 conflict-free transactions were kept", s.Events)
	}
	if got := commitsIn(t, buf.Bytes()); got != 1002 {
		t.Errorf("the window's log counts %d commits (events and aggregate records), want 1002", got)
	}

	fr.Stop()
	if fr.Enabled() || ActiveFlightRecorder() != nil || cur.Load() != nil {
		t.Fatal("still enabled, active, or recording after Stop")
	}
	if _, err := fr.WriteTo(new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("WriteTo after Stop: %v", err)
	}
	fr.Stop() // a no-op
	// Restartable, with an empty window.
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if _, err := fr.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := conflictsIn(t, buf.Bytes(), v); got != 0 {
		t.Errorf("restarted flight recorder kept %d old conflicts", got)
	}
	fr.Stop()
}

// TestFlightRecorderMinAge: a conflict older than MinAge leaves the window
// once newer events come.
func TestFlightRecorderMinAge(t *testing.T) {
	defer checkLeaks(t)()
	v := NewVar(0)
	fr := NewFlightRecorder(FlightRecorderConfig{MinAge: 200 * time.Millisecond})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	defer fr.Stop()
	conflictOnce(v)
	time.Sleep(500 * time.Millisecond)
	conflictOnce(v)
	var buf bytes.Buffer
	if _, err := fr.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := conflictsIn(t, buf.Bytes(), v); got != 1 {
		t.Errorf("%d conflicts in a 200ms window over conflicts 500ms apart, want the newer one", got)
	}
}

// TestFlightRecorderMaxBytes: the window stays near MaxBytes however much
// contention there is.
func TestFlightRecorderMaxBytes(t *testing.T) {
	v := NewVar(0)
	const max = 64 << 10
	fr := NewFlightRecorder(FlightRecorderConfig{MinAge: time.Hour, MaxBytes: max})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	defer fr.Stop()
	for range 300 {
		conflictOnce(v)
	}
	flushSync()
	fr.mu.Lock()
	bytes, segs := fr.bytes, len(fr.segs)
	last := uint64(len(fr.segs[segs-1].evs)) * eventBytes
	fr.mu.Unlock()
	if bytes > max+last {
		t.Errorf("window holds %d bytes in %d segments, MaxBytes %d", bytes, segs, max)
	}
}

// TestFlightRecorderConcurrentWriteTo: a second WriteTo while one runs
// fails with ErrFlightSnapshotActive; Stop waits for the first.
func TestFlightRecorderConcurrentWriteTo(t *testing.T) {
	defer checkLeaks(t)()
	fr := NewFlightRecorder(FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	inWrite := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := fr.WriteTo(blockingWriter{inWrite, release})
		done <- err
	}()
	<-inWrite
	if _, err := fr.WriteTo(new(bytes.Buffer)); !errors.Is(err, ErrFlightSnapshotActive) {
		t.Errorf("concurrent WriteTo: %v", err)
	}
	stopped := make(chan struct{})
	go func() { fr.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop did not wait for the WriteTo in progress")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("first WriteTo: %v", err)
	}
	<-stopped
	if cur.Load() != nil {
		t.Error("recording left on")
	}
}

// blockingWriter blocks its first Write until release is closed.
type blockingWriter struct{ in, release chan struct{} }

func (w blockingWriter) Write(p []byte) (int, error) {
	select {
	case <-w.in:
	default:
		close(w.in)
		<-w.release
	}
	return len(p), nil
}

// TestFlightRecorderStartStopRace: Start and Stop from several goroutines
// at once leave the recorder stopped and no recording on.
func TestFlightRecorderStartStopRace(t *testing.T) {
	defer checkLeaks(t)()
	fr := NewFlightRecorder(FlightRecorderConfig{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if (i+j)%2 == 0 {
					fr.Start()
				} else {
					fr.Stop()
				}
			}
		}()
	}
	wg.Wait()
	fr.Stop()
	if fr.Enabled() || ActiveFlightRecorder() != nil || cur.Load() != nil {
		t.Fatalf("after the last Stop: enabled %v, active %v, recording %v", fr.Enabled(), ActiveFlightRecorder() != nil, cur.Load() != nil)
	}
}
