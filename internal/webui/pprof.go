package webui

// pprof's handlers, captured from its driver, and the link back to the
// index put into its pages.

import (
	"bytes"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/pprof/driver"
	"github.com/google/pprof/profile"
)

// dispatch routes by exact path, as pprof's own server does.
func dispatch(handlers map[string]http.Handler) http.Handler {
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
	ui := &quietUI{}
	err := driver.PProf(&driver.Options{
		Flagset: newArgFlags([]string{
			"-http=127.0.0.1:1", // never listened on: HTTPServer below only captures
			"-no_browser",
			"-symbolize=none",
			"-lines",
			"stmlog:" + name,
		}),
		Fetch: fetcher{p},
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

// fetcher hands pprof the profile we built. The empty source string
// keeps pprof from treating it as remote (it would save a copy in $HOME).
type fetcher struct{ p *profile.Profile }

func (f fetcher) Fetch(string, time.Duration, time.Duration) (*profile.Profile, string, error) {
	return f.p.Copy(), "", nil
}

// quietUI keeps pprof's chatter ("Serving web UI on ...", which names the
// dummy address) off the terminal but remembers errors for our message.
type quietUI struct{ errs []string }

func (*quietUI) ReadLine(string) (string, error) { return "", io.EOF }
func (*quietUI) Print(...any)                    {}
func (u *quietUI) PrintErr(a ...any) {
	u.errs = append(u.errs, strings.TrimSpace(fmt.Sprint(a...)))
}
func (*quietUI) IsTerminal() bool                    { return false }
func (*quietUI) WantBrowser() bool                   { return false }
func (*quietUI) SetAutoComplete(func(string) string) {}

// argFlags is pprof's FlagSet over a fixed argument list.
type argFlags struct {
	fs    *flag.FlagSet
	args  []string
	extra []string
}

func newArgFlags(args []string) *argFlags {
	fs := flag.NewFlagSet("pprof", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &argFlags{fs: fs, args: args}
}

func (a *argFlags) Bool(n string, d bool, u string) *bool          { return a.fs.Bool(n, d, u) }
func (a *argFlags) Int(n string, d int, u string) *int             { return a.fs.Int(n, d, u) }
func (a *argFlags) Float64(n string, d float64, u string) *float64 { return a.fs.Float64(n, d, u) }
func (a *argFlags) String(n, d, u string) *string                  { return a.fs.String(n, d, u) }
func (a *argFlags) StringList(n, d, u string) *[]*string {
	return &[]*string{a.fs.String(n, d, u)}
}
func (a *argFlags) ExtraUsage() string      { return strings.Join(a.extra, "\n") }
func (a *argFlags) AddExtraUsage(eu string) { a.extra = append(a.extra, eu) }
func (a *argFlags) Parse(usage func()) []string {
	if err := a.fs.Parse(a.args); err != nil {
		usage()
		return nil
	}
	return a.fs.Args()
}

// nav is put at the top of every pprof page: where the user is, and the
// way back to the index (pprof's own pages know nothing of it).
const nav = `<div id="stmlog-nav" style="position:fixed;bottom:0;right:0;z-index:1000;background:#ffe;` +
	`border:1px solid #999;padding:2px 8px;font:13px sans-serif">stmlog · %s view · <a href="../">index</a></div>`

// withNav inserts nav right after the <body> tag of the HTML pages
// h serves; other responses (the profile download, JSON) pass unchanged.
func withNav(h http.Handler, view string) http.Handler {
	nav := []byte(fmt.Sprintf(nav, template.HTMLEscapeString(view)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{header: http.Header{}, code: http.StatusOK}
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

// recorder holds a response so that withNav can edit it.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }
