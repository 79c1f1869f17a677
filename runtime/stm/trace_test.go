package stm

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"testing"

	xtrace "golang.org/x/exp/trace"
)

// traceEvents parses an execution trace into the regions begun (by type)
// and the logs of category TraceCategory (messages), per goroutine.
type tracedRun struct {
	regions map[string]int            // region type -> begins
	goRegs  map[xtrace.GoID][]string  // goroutine -> region types begun on it
	logs    map[xtrace.GoID][]string  // goroutine -> conflict messages
	ends    map[string]int            // region type -> ends
	other   map[string]map[string]int // category -> message -> count (other logs)
}

func parseTrace(t *testing.T, data []byte) tracedRun {
	t.Helper()
	r, err := xtrace.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	run := tracedRun{regions: map[string]int{}, ends: map[string]int{},
		goRegs: map[xtrace.GoID][]string{}, logs: map[xtrace.GoID][]string{},
		other: map[string]map[string]int{}}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			return run
		}
		if err != nil {
			t.Fatalf("reading trace: %v", err)
		}
		switch ev.Kind() {
		case xtrace.EventRegionBegin:
			typ := ev.Region().Type
			run.regions[typ]++
			run.goRegs[ev.Goroutine()] = append(run.goRegs[ev.Goroutine()], typ)
		case xtrace.EventRegionEnd:
			run.ends[ev.Region().Type]++
		case xtrace.EventLog:
			l := ev.Log()
			if l.Category == TraceCategory {
				run.logs[ev.Goroutine()] = append(run.logs[ev.Goroutine()], l.Message)
			}
		}
	}
}

// markerLine returns the file and line holding the comment "SITE:name",
// in this package's test files (siteLine looks in record_test.go only).
func markerLine(t *testing.T, name string) (string, int) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(self), "*_test.go"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "// SITE:"+name) && !strings.Contains(l, "markerLine(") {
				return file, i + 1
			}
		}
	}
	t.Fatalf("no SITE:%s marker in %v", name, files)
	return "", 0
}

// traceRun takes an execution trace of fn with the annotations on.
func traceRun(t *testing.T, fn func()) []byte {
	t.Helper()
	if TraceTransactions(true) {
		t.Fatal("annotations were on before the test")
	}
	defer TraceTransactions(false)
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	fn()
	trace.Stop()
	return buf.Bytes()
}

// TestTraceRegionsAndConflicts runs a known write-write conflict with the
// annotations on, and reads the execution trace back: each Atomically is a
// region named by its call site, ended as often as begun, on the goroutine
// that ran it, and the conflict is logged on the victim's goroutine with
// both sides' lines.
func TestTraceRegionsAndConflicts(t *testing.T) {
	t.Run("unrecorded", func(t *testing.T) { testTraceRegionsAndConflicts(t, false) })
	t.Run("recorded", func(t *testing.T) { testTraceRegionsAndConflicts(t, true) })
}

// testTraceRegionsAndConflicts is TestTraceRegionsAndConflicts with the
// program recording (StartLog) or not (tracing keeps its own recording).
func testTraceRegionsAndConflicts(t *testing.T, recorded bool) {
	u := NewNamedVar("traced", 0)
	var buf bytes.Buffer
	if recorded {
		// The full level: at the profile level the first conflict on a Var
		// names no write site (storeSite).
		if err := StartLog(&buf, WithLevel(LevelFull)); err != nil {
			t.Fatal(err)
		}
	}
	// At the profile level a Var's sites are captured once it has been in
	// a conflict: make it so before the traced one.
	conflictOnce(u)
	data := traceRun(t, func() {
		readDone, fDone := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			first := true
			Atomically(func(tx *Tx) error { // SITE:trace-e-call
				x := u.Load(tx)
				if first {
					first = false
					close(readDone)
					<-fDone
				}
				u.Store(tx, x+1) // SITE:trace-e-write
				return nil
			})
		}()
		go func() {
			defer wg.Done()
			<-readDone
			Atomically(func(tx *Tx) error { // SITE:trace-f-call
				u.Store(tx, 10) // SITE:trace-f-write
				return nil
			})
			close(fDone)
		}()
		wg.Wait()
	})
	if recorded {
		if err := StopLog(); err != nil {
			t.Fatal(err)
		}
	}
	if cur.Load() != nil {
		t.Fatal("a recording is left on after tracing stopped")
	}
	run := parseTrace(t, data)

	name := func(marker string) string {
		file, line := markerLine(t, marker)
		return fmt.Sprintf("%s:%d", filepath.Base(file), line)
	}
	eCall := "stm stm.testTraceRegionsAndConflicts.func1.1 " + name("trace-e-call")
	fCall := "stm stm.testTraceRegionsAndConflicts.func1.2 " + name("trace-f-call")
	if run.regions[eCall] != 1 || run.regions[fCall] != 1 {
		t.Fatalf("regions %v, want one %q and one %q", run.regions, eCall, fCall)
	}
	for typ, n := range run.regions {
		if run.ends[typ] != n {
			t.Errorf("region %q begun %d times, ended %d", typ, n, run.ends[typ])
		}
	}
	var victim xtrace.GoID = -1
	for g, regs := range run.goRegs {
		if len(regs) == 1 && regs[0] == eCall {
			victim = g
		}
	}
	msgs := run.logs[victim]
	t.Logf("regions %v; victim logs %q", run.regions, msgs)
	if len(msgs) != 1 {
		t.Fatalf("conflict logs on the victim's goroutine %d: %q (all: %v)", victim, msgs, run.logs)
	}
	for _, want := range []string{"write-write on traced", "this ", name("trace-e-write"), "other thread ", name("trace-f-write")} {
		if !strings.Contains(msgs[0], want) {
			t.Errorf("conflict log %q does not contain %q", msgs[0], want)
		}
	}
}

// TestTraceQueueRegions checks that a Queue's transactions, which have no
// caller outside runtime/stm, are regions named after their body.
func TestTraceQueueRegions(t *testing.T) {
	v := NewVar(0)
	data := traceRun(t, func() {
		q := NewQueue()
		for range 5 {
			q.Add(func(tx *Tx) error { // SITE:trace-queue-body
				v.Store(tx, v.Load(tx)+1)
				return nil
			})
		}
		if err := q.Run(2); err != nil {
			t.Error(err)
		}
	})
	run := parseTrace(t, data)
	file, line := markerLine(t, "trace-queue-body")
	want := fmt.Sprintf("stm stm.TestTraceQueueRegions.func1.1 %s:%d", filepath.Base(file), line)
	if run.regions[want] != 5 || run.ends[want] != 5 {
		t.Fatalf("regions %v (ends %v), want 5 of %q", run.regions, run.ends, want)
	}
}

// TestTraceOffNoRegions checks that nothing is annotated with the switch
// off, and that a panic in a traced body still ends its region.
func TestTraceOffAndPanic(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	Atomically(func(tx *Tx) error { return nil })
	TraceTransactions(true)
	func() {
		defer func() { recover() }()
		Atomically(func(tx *Tx) error { panic("body panics") })
	}()
	TraceTransactions(false)
	trace.Stop()
	run := parseTrace(t, buf.Bytes())
	if len(run.regions) != 1 {
		t.Fatalf("regions %v, want only the panicking transaction's", run.regions)
	}
	for typ, n := range run.regions {
		if n != 1 || run.ends[typ] != 1 {
			t.Fatalf("region %q begun %d, ended %d times; want 1 and 1", typ, n, run.ends[typ])
		}
	}
}

// TestTraceHookAllocs checks that the hook allocates nothing, off or on
// without a trace being taken. It runs transactions on one context, as
// Atomically does with a pooled one (the race detector's pool drops
// contexts at random, which would count as allocations here).
func TestTraceHookAllocs(t *testing.T) {
	v := NewVar(0)
	body := func(tx *Tx) error { v.Load(tx); return nil }
	tx := txPool.Get().(*Tx)
	defer txPool.Put(tx)
	tx.run(body, nil)
	if n := testing.AllocsPerRun(100, func() { tx.run(body, nil) }); n != 0 {
		t.Errorf("off: %v allocations per read-only transaction, want 0", n)
	}
	TraceTransactions(true)
	defer TraceTransactions(false)
	if n := testing.AllocsPerRun(100, func() { tx.run(body, nil) }); n != 0 {
		t.Errorf("on, no trace taken: %v allocations per read-only transaction, want 0", n)
	}
	// A body that captures variables must not escape through the hook
	// (an early version handed it to reflect, which made it escape).
	s := 0
	if n := testing.AllocsPerRun(100, func() {
		Atomically(func(tx *Tx) error { s += v.Load(tx); return nil })
	}); n != 0 {
		t.Errorf("on, capturing body: %v allocations per read-only transaction, want 0", n)
	}
}

// TestSTMTRACELazy: STMTRACE=1 starts no recording before the first
// transaction, so a program that links runtime/stm and runs none (the
// stmlog tool, say) leaves the STMLOG file alone; the first transaction
// starts it.
func TestSTMTRACELazy(t *testing.T) {
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
		cmd.Env = append(os.Environ(), "STM_TEST_CHILD="+tc.child, "STMLOG="+path, "STMTRACE=1")
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "ran\n" {
			t.Fatalf("child %s: %v, output %q", tc.child, err, out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(data) != old; got != tc.created {
			t.Errorf("child %s with STMTRACE=1: log rewritten = %v, want %v", tc.child, got, tc.created)
		}
	}
}
