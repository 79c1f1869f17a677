package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/webui"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/report"
)

func TestWebListenAddr(t *testing.T) {
	// webui.TestCheckListenAddr has the addresses; here, how the command says no.
	code, _, stderr := pprofRun(t, "web", "--http", "0.0.0.0:8080", "x.log")
	if code != 2 || !strings.Contains(stderr, "--allow-remote") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("web --http 0.0.0.0:8080: exit %d, stderr %q; want exit 2 and one line naming --allow-remote", code, stderr)
	}

	// A port in use: one line, exit 1, after the log was read.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	log := pprofTestLog(t, t.TempDir())
	code, _, stderr = pprofRun(t, "web", "--http", busy.Addr().String(), log)
	if code != 1 || !strings.Contains(stderr, "address already in use") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("web on a busy port: exit %d, stderr %q; want exit 1, one line", code, stderr)
	}
}

func webGet(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// TestWebHandler checks every page the index links to, in process.
func TestWebHandler(t *testing.T) {
	dir := t.TempDir()
	log := pprofTestLog(t, dir)
	profiles, info, err := loadPprofProfiles([]string{log}, &loadFlags{}, report.PprofViews, report.SampleLost, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h, err := webui.NewHandler(profiles, info.index(), anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := srv.Client()

	code, index := webGet(t, c, srv.URL+"/")
	if code != 200 {
		t.Fatalf("index: status %d", code)
	}
	for _, v := range report.PprofViews {
		for _, s := range report.PprofSampleTypes {
			link := fmt.Sprintf(`href="./%s/flamegraph?si=%s"`, v, s)
			if !strings.Contains(index, link) {
				t.Errorf("index lacks %s", link)
			}
		}
	}
	if !strings.Contains(index, "lost: <b>1.700µs</b>") || !strings.Contains(index, "conflicts: <b>6</b>") {
		t.Errorf("index does not show the totals:\n%s", index)
	}

	tests := []struct {
		path string
		want []string
		not  []string
	}{
		{"/this/flamegraph?si=lost", []string{"stack-chart", "example.com/shop.addItem", "example.com/shop.logRequest"}, []string{"shop.flushCart"}},
		{"/other/flamegraph?si=aborted", []string{"stack-chart", "example.com/shop.flushCart"}, nil},
		{"/pair/flamegraph?si=conflicts", []string{"conflict: write-read", "conflict: inevitable", "example.com/shop.flushCart"}, nil},
		{"/this/top?si=conflicts", []string{"example.com/shop.addItem", "example.com/shop.handle"}, nil},
		{"/this/source?si=lost&f=shop.addItem", []string{"ADD-ITEM-READ"}, nil},
		{"/pair/", []string{"stack-chart"}, nil}, // redirected to the flame graph
	}
	for _, tc := range tests {
		code, body := webGet(t, c, srv.URL+tc.path)
		if code != 200 {
			t.Errorf("%s: status %d\n%s", tc.path, code, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tc.path, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(body, w) {
				t.Errorf("%s shows %q, which belongs to another view", tc.path, w)
			}
		}
	}

	// Line granularity by default: handle's two call sites are two rows of
	// top; every pprof page links back to the index; the timeline page
	// draws the log and refuses a bad window or log number.
	if _, body := webGet(t, c, srv.URL+"/this/top?si=lost"); !strings.Contains(body, "shop.go:4") || !strings.Contains(body, "shop.go:5") {
		t.Errorf("top is not at line granularity:\n%.3000s", body)
	}
	for _, path := range []string{"/this/top", "/other/flamegraph", "/pair/source?f=shop.addItem"} {
		if _, body := webGet(t, c, srv.URL+path); !strings.Contains(body, `id="stmlog-nav"`) {
			t.Errorf("%s has no link back to the index", path)
		}
	}
	if code, body := webGet(t, c, srv.URL+"/timeline/0?from=0s&to=1ms"); code != 200 || !strings.Contains(body, `<svg id="timeline"`) {
		t.Errorf("timeline: status %d\n%.2000s", code, body)
	}
	for path, want := range map[string]int{"/timeline/1": 404, "/timeline/x": 404, "/timeline/0?from=soon": 400} {
		if code, _ := webGet(t, c, srv.URL+path); code != want {
			t.Errorf("%s: status %d, want %d", path, code, want)
		}
	}

	resp, err := c.Get(srv.URL + "/this/download")
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if got, want := report.PprofTotals(p), pprofWantTotals(t, analyze.Options{}, log); !slices.Equal(got, want) {
		t.Errorf("downloaded profile totals %v, analyze %v", got, want)
	}
	for _, path := range []string{"/nope/", "/this/nope", "/index.html"} {
		if code, _ := webGet(t, c, srv.URL+path); code != 404 {
			t.Errorf("%s: status %d, want 404", path, code)
		}
	}
}

var webURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)

// webServer is `stmlog web` running in this process through run(), the
// function main calls, so its exit status is main's.
type webServer struct {
	url    string
	mu     sync.Mutex
	stdout bytes.Buffer // after the URL line
	stderr bytes.Buffer
	code   int
	done   chan struct{}
}

func startWeb(t *testing.T, args ...string) *webServer {
	t.Helper()
	s := &webServer{done: make(chan struct{})}
	pr, pw := io.Pipe()
	read := make(chan struct{})
	go func() {
		code := run(append([]string{"web"}, args...), pw, &s.stderr)
		pw.Close()
		<-read // all output copied
		s.mu.Lock()
		s.code = code
		s.mu.Unlock()
		close(s.done)
	}()
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(pr)
		line, _ := r.ReadString('\n')
		first <- line
		b, _ := io.ReadAll(r)
		s.mu.Lock()
		s.stdout.Write(b)
		s.mu.Unlock()
		close(read)
	}()
	select {
	case line := <-first:
		s.url = webURL.FindString(line)
		if s.url == "" {
			<-s.done
			t.Fatalf("stmlog web printed %q, no URL (stderr %q)", line, s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("stmlog web did not start within 60s")
	}
	return s
}

// interrupt sends this process SIGINT, as Ctrl-C does; the command (which
// registered for it before printing its URL) must stop and exit 0.
func (s *webServer) interrupt(t *testing.T) int {
	t.Helper()
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(os.Interrupt); err != nil {
		t.Fatal(err) // on Windows a process cannot interrupt itself this way
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("stmlog web did not stop within 30s of SIGINT")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code
}

// TestWebSIGINT: Ctrl-C stops the server and exits 0.
func TestWebSIGINT(t *testing.T) {
	log := pprofTestLog(t, t.TempDir())
	s := startWeb(t, log)
	if code, body := webGet(t, http.DefaultClient, s.url+"this/top"); code != 200 || !strings.Contains(body, "shop.addItem") {
		t.Fatalf("top: status %d", code)
	}
	if code := s.interrupt(t); code != 0 {
		t.Fatalf("exit %d after SIGINT, want 0; stderr %q", code, s.stderr.String())
	}
	s.mu.Lock()
	out := s.stdout.String()
	s.mu.Unlock()
	if !strings.Contains(out, "stopped") {
		t.Errorf("no goodbye line after SIGINT: %q", out)
	}
	if _, err := http.Get(s.url); err == nil {
		t.Error("server still answers after SIGINT")
	}
}

// webChromium finds Chromium ($CHROMIUM if set, as for
// scripts/browser-test), or says why the browser test cannot run: with
// STMLOG_BROWSER_TEST=1 (CI) a missing browser is a failure.
func webChromium(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"}
	if c := os.Getenv("CHROMIUM"); c != "" {
		candidates = []string{c}
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil && os.Getenv("CHROMIUM") == "" {
		return p
	}
	msg := fmt.Sprintf("Chromium not found (%s); install it with: apt-get install -y --no-install-recommends chromium", strings.Join(candidates, ", "))
	if os.Getenv("STMLOG_BROWSER_TEST") == "1" {
		t.Fatal(msg + " (STMLOG_BROWSER_TEST=1 requires the browser test)")
	}
	t.Skip(msg + "; set STMLOG_BROWSER_TEST=1 to make this a failure")
	return ""
}

// chromium runs headless Chromium with the given mode flag on url. A
// browser that crashes (killed by a signal: seen now and then on a loaded
// machine, whatever the page) is started once more; any other failure, or a
// second crash, fails the test.
func chromium(t *testing.T, bin, mode, url string) []byte {
	for attempt := 1; ; attempt++ {
		out, err := chromiumOnce(t, bin, mode, url)
		if err == nil {
			return out
		}
		var ee *exec.ExitError
		if attempt == 1 && errors.As(err, &ee) && ee.ProcessState != nil && !ee.ProcessState.Exited() {
			t.Logf("chromium %s %s crashed (%v); starting it again", mode, url, err)
			continue
		}
		// Errorf, not Fatalf: this runs in goroutines.
		t.Errorf("chromium %s %s: %v", mode, url, err)
		return nil
	}
}

func chromiumOnce(t *testing.T, bin, mode, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--window-size=1400,900", mode, url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("timed out after 90s")
	}
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

var webBoxText = regexp.MustCompile(`<div class="boxtext"[^>]*>([^<]*)</div>`)

// TestWebBrowser loads the flame graphs of a running `stmlog web` in real
// headless Chromium: the DOM must hold the boxes pprof's JavaScript draws,
// one per source line (handle's two call sites are two boxes), with the
// link back to the index, and a screenshot must show them. The offline
// timeline page must draw every attempt, and show in a screenshot too.
func TestWebBrowser(t *testing.T) {
	bin := webChromium(t)
	log := pprofTestLog(t, t.TempDir())
	s := startWeb(t, log)

	// Chromium takes seconds to start on a busy machine: run the pages at
	// once. pair draws both sides' stacks, this is the default view.
	tests := []struct {
		page string
		want []string // box labels that must be drawn
	}{
		{"this/flamegraph?si=lost", []string{"root", "shop.handle:4", "shop.handle:5", "shop.addItem:9", "shop.logRequest:17"}},
		{"pair/flamegraph?si=aborted", []string{"root", "shop.flushCart:13", "conflict: write-read", "shop.addItem:9", "shop.handle:4"}},
	}
	doms := make([]string, len(tests))
	dir := t.TempDir()
	shot, tlShot := filepath.Join(dir, "flamegraph.png"), filepath.Join(dir, "timeline.png")
	var index, tlDOM string
	var wg sync.WaitGroup
	for i, tc := range tests {
		wg.Go(func() { doms[i] = string(chromium(t, bin, "--dump-dom", s.url+tc.page)) })
	}
	wg.Go(func() { chromium(t, bin, "--screenshot="+shot, s.url+"pair/flamegraph?si=lost") })
	wg.Go(func() { index = string(chromium(t, bin, "--dump-dom", s.url)) })
	wg.Go(func() { tlDOM = string(chromium(t, bin, "--dump-dom", s.url+"timeline/0")) })
	wg.Go(func() { chromium(t, bin, "--screenshot="+tlShot, s.url+"timeline/0") })
	wg.Wait()
	if t.Failed() {
		return
	}
	webCheckTimelineDOM(t, index, tlDOM)
	if c := webColours(t, tlShot); c < 6 {
		t.Errorf("timeline screenshot %s has %d colours: not a drawn timeline", tlShot, c)
	}

	for i, tc := range tests {
		dom := doms[i]
		if !strings.Contains(dom, `id="stack-chart"`) {
			t.Errorf("%s: no flame graph in the DOM:\n%.2000s", tc.page, dom)
			continue
		}
		var boxes []string
		for _, m := range webBoxText.FindAllStringSubmatch(dom, -1) {
			boxes = append(boxes, m[1])
		}
		if !strings.Contains(dom, `id="stmlog-nav"`) || !strings.Contains(dom, `<a href="../">index</a>`) {
			t.Errorf("%s: no link back to the index", tc.page)
		}
		for _, w := range tc.want {
			found := false
			for _, b := range boxes {
				found = found || strings.HasSuffix(b, w)
			}
			if !found {
				t.Errorf("%s: no box labelled %q; boxes drawn: %q", tc.page, w, boxes)
			}
		}
	}

	// The flame graph paints boxes in several colours on pprof's grey page;
	// an error page or a blank one has two or three colours.
	if c := webColours(t, shot); c < 8 {
		t.Errorf("screenshot %s has %d colours: not a drawn flame graph", shot, c)
	}

	if code := s.interrupt(t); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0; stderr %q", code, s.stderr.String())
	}
}

// webColours counts the colours of a screenshot at least 800 pixels wide.
func webColours(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	colours := map[uint32]bool{}
	b := img.Bounds()
	if b.Dx() < 800 {
		t.Errorf("screenshot %s is %dx%d", path, b.Dx(), b.Dy())
	}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
		}
	}
	return len(colours)
}

// webCheckTimelineDOM: the index links the timeline, and the page as the
// browser built it holds one track per thread of the test log, its 4
// aborted attempts (pprofTestLog), the conflict arrows, and the way back.
func webCheckTimelineDOM(t *testing.T, index, dom string) {
	t.Helper()
	if !strings.Contains(index, `class="timeline" href="./timeline/0"`) {
		t.Errorf("the index does not link the timeline:\n%s", index)
	}
	for _, w := range []string{`<svg id="timeline"`, `id="thread-1"`, `id="thread-2"`, `id="thread-3"`, `id="back" href="../"`, `class="flow"`} {
		if !strings.Contains(dom, w) {
			t.Errorf("timeline page lacks %q:\n%.3000s", w, dom)
		}
	}
	if n := strings.Count(dom, `fill="#e53935"`); n != 4 {
		t.Errorf("timeline page draws %d aborted attempts, want 4", n)
	}
}

// TestWebOpenAndWarnings: --open (and only --open) shows the served URL in a
// browser; the log's warnings reach stderr and the index page.
func TestWebOpenAndWarnings(t *testing.T) {
	const log = "../../testdata/logs/small.stmlog" // records 3 dropped events
	for _, open := range []bool{false, true} {
		t.Run(fmt.Sprint("open=", open), func(t *testing.T) {
			var opened []string
			f := &webFlags{http: "127.0.0.1:0", open: open, opener: func(u string) error {
				opened = append(opened, u)
				return nil
			}}
			ctx, cancel := context.WithCancel(context.Background())
			pr, pw := io.Pipe()
			var stderr bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- runWeb(ctx, pw, &stderr, []string{log}, f)
				pw.Close()
			}()
			r := bufio.NewReader(pr)
			line, _ := r.ReadString('\n')
			go io.Copy(io.Discard, r)
			url := webURL.FindString(line)
			if url == "" {
				cancel()
				t.Fatalf("no URL in %q: %v", line, <-done)
			}
			_, index := webGet(t, http.DefaultClient, url)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if want := []string{url}; open != (len(opened) == 1) || (open && !slices.Equal(opened, want)) {
				t.Errorf("--open=%v opened %q", open, opened)
			}
			if !strings.Contains(stderr.String(), "warning: "+log+": 3 events were dropped") {
				t.Errorf("stderr lacks the dropped-events warning: %q", stderr.String())
			}
			if !strings.Contains(index, "3 events were dropped") {
				t.Errorf("index page lacks the dropped-events warning")
			}
		})
	}
}

// TestWebIndexHints checks that the index page lists the hints it is given,
// a group's with its rank and site, the run's as the whole run's.
func TestWebIndexHints(t *testing.T) {
	log := pprofTestLog(t, t.TempDir())
	profiles, info, err := loadPprofProfiles([]string{log}, &loadFlags{}, report.PprofViews, report.SampleLost, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	info.Hints = []webui.Hint{
		{Rank: 2, Kind: "write-read", Site: "shop.go:12 in shop.addItem", Lost: "1µs", ID: "hot-var", Text: "every thread writes cart: shard it"},
		{ID: "retry-waits", Text: "Retry waits are 80% of the time lost"},
	}
	h, err := webui.NewHandler(profiles, info.index(), anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	code, index := webGet(t, srv.Client(), srv.URL+"/")
	if code != 200 {
		t.Fatalf("index: status %d", code)
	}
	for _, want := range []string{"<h2>What to change</h2>",
		"#2 write-read at <code>shop.go:12 in shop.addItem</code> (1µs lost): every thread writes cart: shard it <small>[hot-var]</small>",
		"the whole run: Retry waits are 80% of the time lost <small>[retry-waits]</small>"} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %q:\n%s", want, index)
		}
	}
}
