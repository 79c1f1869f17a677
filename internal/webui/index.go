package webui

// The index page and the timeline pages.

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/stmlog/stmlog/internal/durfmt"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/report"
	"github.com/stmlog/stmlog/timeline"
)

var viewDocs = map[report.PprofView]string{
	report.ViewThis:  "stacks of the side that lost the time (where your transaction was when it had to abort or wait)",
	report.ViewOther: "stacks of the other side (where the conflicting write or inevitable transaction was)",
	report.ViewPair:  "this side's stack on top of the conflict kind on top of the other side's",
}

type indexView struct{ Name, Doc string }

type timelineLink struct{ URL, Log string }

// timelinePage serves the HTML timeline of one log, for the window in the
// from and to query parameters (Go durations from the start of the log).
// The log is read again for each page: the drawing is capped, the reading
// is streaming, and a window is a different trace anyway.
func timelinePage(w http.ResponseWriter, r *http.Request, path string, lo anylog.Options) {
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

type indexPage struct {
	Logs      []string
	Timelines []timelineLink
	Totals    []int64 // in report.PprofSampleTypes order
	Warnings  []string
	Samples   []string
	Views     []indexView
	Hints     []Hint
}

func (p indexPage) Total(i int) string {
	if i >= len(p.Totals) {
		return ""
	}
	if i == 0 {
		return fmt.Sprintf("%d", p.Totals[0])
	}
	return durfmt.Dur(time.Duration(p.Totals[i]))
}

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
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
