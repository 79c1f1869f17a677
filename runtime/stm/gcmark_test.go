package stm

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Atomically and setRecQuiet store tx.rec, a pointer, without the write
// barrier (recthread.go says why that is safe: the thread stays reachable
// through tx.lastGThread and the recorder's thread list). The collector's
// checkmark mode re-marks the heap after every cycle and dies if the
// concurrent mark missed an object that is still reachable, so a child run
// under GODEBUG=gccheckmark=1 that keeps the collector busy while counted
// calls, contended calls, new goroutines and new recorders come and go
// fails if that argument has a hole that these paths can reach.
func TestRecPointerSurvivesGC(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STM_TEST_CHILD=gcmark", "STMLOG=", "GODEBUG=gccheckmark=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var calls, cycles uint64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "calls %d cycles %d", &calls, &cycles); err != nil {
		t.Fatalf("child said %q", out)
	}
	if calls < 1000 || cycles < 3 {
		t.Fatalf("the child ran %d calls over %d collections: too few to test anything", calls, cycles)
	}
	t.Logf("%d calls over %d checked collections", calls, cycles)
}

// childGCMark is TestRecPointerSurvivesGC's child: for 600 ms or more,
// short-lived goroutines run counted calls (the quiet path) and, on a
// shared Var, contended ones (the hooked path), while one goroutine
// collects without pause and another restarts the recorder every few
// milliseconds, so the contexts' threads belong to recorders that are gone.
func childGCMark() {
	if err := StartLog(io.Discard); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	var stop atomic.Bool
	var calls, cycles atomic.Uint64
	var wg sync.WaitGroup
	shared := NewVar(0)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			runtime.GC()
			cycles.Add(1)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		levels := []Level{LevelFull, LevelProfile}
		for i := 0; !stop.Load(); i++ {
			time.Sleep(3 * time.Millisecond)
			err := StopLog()
			if err == nil {
				err = StartLog(io.Discard, WithLevel(levels[i%2]))
			}
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
		}
	}()
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := NewVar(0)
			for !stop.Load() {
				var inner sync.WaitGroup
				inner.Add(1)
				go func() { // a new goroutine: a new thread for each recorder
					defer inner.Done()
					for i := range 200 {
						v := own
						if (i+w)%8 == 0 {
							v = shared
						}
						Atomically(func(tx *Tx) error { v.Store(tx, v.Load(tx)+1); return nil })
						calls.Add(1)
					}
				}()
				inner.Wait()
			}
		}()
	}
	// 600 ms at least, and then until there is enough to test: a loaded
	// machine may fit only two checked collections (each marks twice) in
	// that time.
	time.Sleep(600 * time.Millisecond)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && (cycles.Load() < 4 || calls.Load() < 2000); {
		time.Sleep(50 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	StopLog()
	fmt.Printf("calls %d cycles %d\n", calls.Load(), cycles.Load())
	os.Exit(0)
}
