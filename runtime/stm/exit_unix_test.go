//go:build unix

package stm

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stmlog/stmlog/logformat"
)

// logCommits counts the commits a log holds: commit events plus the
// commits of its aggregate records.
func logCommits(t *testing.T, data []byte) (uint64, *logformat.Reader) {
	t.Helper()
	evs, aggs, r := readLogAggs(t, data)
	n := aggCommits(aggs)
	for _, ev := range evs {
		if ev.Kind == logformat.KindTxCommit {
			n++
		}
	}
	return n, r
}

// A 500 ms program that exits without StopLog keeps at least 96 % of its
// commits in the log at the profile level: only the last flush interval or
// two is lost. At the full level the loss is the flusher's backlog, which
// depends on how far encoding every event lags behind the program on a
// busy machine: the log must still read, with commits.
func TestExitWithoutStopLog(t *testing.T) {
	for _, level := range []string{"profile", "all"} {
		t.Run(level, func(t *testing.T) {
			// What is lost is what the flusher had not written when the
			// program exited: on a loaded machine it may have waited for a
			// processor longer than its period, so a short count is tried
			// again, twice at most; a recorder that loses more every time
			// still fails.
			for try := 1; ; try++ {
				got, ran := exitWithoutStopLog(t, level)
				if level != "profile" || float64(got) >= 0.96*float64(ran) {
					break
				}
				if try == 3 {
					t.Fatalf("%d of %d commits in the log, want at least 96 %%", got, ran)
				}
			}
		})
	}
}

// exitWithoutStopLog runs a child that records for 500 ms at level and
// exits without StopLog, and returns how many of the commits it counted
// its log holds.
func exitWithoutStopLog(t *testing.T, level string) (got, ran uint64) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "exit.log")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STM_TEST_CHILD=exit", "STM_TEST_MS=500", "STMLOG="+log, "STMLOG_EVENTS="+level)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	ran, err = strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || ran == 0 {
		t.Fatalf("child said %q", out)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	got, r := logCommits(t, data)
	if r.Stats().CleanEnd {
		t.Fatal("a log the program did not stop claims a clean end")
	}
	t.Logf("%d of %d commits in the log (%.2f %%), %d bytes", got, ran, 100*float64(got)/float64(ran), len(data))
	if got > ran || got == 0 {
		t.Fatalf("%d of %d commits in the log", got, ran)
	}
	return got, ran
}

// startChild starts a child that runs contended transactions until it is
// stopped, recorded through STMLOG, and waits until it has flushed a few
// chunks (its "ready", childForever).
func startChild(t *testing.T, mode string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "child.log")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "STM_TEST_CHILD="+mode, "STMLOG="+log), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" { // said once a few chunks are on disk
		cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	return cmd, log
}

// checkLog is what stmlog check does: the whole log reads, and it ends
// with its end marker.
func checkLog(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := logformat.NewReader(bytes.NewReader(data), logformat.ReaderOptions{Name: path})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err != nil {
			if err != io.EOF {
				t.Fatalf("log damaged: %v", err)
			}
			break
		}
		n++
	}
	st := r.Stats()
	if !st.CleanEnd || st.TruncatedBytes != 0 || len(st.Warnings) != 0 {
		t.Fatalf("log not complete: %+v", st)
	}
	if n < 100 {
		t.Fatalf("only %d events", n)
	}
}

// SIGTERM and SIGINT complete the log, then end the process as they would
// without recording: killed by the signal.
func TestSignalCompletesLog(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, log := startChild(t, "forever")
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("child ended with %v, want killed by %v", err, sig)
			}
			if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != sig {
				t.Fatalf("child ended with %v, want killed by %v", err, sig)
			}
			checkLog(t, log)
		})
	}
}

// A program that handles SIGTERM itself keeps its handling: it ends the
// log and exits as it chooses.
func TestSignalHandledByProgram(t *testing.T) {
	cmd, log := startChild(t, "handles")
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("child ended with %v, want its own exit status 7", err)
	}
	checkLog(t, log)
}

// STMLOG_SIGNALS=0 leaves signals alone: SIGTERM kills at once, and the
// log is cut off but readable.
func TestSignalsLeftAlone(t *testing.T) {
	cmd, log := startChild(t, "forever", "STMLOG_SIGNALS=0")
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("child ended with %v, want killed by SIGTERM", err)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	_, r := readLog(t, data)
	if r.Stats().CleanEnd {
		t.Fatal("log has an end marker though stm left SIGTERM alone")
	}
}
