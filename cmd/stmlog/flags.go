package main

// The flag groups that several commands share. Each group is registered by
// one method and turned into options by one method, so a flag reads the same
// (name, help, checks) in every command that takes it, and a new input flag
// (say, how many decoders to run) is added once for every command that reads
// logs.
//
//	inputFlags   how to read the logs named on the command line: --salvage,
//	             --pypy-era, --jobs. check, diff, dump, pprof, report,
//	             timeline, web, whatif.
//	windowFlags  the time window of each log: --from, --to. diff, pprof,
//	             report, timeline, web, whatif, demo, record.
//	loadFlags    the analysis filters (--by, --kind, --thread, the window)
//	             and the input flags: the commands that analyze logs.

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
)

// inputFlags say how to read the logs named on the command line.
type inputFlags struct {
	salvage bool
	pypyEra string
	jobs    int
	// stdin is what "-" reads (the command's standard input); nil where
	// the logs are not named on the command line (record, demo).
	stdin io.Reader
}

func (f *inputFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.salvage, "salvage", false, "skip damaged chunks of a native log instead of stopping at the first")
	fl.StringVar(&f.pypyEra, "pypy-era", "", "event numbering of a PyPy-STM c8 log, `E` = a..e (default e, the final one)")
	fl.IntVar(&f.jobs, "jobs", 0, "decode a native log (and run what-if replays) on `N` cores (0: as many as Go uses, GOMAXPROCS), or, given as 2 or more, analyze a PyPy-STM c8 log file in parts on two goroutines; the output is the same for every N")
	// The name used in the design notes; same variable.
	fl.StringVar(&f.pypyEra, "pypy-events", "", "same as --pypy-era")
	_ = fl.MarkHidden("pypy-events")
}

// options checks the flags and returns the readers' options.
func (f *inputFlags) options() (anylog.Options, error) {
	era, err := parseEra(f.pypyEra)
	if err != nil {
		return anylog.Options{}, err
	}
	jobs := f.jobs
	switch {
	case jobs < 0:
		return anylog.Options{}, usageError{fmt.Errorf("--jobs %d: want 0 (GOMAXPROCS) or more", jobs)}
	case jobs == 0:
		jobs = runtime.GOMAXPROCS(0)
	}
	return anylog.Options{Salvage: f.salvage, PyPyEra: era, Jobs: jobs}, nil
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
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

// windowFlags select a time window of each log, from its own start.
type windowFlags struct {
	from, to time.Duration
}

func (f *windowFlags) register(fl *pflag.FlagSet) {
	fl.DurationVar(&f.from, "from", 0, "keep only what happens after `D` from the start of each log (e.g. 1.5s)")
	fl.DurationVar(&f.to, "to", 0, "keep only what happens before `D` from the start of each log (0: to the end)")
}

// check checks --from and --to (to 0 means to the end).
func (f *windowFlags) check() error {
	if f.from < 0 || f.to < 0 || (f.to > 0 && f.to <= f.from) {
		return usageError{fmt.Errorf("--from %v --to %v: want 0 <= from < to", f.from, f.to)}
	}
	return nil
}

func (f *windowFlags) set() bool { return f.from != 0 || f.to != 0 }

// loadFlags are the input and filter flags of the commands that analyze
// logs.
type loadFlags struct {
	by     string
	kind   string
	thread uint32
	window windowFlags
	input  inputFlags
}

// register registers every flag: report and record.
func (f *loadFlags) register(fl *pflag.FlagSet) {
	f.registerBy(fl, groupByNames())
	f.registerInput(fl)
}

// registerInput registers every flag but --by: the filters and how to read
// the logs. pprof and web take only these, since a profile needs conflicts
// grouped by kind and both sites.
func (f *loadFlags) registerInput(fl *pflag.FlagSet) {
	f.registerFilters(fl)
	f.input.register(fl)
}

// registerFilters registers what selects the events analyzed. demo takes
// these and --by only: the log it reads is its own, native and whole, so
// --salvage and --pypy-era would never apply.
func (f *loadFlags) registerFilters(fl *pflag.FlagSet) {
	f.registerKind(fl)
	fl.Uint32Var(&f.thread, "thread", 0, "keep only thread `N`")
	f.window.register(fl)
}

func (f *loadFlags) registerKind(fl *pflag.FlagSet) {
	fl.StringVar(&f.kind, "kind", "", "keep only conflicts of `K`ind: "+orList(conflictKindNames()))
}

// registerBy registers --by with the groupings a command takes (names,
// the first being the default).
func (f *loadFlags) registerBy(fl *pflag.FlagSet, names []string) {
	fl.StringVar(&f.by, "by", "", "group conflicts by `KEY`: "+names[0]+" (kind + both sites, the default), "+strings.Join(names[1:], ", "))
}

// filtered reports whether any analysis filter or grouping was given (they
// do not apply to --format pypy).
func (f *loadFlags) filtered() bool {
	return f.by != "" || f.kind != "" || f.thread != 0 || f.window.set()
}

func (f *loadFlags) options() (analyze.Options, anylog.Options, error) {
	var ao analyze.Options
	var err error
	if ao.By, err = analyze.ParseGroupBy(f.by); err != nil {
		return ao, anylog.Options{}, usageError{fmt.Errorf("--by: %w", err)}
	}
	if f.kind != "" {
		if ao.Kind, err = logformat.ParseConflictKind(f.kind); err != nil {
			return ao, anylog.Options{}, usageError{fmt.Errorf("--kind: %w", err)}
		}
	}
	if err := f.window.check(); err != nil {
		return ao, anylog.Options{}, err
	}
	ao.Thread, ao.From, ao.To = f.thread, f.window.from, f.window.to
	lo, err := f.input.options()
	return ao, lo, err
}
