package stmhttp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/report/conflictprof"
	"github.com/stmlog/stmlog/runtime/stm"
)

// hotLine returns this file's name and the line holding "// SITE:name".
func hotLine(t *testing.T, name string) (string, int) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "// SITE:"+name) && !strings.Contains(l, "hotLine(") {
			return file, i + 1
		}
	}
	t.Fatalf("no SITE:%s marker in %s", name, file)
	return "", 0
}

// contend runs goroutines that conflict on one counter at a known line
// until the returned stop is called.
func contend(t *testing.T) (stop func()) {
	t.Helper()
	counter := stm.NewNamedVar("hot counter", 0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				stm.Atomically(func(tx *stm.Tx) error {
					// The read and the write on one line: both sides of
					// every conflict (write-write, and write-read pauses
					// at the read) are this line.
					counter.Store(tx, spin(counter.Load(tx))+1) // SITE:hot
					return nil
				})
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

// spin returns x after a while: long enough for others to commit
// meanwhile.
//
//go:noinline
func spin(x int) int {
	s := 0
	for i := range 2000 {
		s += i ^ x
	}
	return x + s&0
}

// settle waits for the goroutine count to come back to base (the
// handlers' goroutines and any recorder's flusher gone).
func settle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, want at most %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

// topLeaf is the leaf "file:line" with the most lost time, summed over the
// samples it is the leaf of (what -top -lines ranks first).
func topLeaf(p *profile.Profile) string {
	lost := map[string]int64{}
	best := "(no samples)"
	for _, s := range p.Sample {
		if len(s.Location) == 0 {
			continue
		}
		l := s.Location[0].Line[0]
		k := fmt.Sprintf("%s:%d", l.Function.Filename, l.Line)
		lost[k] += s.Value[3]
		if lost[k] > lost[best] {
			best = k
		}
	}
	return best
}

// TestConflictProfileOverHTTP serves the default mux on loopback, asks for
// the three views at once while the workload runs, and checks each
// profile's types and top sample; then that nothing is left running.
func TestConflictProfileOverHTTP(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := httptest.NewServer(http.DefaultServeMux)
	stop := contend(t)
	file, line := hotLine(t, "hot")
	want := fmt.Sprintf("%s:%d", file, line)

	var wg sync.WaitGroup
	for _, view := range conflictprof.Views {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/debug/pprof/stmconflicts?seconds=1&view=" + view.String())
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("%s view: status %d: %s", view, resp.StatusCode, b)
				return
			}
			p, err := profile.Parse(resp.Body)
			if err != nil {
				t.Errorf("%s view: %v", view, err)
				return
			}
			var types []string
			for _, st := range p.SampleType {
				types = append(types, st.Type)
			}
			if strings.Join(types, ",") != strings.Join(conflictprof.SampleTypes, ",") || p.DefaultSampleType != conflictprof.SampleLost {
				t.Errorf("%s view: sample types %v (default %s)", view, types, p.DefaultSampleType)
			}
			if p.DurationNanos < int64(time.Second) || p.DurationNanos > int64(3*time.Second) {
				t.Errorf("%s view: duration %v, want about 1s", view, time.Duration(p.DurationNanos))
			}
			tot := conflictprof.Totals(p)
			if tot[0] == 0 || tot[3] == 0 {
				t.Errorf("%s view: totals %v: no conflicts in a contended second", view, tot)
				return
			}
			for _, s := range p.Sample {
				if len(s.Label["kind"]) != 1 {
					t.Errorf("%s view: sample without a kind label: %v", view, s.Label)
				}
			}
			// The victim is the hot line; so is the culprit (the same
			// transaction on other goroutines); the pair view's leaf is the
			// victim's.
			if got := topLeaf(p); got != want {
				t.Errorf("%s view: top sample at %s, want %s", view, got, want)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		code, body, hdr := get(t, srv.URL+"/debug/pprof/stmconflicts?seconds=1&debug=1")
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Errorf("debug=1: status %d, type %s", code, hdr.Get("Content-Type"))
		}
		if !strings.Contains(string(body), fmt.Sprintf("%s:%d", filepath.Base(file), line)) && !strings.Contains(string(body), want) {
			t.Errorf("debug=1 text lacks %s:\n%s", want, body)
		}
	}()
	wg.Wait()
	stop()
	srv.Close()
	settle(t, base)
}

// TestGoToolPprofTop points the real `go tool pprof -top` at the endpoint:
// the first row is the conflicting line of the workload.
func TestGoToolPprofTop(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Fatalf("go command not found at %s: %v", goBin, err)
	}
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	stop := contend(t)
	defer stop()
	cmd := exec.Command(goBin, "tool", "pprof", "-top", "-lines", srv.URL+"/?seconds=2")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	_, line := hotLine(t, "hot")
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") && i+1 < len(lines) {
			first := lines[i+1]
			t.Logf("first row: %s", first)
			if want := fmt.Sprintf("stmhttp_test.go:%d", line); !strings.Contains(first, want) {
				t.Fatalf("first row %q does not name %s:\n%s", first, want, out)
			}
			if !strings.Contains(first, "contend.func1.1") {
				t.Fatalf("first row %q does not name the transaction's function:\n%s", first, out)
			}
			return
		}
	}
	t.Fatalf("no table in go tool pprof's output:\n%s", out)
}

// TestBadRequests checks that each bad parameter gets a 400 with one line
// saying what was wrong, at once (no window is recorded).
func TestBadRequests(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := httptest.NewServer(Handler())
	for _, c := range []struct{ query, want string }{
		{"seconds=0", `invalid value "0" for "seconds"`},
		{"seconds=-3", `invalid value "-3" for "seconds"`},
		{"seconds=abc", `invalid value "abc" for "seconds"`},
		{"seconds=1.5", `invalid value "1.5" for "seconds"`},
		{"seconds=99999999", `invalid value "99999999" for "seconds"`},
		{"view=caller", `invalid value for "view": unknown view "caller"`},
		{"sample=cpu", `invalid value "cpu" for "sample"`},
		{"debug=2", `invalid value "2" for "debug"`},
	} {
		start := time.Now()
		code, body, hdr := get(t, srv.URL+"/?"+c.query)
		if code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", c.query, code)
		}
		if !strings.HasPrefix(string(body), c.want) || strings.Count(string(body), "\n") != 1 {
			t.Errorf("%s: body %q, want one line starting %q", c.query, body, c.want)
		}
		if hdr.Get("X-Go-Pprof") != "1" {
			t.Errorf("%s: no X-Go-Pprof header, so go tool pprof would not print the reason", c.query)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v: a bad request must not wait for a window", c.query, d)
		}
	}
	srv.Close()

	// A window the server's WriteTimeout would cut off.
	ts := httptest.NewUnstartedServer(Handler())
	ts.Config.WriteTimeout = 5 * time.Second
	ts.Start()
	code, body, _ := get(t, ts.URL+"/?seconds=10")
	if code != http.StatusBadRequest || !strings.Contains(string(body), "exceeds the server's WriteTimeout") {
		t.Errorf("seconds=10 with WriteTimeout 5s: status %d, %q", code, body)
	}
	ts.Close()
	settle(t, base)
}

// TestClientGoesAway cancels a 30-second request after a moment: the
// handler must end its window then, and leave no goroutine or recording
// behind.
func TestClientGoesAway(t *testing.T) {
	base := runtime.NumGoroutine()
	h, serving := Handler(), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(serving)
		h.ServeHTTP(w, r)
	}))
	stop := contend(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/?seconds=30", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	// Go away once the handler has the request (before, there would be
	// nothing to notice), and while its 30 s window runs.
	<-serving
	cancel()
	if err := <-errc; err == nil {
		t.Error("the cancelled request got an answer")
	}
	start := time.Now()
	stop()
	srv.Close() // waits for the handler to return
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the handler took %v to notice the client had gone", d)
	}
	http.DefaultClient.CloseIdleConnections()
	settle(t, base)
}

// TestProfileWhileRecording checks that a profile request taps a running
// recording instead of failing or stopping it: the log stays complete.
func TestProfileWhileRecording(t *testing.T) {
	var log bytes.Buffer
	if err := stm.StartLog(&log); err != nil {
		t.Fatal(err)
	}
	stop := contend(t)
	p, _, err := Profile(context.Background(), 500*time.Millisecond, conflictprof.ViewThis, "")
	stop()
	if err != nil {
		t.Fatal(err)
	}
	if err := stm.StopLog(); err != nil {
		t.Fatalf("StopLog after a live profile: %v", err)
	}
	file, line := hotLine(t, "hot")
	if got, want := topLeaf(p), fmt.Sprintf("%s:%d", file, line); got != want {
		t.Errorf("top sample at %s, want %s", got, want)
	}
	r, err := logformat.NewReader(bytes.NewReader(log.Bytes()), logformat.ReaderOptions{Name: "recorded"})
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(analyze.Options{})
	if err := a.Add(r); err != nil {
		t.Fatal(err)
	}
	if s := a.Summary(); s.Conflicts == 0 || !r.Stats().CleanEnd {
		t.Errorf("the program's log: %d conflicts, clean end %v", s.Conflicts, r.Stats().CleanEnd)
	}
}
