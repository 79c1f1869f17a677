package stmhttp

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/report"
	"github.com/stmlog/stmlog/runtime/stm"
)

// TestFlightEndpoint: without a flight recorder the endpoint says so;
// with one, it serves a log whose report (what `stmlog report` prints)
// puts the workload's conflicting line first; after Stop it says so again
// and nothing is left running.
func TestFlightEndpoint(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := httptest.NewServer(http.DefaultServeMux)
	url := srv.URL + "/debug/pprof/stmflight"
	if code, body, _ := get(t, url); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "no stm.FlightRecorder is running") {
		t.Fatalf("without a flight recorder: %d %q", code, body)
	}
	fr := stm.NewFlightRecorder(stm.FlightRecorderConfig{MinAge: 5 * time.Second})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	stop := contend(t)
	time.Sleep(500 * time.Millisecond)
	stop() // the incident is over; the window still has it
	code, body, hdr := get(t, url)
	if code != 200 || hdr.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("status %d, type %s: %.200s", code, hdr.Get("Content-Type"), body)
	}
	r, err := logformat.NewReader(bytes.NewReader(body), logformat.ReaderOptions{Name: "stmflight"})
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(analyze.Options{})
	if err := a.Add(r); err != nil {
		t.Fatal(err)
	}
	sum := a.Summary()
	if !r.Stats().CleanEnd || len(sum.Groups) == 0 {
		t.Fatalf("clean end %v, %d conflict groups", r.Stats().CleanEnd, len(sum.Groups))
	}
	file, line := hotLine(t, "hot")
	if top := sum.Groups[0].Site; top == nil || top.Frames[0].File != file || top.Frames[0].Line != line {
		t.Errorf("top group's site %v, want %s:%d", top, file, line)
	}
	var text strings.Builder
	if err := report.Text(&text, sum, report.Options{Top: 1, NoSource: true}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("stmhttp_test.go:%d", line); !strings.Contains(text.String(), want) {
		t.Errorf("report lacks %s:\n%s", want, text.String())
	}

	fr.Stop()
	if code, _, _ := get(t, url); code != http.StatusServiceUnavailable {
		t.Errorf("after Stop: status %d, want 503", code)
	}
	if code, body, _ := get(t, srv.URL+"/debug/pprof/stmflight"); code != http.StatusServiceUnavailable || strings.Count(string(body), "\n") != 1 {
		t.Errorf("after Stop: %d %q", code, body)
	}
	// An explicit, stopped recorder.
	rec := httptest.NewRecorder()
	FlightHandler(fr).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("FlightHandler of a stopped recorder: %d", rec.Code)
	}
	srv.Close()
	http.DefaultClient.CloseIdleConnections()
	settle(t, base)
}
