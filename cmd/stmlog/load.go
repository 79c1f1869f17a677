package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
)

// stdinName names the log read from standard input ("-" on the command
// line) in reports and messages.
const stdinName = "stdin"

// openLog opens a log named on the command line: a file, or for "-" the
// standard input, read once as a stream like any log (so `zcat x.log.gz |
// stmlog report -` needs no temporary file). A file named "-" is "./-".
func openLog(path string, stdin io.Reader, lo anylog.Options) (logformat.Source, io.Closer, error) {
	if path != "-" {
		return anylog.Open(path, lo)
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	src, err := anylog.New(stdin, stdinName, lo)
	if err != nil {
		return nil, nil, err
	}
	return src, stopper{src}, nil
}

// stopper stops a source read from stdin (see anylog.Close).
type stopper struct{ src logformat.Source }

func (s stopper) Close() error {
	anylog.Close(s.src)
	return nil
}

// logName is how the log at path is named in reports.
func logName(path string) string {
	if path == "-" {
		return stdinName
	}
	return path
}

// checkStdinArgs refuses a command line that names standard input twice:
// it can be read only once.
func checkStdinArgs(paths []string) error {
	n := 0
	for _, p := range paths {
		if p == "-" {
			n++
		}
	}
	if n > 1 {
		return usageError{fmt.Errorf(`"-" (standard input) is given %d times; it can be read only once`, n)}
	}
	return nil
}

// analyzeLogs reads every log into one analysis; "-" reads stdin.
func analyzeLogs(paths []string, stdin io.Reader, ao analyze.Options, lo anylog.Options, stderr io.Writer) (*analyze.Summary, error) {
	if err := checkStdinArgs(paths); err != nil {
		return nil, err
	}
	a := analyze.New(ao)
	for _, path := range paths {
		src, closer, err := openLog(path, stdin, lo)
		if err != nil {
			return nil, err
		}
		p := newProgress(src, path, stderr)
		err = a.AddNamed(logName(path), p)
		p.done()
		closer.Close()
		if err != nil {
			return nil, inputError(err, lo.Salvage)
		}
	}
	return a.Summary(), nil
}

// inputError adds a hint to damage errors (readers' errors already name the
// file and the byte offset).
func inputError(err error, salvage bool) error {
	var ce *logformat.CorruptError
	if errors.As(err, &ce) && !salvage {
		return fmt.Errorf("%w (--salvage reads past damaged chunks)", err)
	}
	return err
}

// progress wraps a Source to show how far reading has got, on stderr, when
// stderr is a terminal and the input is large enough to take a while.
type progress struct {
	logformat.Source
	name    string
	w       io.Writer
	size    int64
	n       uint32
	start   time.Time
	last    time.Time
	enabled bool
	shown   bool
	one     [1]logformat.Event  // NextBatch of a source without batches
	raw     logformat.RawSource // Source's, if it has raw batches
	rawLeft int                 // the events of the batch Raw last returned
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(src logformat.Source, path string, stderr io.Writer) *progress {
	p := &progress{Source: src, name: logName(path), w: stderr, start: time.Now()}
	p.raw, _ = src.(logformat.RawSource)
	if path != "-" && isTerminal(stderr) {
		if st, err := os.Stat(path); err == nil && st.Size() > 64<<20 {
			p.enabled, p.size = true, st.Size()
		}
	}
	return p
}

func (p *progress) Next() (logformat.Event, error) {
	p.n++
	if p.enabled && p.n&(1<<18-1) == 0 {
		p.tick()
	}
	return p.Source.Next()
}

// NextBatch passes the source's batches through (logformat.BatchSource),
// so that the analyzer takes its batch path; a source without batches
// hands out one event at a time.
func (p *progress) NextBatch() ([]logformat.Event, error) {
	bs, ok := p.Source.(logformat.BatchSource)
	if !ok {
		ev, err := p.Next()
		if err != nil {
			return nil, err
		}
		p.one[0] = ev
		return p.one[:], nil
	}
	evs, err := bs.NextBatch()
	before := p.n
	p.n += uint32(len(evs))
	if p.enabled && p.n>>18 != before>>18 {
		p.tick()
	}
	return evs, err
}

// Raw and Took pass the source's raw batches through
// (logformat.RawSource), for the analyzer's loop that decodes starts and
// commits itself.
func (p *progress) Raw() (logformat.RawBatch, bool) {
	if p.raw == nil {
		return logformat.RawBatch{}, false
	}
	b, ok := p.raw.Raw()
	p.rawLeft = b.Left
	return b, ok
}

func (p *progress) Took(b *logformat.RawBatch) {
	p.raw.Took(b)
	before := p.n
	p.n += uint32(p.rawLeft - b.Left)
	if p.enabled && p.n>>18 != before>>18 {
		p.tick()
	}
}

func (p *progress) tick() {
	now := time.Now()
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < 250*time.Millisecond {
		return
	}
	p.last = now
	p.shown = true
	pct := p.Source.Offset() * 100 / p.size
	fmt.Fprintf(p.w, "\rstmlog: reading %s: %s%%", p.name, strconv.FormatInt(pct, 10))
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// Aggregate passes the aggregate records of profile-level logs through.
func (p *progress) Aggregate() logformat.Aggregate {
	if as, ok := p.Source.(logformat.AggregateSource); ok {
		return as.Aggregate()
	}
	return logformat.Aggregate{}
}

// Meta passes the recording's process info through (analyze.MetaSource),
// for a Schedule's tee around the progress.
func (p *progress) Meta() logformat.Meta {
	if ms, ok := p.Source.(analyze.MetaSource); ok {
		return ms.Meta()
	}
	return logformat.Meta{}
}
