// Package stmhttp serves live STM conflict profiles over HTTP, the way
// net/http/pprof serves CPU and heap profiles, so that
//
//	go tool pprof -top http://host:port/debug/pprof/stmconflicts?seconds=10
//
// shows where a running server loses time to conflicts, without STMLOG and
// without a restart. Importing the package for its side effect registers
// its handlers on http.DefaultServeMux:
//
//	import _ "github.com/stmlog/stmlog/runtime/stm/stmhttp"
//
//	/debug/pprof/stmconflicts  the conflicts of the next ?seconds=N (default 30)
//	/debug/pprof/stmflight     the running stm.FlightRecorder's window, as a log
//
// Handler and FlightHandler return the same handlers for other muxes.
//
// A conflict profile has the sample types (conflicts, aborted, paused and
// lost nanoseconds), the views (?view=this|other|pair) and the labels
// (kind, other) of `stmlog pprof`, because it is built by the same code
// (package report/conflictprof, from the same analysis) from the events of
// the window: ?sample= picks the default sample type, ?debug=1 returns text
// instead of the gzipped profile.proto. Bad parameters get a 400 with a
// one-line reason, as net/http/pprof does.
//
// The package is separate from runtime/stm so that the STM does not link
// net/http. A profile request costs nothing until it comes: for its window
// it opens a stm.Tap, which taps the program's recorder if the program
// records (STMLOG, StartLog) and otherwise turns on an in-memory recording
// that writes no log and stops when the last request (or flight recorder)
// is done. Either way the window holds what a profile-level log holds: the
// transactions that met contention in full, the others counted. Requests are independent; several may run at once. A client
// that goes away ends its window early and leaves nothing running.
//
// /debug/pprof/stmflight writes what the running flight recorder holds
// (stm.NewFlightRecorder(...).Start() starts one) as a native stmlog log,
// which `stmlog report`, `stmlog pprof` and the other commands read:
//
//	curl -o incident.stmlog http://host:port/debug/pprof/stmflight
//	stmlog report incident.stmlog
package stmhttp

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/report/conflictprof"
	"github.com/stmlog/stmlog/runtime/stm"
)

func init() {
	http.Handle("/debug/pprof/stmconflicts", Handler())
	http.Handle("/debug/pprof/stmflight", FlightHandler(nil))
}

// DefaultSeconds is the window of a conflict profile request without
// ?seconds=, as for net/http/pprof's CPU profile.
const DefaultSeconds = 30

// MaxSeconds bounds ?seconds=: a window longer than a day is surely a
// typo.
const MaxSeconds = 24 * 60 * 60

// Handler serves conflict profiles (see the package doc).
func Handler() http.Handler { return http.HandlerFunc(serveConflicts) }

// request is a parsed conflict profile request.
type request struct {
	window time.Duration
	view   conflictprof.View
	sample string
	debug  bool
}

// parseRequest checks the query; its error is the one line a 400 says.
func parseRequest(r *http.Request) (request, error) {
	q := r.URL.Query()
	req := request{window: DefaultSeconds * time.Second, sample: conflictprof.SampleLost}
	if s := q.Get("seconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > MaxSeconds {
			return req, fmt.Errorf("invalid value %q for \"seconds\": want a whole number of seconds from 1 to %d", s, MaxSeconds)
		}
		req.window = time.Duration(n) * time.Second
	}
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.WriteTimeout > 0 && req.window >= srv.WriteTimeout {
		return req, fmt.Errorf("profile duration %v exceeds the server's WriteTimeout (%v)", req.window, srv.WriteTimeout)
	}
	if s := q.Get("view"); s != "" {
		v, err := conflictprof.ParseView(s)
		if err != nil {
			return req, fmt.Errorf("invalid value for \"view\": %v", err)
		}
		req.view = v
	}
	if s := q.Get("sample"); s != "" {
		if !slices.Contains(conflictprof.SampleTypes, s) {
			return req, fmt.Errorf("invalid value %q for \"sample\": want %s", s, strings.Join(conflictprof.SampleTypes, ", "))
		}
		req.sample = s
	}
	switch s := q.Get("debug"); s {
	case "", "0":
	case "1":
		req.debug = true
	default:
		return req, fmt.Errorf("invalid value %q for \"debug\": want 0 or 1", s)
	}
	return req, nil
}

func serveConflicts(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	req, err := parseRequest(r)
	if err != nil {
		serveError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, sum, err := Profile(r.Context(), req.window, req.view, req.sample)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away: nobody to answer
		}
		serveError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if req.debug {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeText(w, p, sum)
		return
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		serveError(w, http.StatusInternalServerError, "writing the profile: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="stmconflicts"`)
	w.Write(buf.Bytes())
}

// serveError answers with one line, marked for go tool pprof (which then
// prints it instead of "failed to parse profile").
func serveError(w http.ResponseWriter, status int, txt string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Go-Pprof", "1")
	w.Header().Del("Content-Disposition")
	w.WriteHeader(status)
	fmt.Fprintln(w, txt)
}

// Profile records the conflicts of the next window (or until ctx is done,
// which returns ctx's error) and returns their profile in the given view
// with the given default sample type, and the analysis it was built from.
// It is what the handler serves, for programs that want the profile
// without HTTP.
func Profile(ctx context.Context, window time.Duration, view conflictprof.View, sample string) (*profile.Profile, *analyze.Summary, error) {
	tap, err := stm.NewTap()
	if err != nil {
		return nil, nil, err
	}
	a := analyze.New(analyze.Options{})
	read := make(chan error, 1)
	go func() { read <- a.AddNamed("live", tap) }()
	t := time.NewTimer(window)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	tap.Close()
	if err := <-read; err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	elapsed := time.Since(tap.Start())
	sum := a.Summary()
	host, _ := os.Hostname()
	p, err := conflictprof.FromSummary(sum, conflictprof.Options{
		View:          view,
		Sample:        sample,
		DurationNanos: int64(elapsed),
		TimeNanos:     tap.Start().UnixNano(),
		Comments: append([]string{
			"stmlog: time lost to STM conflicts, " + view.String() + " view",
			fmt.Sprintf("live: %v from %s, %s pid %d", elapsed.Round(time.Millisecond), tap.Start().Format(time.RFC3339), host, os.Getpid()),
		}, sum.Warnings...),
	})
	if err != nil {
		return nil, nil, err
	}
	return p, sum, nil
}

// writeText is ?debug=1: the profile's samples, most lost time first, each
// with its stack, like net/http/pprof's debug=1 text.
func writeText(w http.ResponseWriter, p *profile.Profile, sum *analyze.Summary) {
	var b strings.Builder
	t := conflictprof.Totals(p)
	fmt.Fprintf(&b, "stm conflicts: %d conflicts, %v lost (%v aborted, %v paused) in %v\n",
		t[0], time.Duration(t[3]), time.Duration(t[1]), time.Duration(t[2]), time.Duration(p.DurationNanos).Round(time.Millisecond))
	fmt.Fprintf(&b, "transactions: %d committed, %d aborted attempts\n", sum.Commits, sum.Aborts)
	for _, c := range p.Comments {
		fmt.Fprintf(&b, "# %s\n", c)
	}
	samples := slices.Clone(p.Sample)
	slices.SortStableFunc(samples, func(x, y *profile.Sample) int { return cmp.Compare(y.Value[3], x.Value[3]) })
	for _, s := range samples {
		fmt.Fprintf(&b, "\n%v lost (%v aborted, %v paused), %d conflicts, kind %s",
			time.Duration(s.Value[3]), time.Duration(s.Value[1]), time.Duration(s.Value[2]), s.Value[0], strings.Join(s.Label["kind"], ","))
		if o := s.Label["other"]; len(o) > 0 {
			fmt.Fprintf(&b, ", other %s", o[0])
		}
		b.WriteByte('\n')
		for _, l := range s.Location {
			for _, ln := range l.Line {
				if ln.Function.Filename == "" {
					fmt.Fprintf(&b, "#\t%s\n", ln.Function.Name)
				} else {
					fmt.Fprintf(&b, "#\t%s\t%s:%d\n", ln.Function.Name, ln.Function.Filename, ln.Line)
				}
			}
		}
	}
	w.Write([]byte(b.String()))
}
