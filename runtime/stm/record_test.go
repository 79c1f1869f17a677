package stm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	ossignal "os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// readLog reads a whole native log.
func readLog(t *testing.T, data []byte) ([]logformat.Event, *logformat.Reader) {
	t.Helper()
	evs, _, r := readLogAggs(t, data)
	return evs, r
}

// readLogAggs is readLog that also returns, for each event of kind
// KindAggregate, its record (at the same index; zero for other events).
func readLogAggs(t *testing.T, data []byte) ([]logformat.Event, []logformat.Aggregate, *logformat.Reader) {
	t.Helper()
	r, err := logformat.NewReader(bytes.NewReader(data), logformat.ReaderOptions{Name: "test.log"})
	if err != nil {
		t.Fatal(err)
	}
	var evs []logformat.Event
	var aggs []logformat.Aggregate
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return evs, aggs, r
		}
		if err != nil {
			t.Fatalf("reading log: %v", err)
		}
		evs = append(evs, ev)
		aggs = append(aggs, r.Aggregate())
	}
}

func aggCommits(aggs []logformat.Aggregate) uint64 {
	var n uint64
	for _, a := range aggs {
		n += a.Commits
	}
	return n
}

// siteLine returns the line of this file holding the comment "SITE:name".
func siteLine(t *testing.T, name string) (string, int) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "// SITE:"+name) && !strings.Contains(l, "siteLine(") {
			return file, i + 1
		}
	}
	t.Fatalf("no SITE:%s marker in %s", name, file)
	return "", 0
}

// record records fn at the full level (every attempt an event).
func record(t *testing.T, fn func()) []byte {
	t.Helper()
	return recordAt(t, LevelFull, fn)
}

func recordAt(t *testing.T, level Level, fn func()) []byte {
	t.Helper()
	return recordWith(t, fn, WithLevel(level))
}

func recordWith(t *testing.T, fn func(), opts ...LogOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := StartLog(&buf, opts...); err != nil {
		t.Fatal(err)
	}
	fn()
	if err := StopLog(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRecordSites runs a known write-read conflict and a known inevitable
// wait, and checks both sides' sites in the log point at the right lines.
// The recording captures every Store's site (WithEverySite): the first
// conflict on a Var names the write before it too.
func TestRecordSites(t *testing.T) {
	v, w, u := NewNamedVar("shared", 0), NewVar(0), NewVar(0)
	data := recordWith(t, func() {
		// Write-read, twice (the second time v is already known to be
		// contended, so the read site is captured when the read happens):
		// A reads v, B commits a write to v, A commits a write to w and
		// fails validation.
		for range 2 {
			readDone, bDone := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				first := true
				Atomically(func(tx *Tx) error {
					x := v.Load(tx) // SITE:a-read
					if first {
						first = false
						close(readDone)
						<-bDone
					}
					w.Store(tx, x)
					return nil
				})
			}()
			go func() {
				defer wg.Done()
				<-readDone
				Atomically(func(tx *Tx) error {
					v.Store(tx, 1) // SITE:b-write
					return nil
				})
				close(bDone)
			}()
			wg.Wait()
		}
		// Write-write: E reads and writes u, F commits u in between.
		readDone, fDone := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			first := true
			Atomically(func(tx *Tx) error {
				x := u.Load(tx)
				if first {
					first = false
					close(readDone)
					<-fDone
				}
				u.Store(tx, x+1) // SITE:e-write
				return nil
			})
		}()
		go func() {
			defer wg.Done()
			<-readDone
			Atomically(func(tx *Tx) error {
				u.Store(tx, 10) // SITE:f-write
				return nil
			})
			close(fDone)
		}()
		wg.Wait()

		// Inevitable: C becomes inevitable and holds on until D waits.
		cIn := make(chan struct{})
		waiting := ReadStats().ConflictsInevitable
		wg.Add(2)
		go func() {
			defer wg.Done()
			Atomically(func(tx *Tx) error {
				tx.Inevitable() // SITE:c-inevitable
				close(cIn)
				// Stay inevitable until D has run into us.
				for deadline := time.Now().Add(10 * time.Second); ReadStats().ConflictsInevitable == waiting; {
					if time.Now().After(deadline) {
						t.Error("D never waited for the inevitable transaction")
						break
					}
					time.Sleep(time.Millisecond)
				}
				return nil
			})
		}()
		go func() {
			defer wg.Done()
			<-cIn
			Atomically(func(tx *Tx) error {
				tx.Inevitable() // SITE:d-inevitable
				return nil
			})
		}()
		wg.Wait()
	}, WithLevel(LevelFull), WithEverySite())
	evs, r := readLog(t, data)
	if !r.Stats().CleanEnd {
		t.Fatal("log has no end marker after StopLog")
	}
	if got := r.VarName(v.ID()); got != "shared" {
		t.Fatalf("Var name %q, want shared", got)
	}
	leaf := func(id logformat.StackID) (string, int) {
		s := r.Stack(id)
		if s == nil || len(s.Frames) == 0 {
			return "", 0
		}
		return s.Frames[0].File, s.Frames[0].Line
	}
	check := func(kind logformat.ConflictKind, varID uint64, this, other string, then logformat.Kind, want int) {
		t.Helper()
		tf, tl := siteLine(t, this)
		of, ol := siteLine(t, other)
		n := 0
		for i, ev := range evs {
			if ev.Kind != logformat.KindConflict || ev.Conflict != kind || ev.Var != varID {
				continue
			}
			n++
			f1, l1 := leaf(ev.Site)
			f2, l2 := leaf(ev.OtherSite)
			if f1 != tf || l1 != tl || f2 != of || l2 != ol {
				t.Fatalf("%v conflict #%d sites %s:%d / %s:%d, want %s:%d / %s:%d", kind, n, f1, l1, f2, l2, tf, tl, of, ol)
			}
			if ev.OtherThread == 0 || ev.OtherThread == ev.Thread {
				t.Fatalf("%v conflict: other thread %d, this thread %d", kind, ev.OtherThread, ev.Thread)
			}
			// The cost follows on the same thread: an abort or a pause.
			next := logformat.KindInvalid
			for _, n := range evs[i+1:] {
				if n.Thread == ev.Thread {
					next = n.Kind
					break
				}
			}
			if next != then {
				t.Fatalf("%v conflict followed by %v, want %v", kind, next, then)
			}
		}
		if n != want {
			t.Fatalf("%d %v conflicts on Var %d, want %d", n, kind, varID, want)
		}
	}
	// No stack shows runtime/stm internals or Go runtime frames.
	for _, ev := range evs {
		for _, id := range []logformat.StackID{ev.Site, ev.OtherSite} {
			s := r.Stack(id)
			if s == nil {
				continue
			}
			for _, f := range s.Frames {
				if strings.HasPrefix(f.Func, "runtime.") ||
					(strings.HasPrefix(f.Func, pkgPath) && !strings.HasSuffix(f.File, "_test.go")) {
					t.Fatalf("internal frame %v in recorded stack %v", f, s.Frames)
				}
			}
		}
	}
	check(logformat.ConflictWriteRead, v.ID(), "a-read", "b-write", logformat.KindTxAbort, 2)
	check(logformat.ConflictWriteWrite, u.ID(), "e-write", "f-write", logformat.KindTxAbort, 1)
	check(logformat.ConflictInevitable, 0, "d-inevitable", "c-inevitable", logformat.KindWaitStart, 1)
	// The become-inevitable events name their sites too.
	cf, cl := siteLine(t, "c-inevitable")
	found := false
	for _, ev := range evs {
		if ev.Kind == logformat.KindBecomeInevitable {
			if f, l := leaf(ev.Site); f == cf && l == cl {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("no become-inevitable event at the c-inevitable site")
	}
}

// TestRecordCountsMatchStats: the log holds exactly the commits, aborts
// and conflicts the runtime counted while recording.
func TestRecordCountsMatchStats(t *testing.T) {
	for _, level := range []Level{LevelFull, LevelProfile} {
		t.Run(level.String(), func(t *testing.T) { testRecordCountsMatchStats(t, level) })
	}
}

func testRecordCountsMatchStats(t *testing.T, level Level) {
	hot := NewVar(0)
	before := ReadStats()
	rounds := 0
	data := recordAt(t, level, func() {
		// Rounds of a contended workload until it has had conflicts (one
		// round nearly always does; a quiet scheduler may need another).
		for rounds < 20 && (rounds == 0 || ReadStats().AbortsConflict == before.AbortsConflict) {
			rounds++
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 400 {
						Atomically(func(tx *Tx) error {
							x := hot.Load(tx)
							runtime.Gosched()
							hot.Store(tx, x+1)
							if (g+i)%50 == 0 {
								return errors.New("some error")
							}
							return nil
						})
					}
				}()
			}
			wg.Wait()
		}
	})
	after := ReadStats()
	evs, aggs, r := readLogAggs(t, data)
	if r.Stats().Dropped != 0 {
		t.Fatalf("%d events dropped", r.Stats().Dropped)
	}
	var commits, aborts, conflicts, starts uint64
	for i, ev := range evs {
		switch ev.Kind {
		case logformat.KindAggregate:
			commits += aggs[i].Commits
		case logformat.KindTxStart:
			starts++
		case logformat.KindTxCommit:
			commits++
		case logformat.KindTxAbort:
			aborts++
		case logformat.KindConflict:
			conflicts++
		}
	}
	wantConf := (after.ConflictsWriteRead + after.ConflictsWriteWrite + after.ConflictsInevitable) -
		(before.ConflictsWriteRead + before.ConflictsWriteWrite + before.ConflictsInevitable)
	if commits != after.Commits-before.Commits || aborts != after.Aborts-before.Aborts || conflicts != wantConf {
		t.Fatalf("log: %d commits %d aborts %d conflicts; runtime counted %d %d %d",
			commits, aborts, conflicts, after.Commits-before.Commits, after.Aborts-before.Aborts, wantConf)
	}
	if logged := commits - aggCommits(aggs); starts != logged+aborts {
		t.Fatalf("%d starts for %d logged commits + %d aborts", starts, logged, aborts)
	}
	if m := r.Meta(); m.Level != level || m.Version != logformat.Version || m.GOMAXPROCS != runtime.GOMAXPROCS(0) || m.NumCPU != runtime.NumCPU() {
		t.Fatalf("log meta %+v, want level %v, version %d, GOMAXPROCS %d, NumCPU %d", m, level, logformat.Version, runtime.GOMAXPROCS(0), runtime.NumCPU())
	}
	if after.AbortsConflict == before.AbortsConflict {
		t.Fatal("the workload had no conflicts; the test proves nothing")
	}
	if want := rounds * (4*400 - 4*8); hot.Peek() != want {
		t.Fatalf("hot=%d, want %d", hot.Peek(), want)
	}
}

func TestStartStopLogErrors(t *testing.T) {
	if err := StopLog(); err == nil {
		t.Fatal("StopLog without StartLog succeeded")
	}
	var buf bytes.Buffer
	if err := StartLog(&buf); err != nil {
		t.Fatal(err)
	}
	if err := StartLog(&buf); err == nil {
		t.Fatal("second StartLog succeeded")
	}
	if err := StopLog(); err != nil {
		t.Fatal(err)
	}
}

// The child side of the process tests: run transactions forever (or once),
// recorded through STMLOG.
func TestMain(m *testing.M) {
	switch os.Getenv("STM_TEST_CHILD") {
	case "forever":
		childForever()
	case "once":
		Atomically(func(tx *Tx) error { return nil })
		fmt.Println("ran")
		os.Exit(0)
	case "none":
		fmt.Println("ran")
		os.Exit(0)
	case "exit":
		childExit()
	case "handles":
		childHandles()
	case "gcmark":
		childGCMark()
	case "":
		os.Exit(m.Run())
	}
	// A mistyped mode would otherwise run the whole suite in the child.
	log.Fatalf("STM_TEST_CHILD=%q: want forever, once, none, exit, handles or gcmark", os.Getenv("STM_TEST_CHILD"))
}

// childExit runs uncontended transactions on two goroutines for
// STM_TEST_MS milliseconds, says how many committed, and exits without
// StopLog (os.Exit, or a return from main when STM_TEST_RETURN is set,
// which the test binary's main turns into os.Exit too).
func childExit() {
	ms, _ := strconv.Atoi(os.Getenv("STM_TEST_MS"))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		v := NewVar(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
			}
		}()
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	fmt.Println(ReadStats().Commits)
	os.Exit(0)
}

// childHandles is childForever in a program that handles SIGTERM itself:
// it ends the log (StopLog's error says stm did already) and exits with
// status 7.
func childHandles() {
	c := make(chan os.Signal, 1)
	ossignal.Notify(c, syscall.SIGTERM)
	go func() {
		<-c
		StopLog()
		os.Exit(7)
	}()
	childForever()
}

func childForever() {
	v := NewVar(0)
	for range 2 {
		go func() {
			for {
				Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
			}
		}()
	}
	// Say "ready" once the flusher has put a few chunks on disk: on a loaded
	// machine the first flushes can come late, and a kill before them would
	// test nothing.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(envPath); err == nil && flushedEnough(data) {
			break
		}
	}
	fmt.Println("ready")
	select {}
}

// flushedEnough reports whether a log being written holds at least 3
// complete chunks and 100 events.
func flushedEnough(data []byte) bool {
	r, err := logformat.NewReader(bytes.NewReader(data), logformat.ReaderOptions{Name: "child.log"})
	if err != nil {
		return false
	}
	for {
		if _, err := r.Next(); err != nil {
			st := r.Stats()
			return st.Chunks >= 3 && st.Events >= 100
		}
	}
}

// fileSize is the size of the file at path (0 if it cannot be read).
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// TestKilledChildLogReadable records a child process through STMLOG (with
// %p), kills it with SIGKILL, and reads what it left: every complete chunk,
// no corruption, and the loss reported (no end marker).
func TestKilledChildLogReadable(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STM_TEST_CHILD=forever", "STMLOG="+filepath.Join(dir, "child-%p.log"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	// Kill it while it writes: once the log has grown past what it held at
	// "ready" (a few chunks), so the kill lands after a flush of a running
	// recorder, not before the first.
	path := filepath.Join(dir, "child-"+strconv.Itoa(cmd.Process.Pid)+".log")
	ready := fileSize(path)
	for deadline := time.Now().Add(20 * time.Second); fileSize(path) <= ready && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, r := readLog(t, data)
	st := r.Stats()
	if st.CleanEnd {
		t.Fatal("killed child's log claims a clean end")
	}
	if len(evs) < 100 || st.Chunks < 3 {
		t.Fatalf("only %d events in %d chunks survived %d bytes", len(evs), st.Chunks, len(data))
	}
	commits := 0
	for _, ev := range evs {
		if ev.Kind == logformat.KindTxCommit {
			commits++
		}
	}
	if commits == 0 {
		t.Fatal("no commits in the child's log")
	}
	t.Logf("%d bytes, %d chunks, %d events, %d commits, truncated tail %d bytes, warnings %q",
		len(data), st.Chunks, len(evs), commits, st.TruncatedBytes, st.Warnings)
}

// TestSTMLOGOpenedByFirstTransaction: a process that links the runtime but
// runs no transaction (the stmlog tool reading the log its environment
// names, say) leaves the file alone; the first transaction creates it.
func TestSTMLOGOpenedByFirstTransaction(t *testing.T) {
	for _, tc := range []struct {
		child   string
		created bool
	}{{"none", false}, {"once", true}} {
		path := filepath.Join(t.TempDir(), "stm.log")
		const old = "an earlier run's log"
		if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "STM_TEST_CHILD="+tc.child, "STMLOG="+path)
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "ran\n" {
			t.Fatalf("child %s: %v, output %q", tc.child, err, out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(data) != old; got != tc.created {
			t.Errorf("child %s: log rewritten = %v, want %v", tc.child, got, tc.created)
		}
		if tc.created && !logformat.IsNative(data) {
			t.Errorf("child %s: STMLOG file is not a native log: %q", tc.child, data[:min(len(data), 16)])
		}
	}
}

// TestUnwritableSTMLOG: one warning line, and the program runs.
func TestUnwritableSTMLOG(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STM_TEST_CHILD=once", "STMLOG="+filepath.Join(t.TempDir(), "no", "such", "dir.log"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child failed: %v\n%s", err, stderr.String())
	}
	if stdout.String() != "ran\n" {
		t.Fatalf("child stdout %q, want ran", stdout.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "cannot record") || !strings.Contains(lines[0], "dir.log") {
		t.Fatalf("stderr %q, want one warning line naming the file", stderr.String())
	}
}

// TestRecordQueueWorkers: each Queue worker records as its own thread, and
// handlers that all become inevitable show inevitable conflicts (each
// followed by its pause) between the workers, as in the seed's web server.
func TestRecordQueueWorkers(t *testing.T) {
	hits := NewVar(0)
	q := NewQueue()
	// The first two handlers meet for sure: the first (taken first, FIFO)
	// stays inevitable until the second, necessarily on the other worker,
	// has asked for inevitability too.
	zeroHolds := make(chan struct{})
	waiting := ReadStats().ConflictsInevitable
	for i := range 40 {
		q.Add(func(tx *Tx) error {
			if i == 1 {
				<-zeroHolds
			}
			tx.Inevitable() // like time.Now() or I/O in a handler
			if i == 0 {
				close(zeroHolds)
				for deadline := time.Now().Add(10 * time.Second); ReadStats().ConflictsInevitable == waiting; {
					if time.Now().After(deadline) {
						t.Error("the second handler never waited for the first")
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
			hits.Store(tx, hits.Load(tx)+1)
			return nil
		})
	}
	var err error
	data := record(t, func() { err = q.Run(2) })
	if err != nil {
		t.Fatal(err)
	}
	if hits.Peek() != 40 {
		t.Fatalf("hits %d, want 40", hits.Peek())
	}
	evs, _ := readLog(t, data)
	threads := map[uint32]bool{}
	commits, inev := 0, 0
	for i, ev := range evs {
		threads[ev.Thread] = true
		switch ev.Kind {
		case logformat.KindTxCommit:
			commits++
		case logformat.KindConflict:
			if ev.Conflict != logformat.ConflictInevitable || ev.OtherThread == ev.Thread || ev.OtherThread == 0 {
				t.Fatalf("unexpected conflict %+v", ev)
			}
			inev++
			j := i + 1
			for j < len(evs) && evs[j].Thread != ev.Thread {
				j++
			}
			if j == len(evs) || evs[j].Kind != logformat.KindWaitStart || evs[j].Reason != logformat.WaitInevitable {
				t.Fatalf("inevitable conflict not followed by an inevitable pause")
			}
		}
	}
	if len(threads) != 2 || commits != 40 {
		t.Fatalf("%d threads, %d commits; want 2 workers and 40 commits", len(threads), commits)
	}
	if inev == 0 {
		t.Fatal("no inevitable conflict between two workers that are always inevitable")
	}
}

// TestVarNames: the log has the latest name of each Var, and names of
// collected Vars are forgotten (naming Vars in constructors must not leak).
func TestVarNames(t *testing.T) {
	v := NewNamedVar("first", 1)
	v.Name("second")
	data := record(t, func() {
		Atomically(func(tx *Tx) error { v.Store(tx, 2); return nil })
	})
	_, r := readLog(t, data)
	if got := r.VarName(v.ID()); got != "second" {
		t.Fatalf("name %q, want second", got)
	}
	temps := make([]*Var[int], 1000) // alive until checked: a collection in between forgets names
	ids := make([]uint64, len(temps))
	for i := range temps {
		temps[i] = NewVar(i)
		temps[i].Name(fmt.Sprint("temp", i))
		ids[i] = temps[i].ID()
	}
	named := func() (n int) {
		namesMu.Lock()
		defer namesMu.Unlock()
		for i, id := range ids {
			if names[id] == fmt.Sprint("temp", i) {
				n++
			}
		}
		return n
	}
	if n := named(); n != len(temps) {
		t.Fatalf("%d of %d Vars named after naming them", n, len(temps))
	}
	runtime.KeepAlive(temps)
	deadline := time.Now().Add(5 * time.Second)
	for named() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("names of collected Vars not forgotten: %d left", named())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(v)
}

// TestRecordCommitLockPause: a Load that finds its Var locked by a commit
// for more than a moment logs a write-read conflict naming the committer,
// then a commit-lock pause. The Var is locked by hand here, exactly as a
// committing transaction does it, so that the pause is certain.
func TestRecordCommitLockPause(t *testing.T) {
	v := NewVar(1)
	before := ReadStats()
	var got int
	data := record(t, func() {
		old := atomic.LoadPointer(&v.h.val)
		nb := &box[int]{boxHeader: boxHeader{version: lockedVersion, writer: 99}, v: 2}
		if !atomic.CompareAndSwapPointer(&v.h.val, old, unsafe.Pointer(nb)) {
			t.Fatal("could not lock the Var")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Atomically(func(tx *Tx) error {
				got = v.Load(tx) // SITE:lock-read
				return nil
			})
		}()
		for deadline := time.Now().Add(10 * time.Second); ReadStats().ConflictsWriteRead == before.ConflictsWriteRead; {
			if time.Now().After(deadline) {
				t.Fatal("the reader never paused")
			}
			time.Sleep(time.Millisecond)
		}
		atomic.StoreUint64(&nb.version, 0) // publish (slot 0: visible to every snapshot)
		<-done
	})
	if got != 2 {
		t.Fatalf("read %d, want the committed 2", got)
	}
	evs, r := readLog(t, data)
	file, line := siteLine(t, "lock-read")
	for i, ev := range evs {
		if ev.Kind != logformat.KindConflict || ev.Var != v.ID() {
			continue
		}
		s := r.Stack(ev.Site)
		if ev.Conflict != logformat.ConflictWriteRead || ev.OtherThread != 99 || s == nil || s.Leaf().File != file || s.Leaf().Line != line {
			t.Fatalf("conflict %+v at %v, want write-read with thread 99 at %s:%d", ev, s, file, line)
		}
		var next []logformat.Kind
		for _, n := range evs[i+1:] {
			if n.Thread == ev.Thread && len(next) < 2 {
				next = append(next, n.Kind)
				if n.Kind == logformat.KindWaitStart && n.Reason != logformat.WaitCommitLock {
					t.Fatalf("pause reason %v, want commit-lock", n.Reason)
				}
			}
		}
		if len(next) != 2 || next[0] != logformat.KindWaitStart || next[1] != logformat.KindWaitDone {
			t.Fatalf("conflict followed by %v, want a commit-lock pause", next)
		}
		return
	}
	t.Fatal("no conflict logged for the commit-lock pause")
}

// TestRecordThreadPerGoroutine: every goroutine's transactions carry one
// thread number of their own, however the pooled contexts move between
// goroutines (here 12 goroutines on a few processors, taking turns in
// lock step so that contexts are handed from one to the next). Threads are
// numbered from 1. A transaction started inside another's body on the same
// goroutine gets a thread of its own instead of waiting for the outer one.
func TestRecordThreadPerGoroutine(t *testing.T) {
	for _, level := range []Level{LevelFull, LevelProfile} {
		t.Run(level.String(), func(t *testing.T) { testRecordThreadPerGoroutine(t, level) })
	}
}

func testRecordThreadPerGoroutine(t *testing.T, level Level) {
	const goroutines, rounds = 12, 20
	vars := make([]*Var[int], goroutines)
	for i := range vars {
		vars[i] = NewVar(0)
	}
	var nestedDone atomic.Bool
	data := recordAt(t, level, func() {
		var wg sync.WaitGroup
		turn := make([]chan struct{}, goroutines)
		for i := range turn {
			turn[i] = make(chan struct{}, 1)
		}
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					<-turn[g]
					// Each goroutine writes its own Var: its id tells whose
					// transaction an event belongs to.
					Atomically(func(tx *Tx) error {
						vars[g].Store(tx, r)
						if g == 0 && r == 0 {
							Atomically(func(tx *Tx) error { // nested, same goroutine
								nestedDone.Store(true)
								return nil
							})
						}
						return nil
					})
					turn[(g+1)%goroutines] <- struct{}{}
				}
			}()
		}
		turn[0] <- struct{}{}
		wg.Wait()
	})
	if !nestedDone.Load() {
		t.Fatal("the nested transaction did not run")
	}
	evs, aggs, _ := readLogAggs(t, data)
	commitsBy := map[uint32]int{}
	maxThread := uint32(0)
	for i, ev := range evs {
		if ev.Kind == logformat.KindTxCommit {
			commitsBy[ev.Thread]++
		}
		if ev.Kind == logformat.KindAggregate {
			commitsBy[ev.Thread] += int(aggs[i].Commits)
		}
		maxThread = max(maxThread, ev.Thread)
	}
	if !haveCurg {
		// No goroutine identity here (curg_other.go): a thread is a
		// transaction context, so the goroutines share the few there are;
		// the nested call still needs a context of its own, the enclosing
		// call holding one.
		total := 0
		for _, n := range commitsBy {
			total += n
		}
		if total != goroutines*rounds+1 || len(commitsBy) < 2 || int(maxThread) != len(commitsBy) {
			t.Fatalf("commits by thread %v, want %d in all on at least 2 threads numbered from 1 without gaps",
				commitsBy, goroutines*rounds+1)
		}
		return
	}
	// 12 goroutines with 20 commits each, and the nested commit: on a
	// thread of its own at the full level, where the enclosing call holds
	// its thread's buffer; at the profile level on the goroutine's own
	// thread, as the enclosing call (only counted) holds nothing.
	if level == LevelProfile {
		if commitsBy[1] != rounds+1 || len(commitsBy) != goroutines || maxThread != goroutines {
			t.Fatalf("commits by thread %v, want %d on thread 1 (with the nested one) and %d on threads 2-%d",
				commitsBy, rounds+1, rounds, goroutines)
		}
		for th, n := range commitsBy {
			if th != 1 && n != rounds {
				t.Errorf("thread %d committed %d transactions, want %d", th, n, rounds)
			}
		}
		return
	}
	var twenty, one int
	for th, n := range commitsBy {
		switch n {
		case rounds:
			twenty++
		case 1:
			one++
		default:
			t.Errorf("thread %d committed %d transactions, want %d (one goroutine) or 1 (the nested one)", th, n, rounds)
		}
	}
	if twenty != goroutines || one != 1 {
		t.Fatalf("%d threads with %d commits and %d with 1, want %d and 1: %v", twenty, rounds, one, goroutines, commitsBy)
	}
	if maxThread != goroutines+1 {
		t.Fatalf("highest thread number %d, want %d (numbered from 1, no gaps)", maxThread, goroutines+1)
	}
}

func TestCurgIdentifiesGoroutines(t *testing.T) {
	if !(runtime.GOOS == "linux" && runtime.GOARCH == "amd64") && runtime.GOARCH != "arm64" {
		if curg() != 0 {
			t.Fatal("curg must be 0 where it has no implementation (recording then uses per-context threads)")
		}
		return
	}
	me := curg()
	if curg() != me {
		t.Fatal("curg changed within one goroutine")
	}
	const n = 8
	ids := make(chan [2]uintptr, n)
	var start sync.WaitGroup
	start.Add(n)
	for range n {
		go func() {
			a := curg()
			start.Done()
			start.Wait() // all alive at once: no g can be recycled among them
			runtime.Gosched()
			ids <- [2]uintptr{a, curg()}
		}()
	}
	seen := map[uintptr]bool{me: true}
	for range n {
		p := <-ids
		if p[0] != p[1] {
			t.Fatalf("a goroutine's identity moved from %#x to %#x", p[0], p[1])
		}
		if seen[p[0]] {
			t.Fatalf("two live goroutines share the identity %#x", p[0])
		}
		seen[p[0]] = true
	}
}

// TestRecordPlainCommitAfterWait: a call that the profile level only
// counts meets a locked Var in its read (a commit-lock wait, which logs
// the call from there on) and then commits on the plain path. Its commit
// must be an event, not a count, and its thread given back: the log has
// one start and one commit, and the thread's next call is counted.
func TestRecordPlainCommitAfterWait(t *testing.T) {
	v := NewVar(1) // in place: its version word is its lock
	var starts, commits, counted int
	data := recordAt(t, LevelProfile, func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			read := func(tx *Tx) error { v.Load(tx); return nil }
			for range 3 {
				Atomically(read) // the context learns the goroutine: counted calls
			}
			b := v.h.loadBox()
			atomic.StoreUint64(&b.version, lockedVersion) // as a committer would
			unlocked := make(chan struct{})
			go func() {
				time.Sleep(20 * time.Millisecond)
				atomic.StoreUint64(&b.version, 0)
				close(unlocked)
			}()
			Atomically(read) // waits for the lock, then commits
			<-unlocked
			for range 3 {
				Atomically(read)
			}
		}()
		<-done
	})
	evs, aggs, _ := readLogAggs(t, data)
	for i, ev := range evs {
		switch ev.Kind {
		case logformat.KindTxStart:
			starts++
		case logformat.KindTxCommit:
			commits++
		case logformat.KindAggregate:
			counted += int(aggs[i].Commits)
		}
	}
	if starts != 1 || commits != 1 || counted != 6 {
		t.Fatalf("%d starts, %d commit events, %d counted commits; want 1, 1, 6", starts, commits, counted)
	}
}

// TestRecordLongCallsTimed: at the profile level, a thread of few calls
// (here 300 of ~20 µs each, far below timeAllRate) has them timed exactly,
// so a slow workload's committed time is measured rather than estimated
// from a sample of a few calls.
func TestRecordLongCallsTimed(t *testing.T) {
	v := NewVar(0)
	const calls = 300
	data := recordAt(t, LevelProfile, func() {
		for range calls {
			Atomically(func(tx *Tx) error {
				deadline := time.Now().Add(20 * time.Microsecond)
				for time.Now().Before(deadline) {
				}
				v.Store(tx, v.Load(tx)+1)
				return nil
			})
		}
	})
	_, aggs, _ := readLogAggs(t, data)
	var sum logformat.Aggregate
	for _, a := range aggs {
		sum = sum.Add(a)
	}
	if sum.Commits != calls {
		t.Fatalf("%d commits counted, want %d", sum.Commits, calls)
	}
	// A new thread times every call, up to 1000 per flush interval.
	if sum.Untimed() > calls/2 || sum.Timed < calls/4 {
		t.Fatalf("%d of %d calls timed exactly, %d sampled, %d untimed", sum.Timed, sum.Commits, sum.Sampled, sum.Untimed())
	}
}

// TestWriteSiteCached checks writeSite: a Store's site is interned at
// once, a second Store from the same place finds it by its fpHash (same
// id, nothing left in tx.pcs), one from another place gets another id,
// and each id's stack names the function that stored.
func TestWriteSiteCached(t *testing.T) {
	tx := newTx().(*Tx)
	site := func() uint32 {
		var off, n int32
		tx.writeSite(nil, &off, &n)
		if n != siteInterned {
			t.Fatalf("writeSite: n = %d, want siteInterned", n)
		}
		if len(tx.pcs) != 0 {
			t.Fatalf("writeSite left %d pcs in tx.pcs", len(tx.pcs))
		}
		return uint32(off)
	}
	var here []uint32
	for range 3 {
		here = append(here, site())
	}
	there := site()
	if here[0] == 0 || here[1] != here[0] || here[2] != here[0] {
		t.Errorf("one place gave sites %v", here)
	}
	if there == here[0] {
		t.Errorf("two places gave the same site %d", there)
	}
	for _, id := range []uint32{here[0], there} {
		s := symbolize(sites.pcs(id))
		if len(s.Frames) == 0 || !strings.Contains(s.Frames[0].Func, "TestWriteSiteCached") {
			t.Errorf("site %d: stack %v, want TestWriteSiteCached's closure first", id, s.Frames)
		}
	}
	if id := tx.internSite(int32(here[0]), siteInterned); id != here[0] {
		t.Errorf("internSite of an interned site: %d, want %d", id, here[0])
	}
}

// TestRecordAgainCountsOnNewThreads records twice in a row from the same
// goroutine: the contexts still remember the first recorder's thread when
// the second starts (stale, stopLocked), and every counted call of the
// second recording is in the second log.
func TestRecordAgainCountsOnNewThreads(t *testing.T) {
	v := NewVar(0)
	inc := func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }
	for round, n := range []int{3000, 5000, 2000} {
		var buf bytes.Buffer
		if err := StartLog(&buf); err != nil {
			t.Fatal(err)
		}
		for range n {
			Atomically(inc)
		}
		if err := StopLog(); err != nil {
			t.Fatal(err)
		}
		if got := commitsIn(t, buf.Bytes()); got != uint64(n) {
			t.Errorf("recording %d: %d commits in the log, want %d", round+1, got, n)
		}
	}
}

// TestRecordFirstConflictWriteSite: a Store captures its site only once
// its Var has been in a conflict, at either level, unless the recording
// asks for every site (WithEverySite): the first conflict on a fresh Var
// names no write site for the other side; with every site, the second
// names it. (Otherwise the second one's writer is a call on a new
// goroutine, whose thread may not be wanted yet: that is
// TestRecordSiteWanted's.)
func TestRecordFirstConflictWriteSite(t *testing.T) {
	for _, c := range []struct {
		name   string
		opts   []LogOption
		first  bool // the first conflict names the write site
		second bool // the second is checked (to name it)
	}{
		{"profile", []LogOption{WithLevel(LevelProfile)}, false, false},
		{"full", []LogOption{WithLevel(LevelFull)}, false, false},
		{"full-every-site", []LogOption{WithLevel(LevelFull), WithEverySite()}, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := NewVar(0)
			data := recordWith(t, func() {
				for range 2 {
					conflictOnce(u) // tap_test.go
				}
			}, c.opts...)
			evs, r := readLog(t, data)
			wf, wl := markerLine(t, "tap-writer")
			var named []bool
			for _, ev := range evs {
				if ev.Kind != logformat.KindConflict || ev.Var != u.ID() {
					continue
				}
				s := r.Stack(ev.OtherSite)
				ok := s != nil && len(s.Frames) > 0 && s.Frames[0].File == wf && s.Frames[0].Line == wl
				if !ok && ev.OtherSite != 0 {
					t.Fatalf("conflict names write site %v, want line %d or none", s.Frames, wl)
				}
				named = append(named, ok)
			}
			if len(named) != 2 {
				t.Fatalf("%d conflicts on the Var, want 2", len(named))
			}
			if !c.second {
				named = named[:1]
			}
			if want := []bool{c.first, true}[:len(named)]; !slices.Equal(named, want) {
				t.Fatalf("conflicts on the Var name the write site: %v, want %v", named, want)
			}
		})
	}
}

// TestParseSites: the values STMLOG_SITES takes, and one it refuses (the
// default then, with a warning from init).
func TestParseSites(t *testing.T) {
	for _, c := range []struct {
		s       string
		all, ok bool
	}{{"", false, true}, {"contended", false, true}, {"all", true, true}, {"every", false, false}} {
		if all, ok := parseSites(c.s); all != c.all || ok != c.ok {
			t.Errorf("parseSites(%q) = %v, %v, want %v, %v", c.s, all, ok, c.all, c.ok)
		}
	}
}

// TestRecordQueueEnds: a Queue worker's transaction at the full level runs
// its first attempt in runFull under runSpan's recover, so each way it can
// end (commit, error, an abort or Retry signal from a stale Load or
// tx.Retry, ErrRetry, a panic) must end it as at the profile level and
// with recording off: the same commits, and a log whose attempts pass
// checkAttempts, one commit for each transaction that committed.
func TestRecordQueueEnds(t *testing.T) {
	for _, level := range []Level{0, LevelProfile, LevelFull} {
		name := "off"
		if level != 0 {
			name = level.String()
		}
		t.Run(name, func(t *testing.T) {
			a, b, v := NewVar(0), NewVar(0), NewVar(0)
			q := NewQueue()
			var others []<-chan struct{}
			stale := func(tx *Tx, first *bool) {
				x := a.Load(tx)
				if *first {
					*first = false
					// A's and b's commit after our Load of a: the Load of
					// b finds the snapshot stale and aborts (a signal).
					Atomically(func(tx *Tx) error { a.Store(tx, a.Load(tx)+1); b.Store(tx, b.Load(tx)+1); return nil })
				}
				_, _ = x, b.Load(tx)
			}
			q.Add(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }) // commit
			q.Add(func(tx *Tx) error { v.Store(tx, 100); return errTest })      // error
			first1 := true
			q.Add(func(tx *Tx) error { stale(tx, &first1); v.Store(tx, v.Load(tx)+1); return nil })
			first2 := true
			q.Add(func(tx *Tx) error {
				x := v.Load(tx)
				if first2 {
					first2 = false
					others = append(others, goCall(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }))
					tx.Retry()
				}
				v.Store(tx, x+1)
				return nil
			})
			first3 := true
			q.Add(func(tx *Tx) error {
				x := v.Load(tx)
				if first3 {
					first3 = false
					others = append(others, goCall(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil }))
					return ErrRetry
				}
				v.Store(tx, x+1)
				return nil
			})
			run := func() {
				if err := q.Run(1); err != errTest && !errors.Is(err, errTest) {
					t.Errorf("Run returned %v, want %v", err, errTest)
				}
				for _, o := range others {
					<-o
				}
				q.Add(func(tx *Tx) error { v.Store(tx, 100); panic("boom") })
				func() {
					defer func() {
						if r := recover(); r != "boom" {
							t.Errorf("Run's panic %v, want boom", r)
						}
					}()
					q.Run(1)
				}()
			}
			if level == 0 {
				run()
			} else {
				evs, _ := readLog(t, recordAt(t, level, run))
				checkAttempts(t, evs)
				commits := 0
				for _, ev := range evs {
					if ev.Kind == logformat.KindTxCommit {
						commits++
					}
				}
				// At the full level: the five transactions' commits but
				// the error's, the stale one's nested call, the two
				// goroutines'.
				if level == LevelFull && commits != 7 {
					t.Errorf("%d commits in the log, want 7", commits)
				}
			}
			// v: commit 1, stale-then-commit 1, each Retry's goroutine and
			// re-run 2 + 2.
			if got := v.Peek(); got != 6 {
				t.Errorf("v=%d, want 6 (only the commits)", got)
			}
		})
	}
}
