package main

// `stmlog web` serves pprof's own web UI (flame graph, top, source, peek) for
// a conflict log, so users get the tool they know instead of a look-alike.
//
// pprof's driver is made for one profile per process and wants to run its
// own server. We run it once per view (this, other, pair) with an
// HTTPServer hook that only captures the handlers pprof builds and returns at
// once; the handlers keep working after driver.PProf returns. They are then
// mounted under /this/, /other/ and /pair/ (pprof's pages use relative
// links, so a prefix is transparent) behind a small index page, on a server
// we own: we choose the address, refuse non-loopback ones, and shut down
// cleanly on Ctrl-C. Sample types need no extra work: every profile carries
// all four and pprof's SAMPLE menu (?si=lost) switches between them.
//
// Two things pprof's UI does not do are added around it: its pages start at
// line granularity (-lines: one box per source line, since a conflict is
// about a line, not a whole function; pprof's menu still switches), and
// every page gets a link back to the index, put in as pprof's HTML goes
// out. /timeline/N draws the N-th log's timeline as a plain HTML/SVG page
// (package timeline), which works offline, unlike Perfetto.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/driver"
	"github.com/google/pprof/profile"
	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/report"
	"github.com/stmlog/stmlog/timeline"
)

type webFlags struct {
	load        loadFlags
	http        string
	allowRemote bool
	open        bool
	// opener shows a URL in a browser (tests replace it).
	opener func(url string) error
}

func newWebCmd() *cobra.Command {
	f := &webFlags{opener: webOpenBrowser}
	cmd := &cobra.Command{
		Use:   "web [flags] LOG...",
		Short: "Browse time lost to conflicts in pprof's web UI (flame graph, top, source)",
		Long: `Serve pprof's web UI for the logs: flame graph, top, source listing and peek,
for three views of each conflict (this: the side that lost time; other: the
other side; pair: this side on top of the conflict kind on top of the other
side) and four sample types (lost, aborted, paused, conflicts). Pages
start at line granularity (one box per source line; pprof's VIEW menu
switches to functions) and link back to the index, which also links an
offline timeline of each log (the drawing of stmlog timeline --format html).

The server listens on 127.0.0.1 only (a random port by default); naming
another interface in --http needs --allow-remote, since the UI shows source
code. Ctrl-C stops it.`,
		Example: `  stmlog web stm.log                             # on a free port of 127.0.0.1
  stmlog web --open --http 127.0.0.1:8080 a.log b.log`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.load.input.stdin = cmd.InOrStdin()
			return runWeb(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	fl := cmd.Flags()
	f.load.registerInput(fl)
	fl.StringVar(&f.http, "http", "127.0.0.1:0", "`host:port` to listen on (port 0: any free port)")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow --http to name a non-loopback interface")
	fl.BoolVar(&f.open, "open", false, "open the UI in the default browser")
	return cmd
}

// webCheckListenAddr refuses addresses reachable from other machines unless
// allowed: an empty host or 0.0.0.0 listens everywhere.
func webCheckListenAddr(hostport string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("--http %q: want host:port, e.g. 127.0.0.1:8080", hostport)
	}
	if allowRemote || webIsLoopback(host) {
		return nil
	}
	return fmt.Errorf("--http %s would serve the UI (and your source code) beyond this machine; use 127.0.0.1, or add --allow-remote", hostport)
}

func webIsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// spoolStdin copies standard input, if paths name it ("-"), to a temporary
// file that stands in for it: the timeline pages read a log again for each
// window, which a stream cannot do. cleanup removes the file.
func spoolStdin(paths []string, stdin io.Reader) (_ []string, cleanup func(), err error) {
	cleanup = func() {}
	if err := checkStdinArgs(paths); err != nil || !slices.Contains(paths, "-") {
		return paths, cleanup, err
	}
	fh, err := os.CreateTemp("", "stmlog-stdin-*.log")
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = func() { os.Remove(fh.Name()) }
	_, err = io.Copy(fh, stdin)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("copying standard input to %s: %v", fh.Name(), err)
	}
	paths = slices.Clone(paths)
	paths[slices.Index(paths, "-")] = fh.Name()
	return paths, cleanup, nil
}

// runWeb serves until ctx is done or the process gets SIGINT/SIGTERM, then
// shuts the server down and returns nil. Signals are caught only once the
// logs are loaded: Ctrl-C during a long load just ends the process.
func runWeb(ctx context.Context, stdout, stderr io.Writer, paths []string, f *webFlags) error {
	if err := webCheckListenAddr(f.http, f.allowRemote); err != nil {
		return usageError{err}
	}
	paths, cleanup, err := spoolStdin(paths, f.load.input.stdin)
	if err != nil {
		return err
	}
	defer cleanup()
	profiles, info, err := loadPprofProfiles(paths, &f.load, report.PprofViews, report.SampleLost, stderr)
	if err != nil {
		return err
	}
	for _, w := range info.Warnings {
		fmt.Fprintln(stderr, "stmlog web: warning:", w)
	}
	_, lo, err := f.load.options()
	if err != nil {
		return err
	}
	h, err := newWebHandler(profiles, info, lo)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", f.http)
	if err != nil {
		return err // "listen tcp 127.0.0.1:80: bind: permission denied"
	}
	url := "http://" + ln.Addr().String() + "/"
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Serving the stmlog web UI on %s (Ctrl-C to stop)\n", url)
	if f.open && f.opener != nil {
		if err := f.opener(url); err != nil {
			fmt.Fprintf(stderr, "stmlog web: could not open a browser (%v); open %s yourself\n", err, url)
		}
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving %s: %w", url, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	fmt.Fprintln(stdout, "stmlog web: stopped")
	return nil
}

func webOpenBrowser(url string) error {
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

// newWebHandler serves the index page at / and pprof's UI for each view
// under /<view>/.
func newWebHandler(profiles map[report.PprofView]*profile.Profile, info pprofInfo, lo anylog.Options) (http.Handler, error) {
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
		mux.Handle(prefix+"/", http.StripPrefix(prefix, webWithNav(webDispatch(handlers), v.String())))
		views = append(views, v)
	}
	idx := webIndexPage{Logs: info.Paths, Totals: info.Totals, Warnings: info.Warnings, Samples: report.PprofSampleTypes, Hints: info.Hints}
	for _, v := range views {
		idx.Views = append(idx.Views, webIndexView{Name: v.String(), Doc: webViewDocs[v]})
	}
	for i, path := range info.Paths {
		idx.Timelines = append(idx.Timelines, webTimelineLink{URL: fmt.Sprintf("./timeline/%d", i), Log: path})
	}
	mux.HandleFunc("/timeline/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(info.Paths) {
			http.NotFound(w, r)
			return
		}
		webTimeline(w, r, info.Paths[i], lo)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := webIndexTemplate.Execute(w, idx); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return mux, nil
}

// dispatch routes by exact path, as pprof's own server does.
func webDispatch(handlers map[string]http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := handlers[r.URL.Path]
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// pprofHandlers runs pprof's driver on p in web mode and returns the
// handlers it would serve, without letting it open a socket or a browser.
func pprofHandlers(p *profile.Profile, name string) (map[string]http.Handler, error) {
	var handlers map[string]http.Handler
	ui := &webQuietUI{}
	err := driver.PProf(&driver.Options{
		Flagset: newWebArgFlags([]string{
			"-http=127.0.0.1:1", // never listened on: HTTPServer below only captures
			"-no_browser",
			"-symbolize=none",
			"-lines",
			"stmlog:" + name,
		}),
		Fetch: webFetcher{p},
		UI:    ui,
		HTTPServer: func(args *driver.HTTPServerArgs) error {
			handlers = args.Handlers
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if handlers == nil {
		return nil, fmt.Errorf("pprof did not start its UI: %s", strings.Join(ui.errs, "; "))
	}
	return handlers, nil
}

// webFetcher hands pprof the profile we built. The empty source string
// keeps pprof from treating it as remote (it would save a copy in $HOME).
type webFetcher struct{ p *profile.Profile }

func (f webFetcher) Fetch(string, time.Duration, time.Duration) (*profile.Profile, string, error) {
	return f.p.Copy(), "", nil
}

// webQuietUI keeps pprof's chatter ("Serving web UI on ...", which names the
// dummy address) off the terminal but remembers errors for our message.
type webQuietUI struct{ errs []string }

func (*webQuietUI) ReadLine(string) (string, error) { return "", io.EOF }
func (*webQuietUI) Print(...any)                    {}
func (u *webQuietUI) PrintErr(a ...any) {
	u.errs = append(u.errs, strings.TrimSpace(fmt.Sprint(a...)))
}
func (*webQuietUI) IsTerminal() bool                    { return false }
func (*webQuietUI) WantBrowser() bool                   { return false }
func (*webQuietUI) SetAutoComplete(func(string) string) {}

// webArgFlags is pprof's FlagSet over a fixed argument list.
type webArgFlags struct {
	fs    *flag.FlagSet
	args  []string
	extra []string
}

func newWebArgFlags(args []string) *webArgFlags {
	fs := flag.NewFlagSet("pprof", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &webArgFlags{fs: fs, args: args}
}

func (a *webArgFlags) Bool(n string, d bool, u string) *bool          { return a.fs.Bool(n, d, u) }
func (a *webArgFlags) Int(n string, d int, u string) *int             { return a.fs.Int(n, d, u) }
func (a *webArgFlags) Float64(n string, d float64, u string) *float64 { return a.fs.Float64(n, d, u) }
func (a *webArgFlags) String(n, d, u string) *string                  { return a.fs.String(n, d, u) }
func (a *webArgFlags) StringList(n, d, u string) *[]*string {
	return &[]*string{a.fs.String(n, d, u)}
}
func (a *webArgFlags) ExtraUsage() string      { return strings.Join(a.extra, "\n") }
func (a *webArgFlags) AddExtraUsage(eu string) { a.extra = append(a.extra, eu) }
func (a *webArgFlags) Parse(usage func()) []string {
	if err := a.fs.Parse(a.args); err != nil {
		usage()
		return nil
	}
	return a.fs.Args()
}

var webViewDocs = map[report.PprofView]string{
	report.ViewThis:  "stacks of the side that lost the time (where your transaction was when it had to abort or wait)",
	report.ViewOther: "stacks of the other side (where the conflicting write or inevitable transaction was)",
	report.ViewPair:  "this side's stack on top of the conflict kind on top of the other side's",
}

type webIndexView struct{ Name, Doc string }

type webTimelineLink struct{ URL, Log string }

// webTimeline serves the HTML timeline of one log, for the window in the
// from and to query parameters (Go durations from the start of the log).
// The log is read again for each page: the drawing is capped, the reading
// is streaming, and a window is a different trace anyway.
func webTimeline(w http.ResponseWriter, r *http.Request, path string, lo anylog.Options) {
	var opt timeline.HTMLOptions
	opt.Name, opt.Back, opt.Zoom = path, "../", "?from={from}&to={to}"
	for _, q := range []struct {
		name string
		d    *time.Duration
	}{{"from", &opt.From}, {"to", &opt.To}} {
		if v := r.URL.Query().Get(q.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				http.Error(w, fmt.Sprintf("%s=%q: want a duration from the start of the log, e.g. 1.5ms", q.name, v), http.StatusBadRequest)
				return
			}
			*q.d = d
		}
	}
	src, closer, err := anylog.Open(path, lo)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer closer.Close()
	var page bytes.Buffer // an error must not leave half a page behind
	if _, err := timeline.WriteHTML(&page, src, opt); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page.Bytes())
}

// webNav is put at the top of every pprof page: where the user is, and the
// way back to the index (pprof's own pages know nothing of it).
const webNav = `<div id="stmlog-nav" style="position:fixed;bottom:0;right:0;z-index:1000;background:#ffe;` +
	`border:1px solid #999;padding:2px 8px;font:13px sans-serif">stmlog · %s view · <a href="../">index</a></div>`

// webWithNav inserts webNav right after the <body> tag of the HTML pages
// h serves; other responses (the profile download, JSON) pass unchanged.
func webWithNav(h http.Handler, view string) http.Handler {
	nav := []byte(fmt.Sprintf(webNav, template.HTMLEscapeString(view)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &webRecorder{header: http.Header{}, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		if strings.HasPrefix(rec.header.Get("Content-Type"), "text/html") {
			if i := bytes.Index(body, []byte("<body")); i >= 0 {
				if j := bytes.IndexByte(body[i:], '>'); j >= 0 {
					at := i + j + 1
					body = append(body[:at:at], append(nav, body[at:]...)...)
				}
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.code)
		w.Write(body)
	})
}

// webRecorder holds a response so that webWithNav can edit it.
type webRecorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *webRecorder) Header() http.Header         { return r.header }
func (r *webRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *webRecorder) WriteHeader(code int)        { r.code = code }

type webIndexPage struct {
	Logs      []string
	Timelines []webTimelineLink
	Totals    []int64 // in report.PprofSampleTypes order
	Warnings  []string
	Samples   []string
	Views     []webIndexView
	Hints     []webHint
}

func (p webIndexPage) Total(i int) string {
	if i >= len(p.Totals) {
		return ""
	}
	if i == 0 {
		return fmt.Sprintf("%d", p.Totals[0])
	}
	return durfmt.Dur(time.Duration(p.Totals[i]))
}

var webIndexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>stmlog web</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; } td, th { padding: .3em .8em; border: 1px solid #ccc; text-align: left; }
</style></head>
<body>
<h1>stmlog: time lost to conflicts</h1>
<p>Logs: {{range $i, $l := .Logs}}{{if $i}}, {{end}}<code>{{$l}}</code>{{end}}</p>
<p>{{range $i, $s := .Samples}}{{if $i}} · {{end}}{{$s}}: <b>{{$.Total $i}}</b>{{end}}</p>
{{if .Warnings}}<ul class="warnings">{{range .Warnings}}<li>warning: {{.}}</li>{{end}}</ul>{{end}}
<table>
<tr><th>view</th>{{range .Samples}}<th>{{.}}</th>{{end}}<th></th></tr>
{{range $v := .Views}}<tr><td><b>{{$v.Name}}</b><br><small>{{$v.Doc}}</small></td>
{{range $.Samples}}<td><a id="{{$v.Name}}-{{.}}" href="./{{$v.Name}}/flamegraph?si={{.}}">flame graph</a></td>{{end}}
<td><a href="./{{$v.Name}}/top?si=lost">top</a> · <a href="./{{$v.Name}}/source?si=lost">source</a> · <a href="./{{$v.Name}}/download">download</a></td></tr>
{{end}}</table>
<p>Pages start at line granularity (one box per source line); pprof's VIEW menu switches to functions.</p>
{{if .Hints}}<h2>What to change</h2>
<ul class="hints">{{range .Hints}}<li>{{if .Rank}}#{{.Rank}} {{.Kind}} at <code>{{.Site}}</code> ({{.Lost}} lost){{else}}the whole run{{end}}: {{.Text}} <small>[{{.ID}}]</small></li>{{end}}</ul>{{end}}
<h2>Timeline</h2>
<p>The transaction attempts of every thread (all of them in a log recorded with
<code>STMLOG_EVENTS=all</code>; those that met contention in a profile-level log), drawn in the
browser without any network access (<code>stmlog timeline -o trace.json</code> writes the same
trace for Perfetto):</p>
<ul>{{range .Timelines}}<li><a class="timeline" href="{{.URL}}">timeline of <code>{{.Log}}</code></a></li>{{end}}</ul>
</body></html>
`))
