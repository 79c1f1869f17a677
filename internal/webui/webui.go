// Package webui is the web UI of `stmlog web`, as HTTP handlers: pprof's
// own UI (flame graph, top, source, peek) for the profiles of conflict
// logs, so users get the tool they know instead of a look-alike, an index
// page, and an offline timeline page per log. cmd/stmlog loads the logs,
// builds the profiles (report.PprofFromSummary) and runs the server.
//
// pprof's driver is made for one profile per process and wants to run its
// own server. NewHandler runs it once per view (this, other, pair) with an
// HTTPServer hook that only captures the handlers pprof builds and returns
// at once; the handlers keep working after driver.PProf returns. They are
// then mounted under /this/, /other/ and /pair/ (pprof's pages use relative
// links, so a prefix is transparent) behind a small index page. Sample
// types need no extra work: every profile carries all four and pprof's
// SAMPLE menu (?si=lost) switches between them.
//
// Two things pprof's UI does not do are added around it: its pages start at
// line granularity (-lines: one box per source line, since a conflict is
// about a line, not a whole function; pprof's menu still switches), and
// every page gets a link back to the index, put in as pprof's HTML goes
// out. /timeline/N draws the N-th log's timeline as a plain HTML/SVG page
// (package timeline), which works offline, unlike Perfetto.
package webui

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"

	"github.com/google/pprof/profile"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/report"
)

// Index is what the index page shows besides the links: the logs, the
// profiles' totals, warnings about the input, and hints.
type Index struct {
	Logs     []string
	Totals   []int64 // in report.PprofSampleTypes order
	Warnings []string
	Hints    []Hint // the top groups that have a hint, and the run's
}

// Hint is one line of the index page's "what to change" list.
type Hint struct {
	Rank             int // 0: the hint for the whole run
	Kind, Site, Lost string
	ID, Text         string
}

// maxHints is how many of the top groups the index page looks at.
const maxHints = 10

// Hints are the index page's "what to change" list for sum: the hints of
// its top groups that have one, then the run's.
func Hints(sum *analyze.Summary) []Hint {
	var out []Hint
	hs, run := report.Hints(sum, report.Options{})
	for i, h := range hs[:min(len(hs), maxHints)] {
		if h.ID == "" {
			continue
		}
		g := &sum.Groups[i]
		out = append(out, Hint{Rank: i + 1, Kind: g.Kind.String(), Site: g.Site.Leaf().String(),
			Lost: durfmt.Dur(g.Lost), ID: h.ID, Text: h.Text})
	}
	if run.ID != "" {
		out = append(out, Hint{ID: run.ID, Text: run.Text})
	}
	return out
}

// NewHandler serves the index page at / and pprof's UI for each view that
// profiles has under /<view>/, and the timeline of info.Logs[N] (read again
// with lo for each page) at /timeline/N.
func NewHandler(profiles map[report.PprofView]*profile.Profile, info Index, lo anylog.Options) (http.Handler, error) {
	mux := http.NewServeMux()
	var views []report.PprofView
	for _, v := range report.PprofViews {
		p := profiles[v]
		if p == nil {
			continue
		}
		handlers, err := pprofHandlers(p, v.String())
		if err != nil {
			return nil, fmt.Errorf("pprof UI for the %s view: %w", v, err)
		}
		prefix := "/" + v.String()
		mux.Handle(prefix+"/", http.StripPrefix(prefix, withNav(dispatch(handlers), v.String())))
		views = append(views, v)
	}
	idx := indexPage{Logs: info.Logs, Totals: info.Totals, Warnings: info.Warnings, Samples: report.PprofSampleTypes, Hints: info.Hints}
	for _, v := range views {
		idx.Views = append(idx.Views, indexView{Name: v.String(), Doc: viewDocs[v]})
	}
	for i, path := range info.Logs {
		idx.Timelines = append(idx.Timelines, timelineLink{URL: fmt.Sprintf("./timeline/%d", i), Log: path})
	}
	mux.HandleFunc("/timeline/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(info.Logs) {
			http.NotFound(w, r)
			return
		}
		timelinePage(w, r, info.Logs[i], lo)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := indexTemplate.Execute(w, idx); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return mux, nil
}

// CheckListenAddr refuses addresses reachable from other machines unless
// allowed: an empty host or 0.0.0.0 listens everywhere.
func CheckListenAddr(hostport string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("--http %q: want host:port, e.g. 127.0.0.1:8080", hostport)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("--http %s would serve the UI (and your source code) beyond this machine; use 127.0.0.1, or add --allow-remote", hostport)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func OpenBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it; its exit status says nothing useful
	return nil
}
