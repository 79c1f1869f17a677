package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
)

// loadFlags are the input and filter flags of the commands that analyze
// logs (report, record, demo).
type loadFlags struct {
	by       string
	kind     string
	thread   uint32
	from, to time.Duration
	salvage  bool
	pypyEra  string
	// stdin is what "-" reads (the command's standard input); nil where
	// the logs are not named on the command line (record, demo).
	stdin io.Reader
}

func (f *loadFlags) register(fl *pflag.FlagSet) {
	f.registerBy(fl)
	f.registerInput(fl)
	// The name used in the design notes; same variable.
	fl.StringVar(&f.pypyEra, "pypy-events", "", "same as --pypy-era")
	_ = fl.MarkHidden("pypy-events")
}

// registerInput registers every flag but --by: the filters and how to read
// the logs. pprof and web take only these, since a profile needs conflicts
// grouped by kind and both sites.
func (f *loadFlags) registerInput(fl *pflag.FlagSet) {
	f.registerFilters(fl)
	fl.BoolVar(&f.salvage, "salvage", false, "skip damaged chunks of a native log instead of stopping at the first")
	fl.StringVar(&f.pypyEra, "pypy-era", "", "event numbering of a PyPy-STM c8 log, `E` = a..e (default e, the final one)")
}

// registerFilters registers what selects the events analyzed. demo takes
// these and --by only: the log it reads is its own, native and whole, so
// --salvage and --pypy-era would never apply.
func (f *loadFlags) registerFilters(fl *pflag.FlagSet) {
	fl.StringVar(&f.kind, "kind", "", "keep only conflicts of `K`ind: write-write, write-read or inevitable")
	fl.Uint32Var(&f.thread, "thread", 0, "keep only thread `N`")
	fl.DurationVar(&f.from, "from", 0, "keep only what happens after `D` from the start of each log (e.g. 1.5s)")
	fl.DurationVar(&f.to, "to", 0, "keep only what happens before `D` from the start of each log (0: to the end)")
}

func (f *loadFlags) registerBy(fl *pflag.FlagSet) {
	fl.StringVar(&f.by, "by", "", "group conflicts by `KEY`: conflict (kind + both sites, the default), site, other, pair, kind, thread, var")
}

// filtered reports whether any analysis filter or grouping was given (they
// do not apply to --format pypy).
func (f *loadFlags) filtered() bool {
	return f.by != "" || f.kind != "" || f.thread != 0 || f.from != 0 || f.to != 0
}

func (f *loadFlags) options() (analyze.Options, anylog.Options, error) {
	var ao analyze.Options
	var lo anylog.Options
	var err error
	if ao.By, err = analyze.ParseGroupBy(f.by); err != nil {
		return ao, lo, usageError{fmt.Errorf("--by: %w", err)}
	}
	if f.kind != "" {
		if ao.Kind, err = logformat.ParseConflictKind(f.kind); err != nil {
			return ao, lo, usageError{fmt.Errorf("--kind: %w", err)}
		}
	}
	if err := checkWindow(f.from, f.to); err != nil {
		return ao, lo, err
	}
	ao.Thread, ao.From, ao.To = f.thread, f.from, f.to
	if lo.PyPyEra, err = parseEra(f.pypyEra); err != nil {
		return ao, lo, err
	}
	lo.Salvage = f.salvage
	return ao, lo, nil
}

// checkWindow checks --from and --to (to 0 means to the end).
func checkWindow(from, to time.Duration) error {
	if from < 0 || to < 0 || (to > 0 && to <= from) {
		return usageError{fmt.Errorf("--from %v --to %v: want 0 <= from < to", from, to)}
	}
	return nil
}

func parseEra(s string) (byte, error) {
	switch s {
	case "":
		return 0, nil
	case "a", "b", "c", "d", "e":
		return s[0], nil
	}
	return 0, usageError{fmt.Errorf("--pypy-era %q: want one of a, b, c, d, e", s)}
}

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
	return src, io.NopCloser(stdin), nil
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
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(src logformat.Source, path string, stderr io.Writer) *progress {
	p := &progress{Source: src, name: logName(path), w: stderr, start: time.Now()}
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
