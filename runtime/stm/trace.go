package stm

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/stmlog/stmlog/logformat"
)

// Transactions in Go's execution tracer (runtime/trace, go tool trace).
//
// With tracing on (TraceTransactions(true), or STMTRACE=1 in the
// environment at start-up) and an execution trace being taken, each
// Atomically call (and each transaction of a Queue) is a trace region
// named by where it was called, spanning all its attempts, so the
// goroutine views of `go tool trace` show which transaction a goroutine was
// in and for how long; and each conflict is a trace.Log, category
// TraceCategory, on the goroutine that lost the time, naming the conflict's
// kind, its Var and both sides' source lines. A conflict's sides are only
// known while events are recorded, so tracing on also keeps a recording on:
// the program's (STMLOG, StartLog) if it records, an in-memory one that
// writes no log otherwise (as a live profile does; see Tap).
//
// Off, the hook is one atomic load per transaction and allocates nothing
// (BENCHMARKS.md compares it with a build without it, the stmlog_notrace
// tag). On, a transaction pays for a region (two trace events and a
// stack walk of a few frames to find its caller) only while a trace is
// actually being taken.

// TraceCategory is the trace.Log category of conflict messages.
const TraceCategory = "stm.conflict"

var (
	traceMu   sync.Mutex // TraceTransactions
	traceSink *siteKeeper
)

// siteKeeper is the sink that keeps a recording on while tracing: sites are
// only captured while recording. It wants no events.
type siteKeeper struct{ _ byte }

func (*siteKeeper) add(time.Time, uint32, []logformat.Event) {}
func (*siteKeeper) aggregate(time.Time, logformat.Aggregate) {}

// traceLazy is set by STMTRACE: the recording tracing needs is started by
// the first traced transaction rather than at init, so that a program that
// merely links runtime/stm (the stmlog tool) with STMLOG and STMTRACE in
// its environment neither records nor truncates the log.
var traceLazy atomic.Bool

func init() {
	if v := os.Getenv("STMTRACE"); v != "" && v != "0" {
		traceLazy.Store(true)
		tracing.Store(true)
	}
}

// startTraceSites starts the recording STMTRACE asked for.
func startTraceSites() {
	traceMu.Lock()
	defer traceMu.Unlock()
	if traceLazy.Load() && tracing.Load() && traceSink == nil {
		traceSink = new(siteKeeper)
		if addSink(traceSink) != nil {
			traceSink = nil
		}
	}
	traceLazy.Store(false)
}

// TraceTransactions turns the execution-tracer annotations on or off and
// reports whether they were on. It can be called at any time; transactions
// already running keep the setting they started with.
func TraceTransactions(on bool) (was bool) {
	traceMu.Lock()
	defer traceMu.Unlock()
	was = tracing.Load()
	traceLazy.Store(false)
	if on == was && (!on || traceSink != nil) {
		return was
	}
	if on {
		traceSink = new(siteKeeper)
		if addSink(traceSink) != nil {
			traceSink = nil // built without the recorder: regions only
		}
	} else if traceSink != nil {
		removeSink(traceSink)
		traceSink = nil
	}
	tracing.Store(on)
	return was
}

// runTraced is run inside a trace region. tx.traced stops the inner run
// from coming back here.
func (tx *Tx) runTraced(fn func(*Tx) error, th *threadRec) error {
	tx.traced = true
	defer func() { tx.traced = false }()
	if traceLazy.Load() {
		startTraceSites()
	}
	if !trace.IsEnabled() {
		return tx.run(fn, th)
	}
	defer trace.StartRegion(context.Background(), regionName(fn)).End()
	return tx.run(fn, th)
}

// Region names and conflict texts are computed once per code location and
// kept: a program has few of them, and a trace refers to each many times.
var (
	callerNames sync.Map // return address -> region name, "" if inside runtime/stm
	fnNames     sync.Map // body's code address -> region name
	siteTexts   sync.Map // interned site -> "func file:line"
)

// regionName names the region of a transaction after the first caller
// outside runtime/stm (the Atomically call); a Queue's transactions have no
// such caller on their worker's stack and are named after their body.
func regionName(fn func(*Tx) error) string {
	var pcs [8]uintptr
	n := runtime.Callers(3, pcs[:]) // from runTraced's caller
	for _, pc := range pcs[:n] {
		if v, ok := callerNames.Load(pc); ok {
			if s := v.(string); s != "" {
				return s
			}
			continue
		}
		s := ""
		frames := runtime.CallersFrames([]uintptr{pc})
		for {
			f, more := frames.Next()
			if f.Function != "" && !internalFrame(f) {
				s = "stm " + frameText(f.Function, f.File, f.Line)
				break
			}
			if !more {
				break
			}
		}
		callerNames.Store(pc, s)
		if s != "" {
			return s
		}
	}
	code := funcCode(fn)
	if v, ok := fnNames.Load(code); ok {
		return v.(string)
	}
	s := "stm transaction"
	if f := runtime.FuncForPC(code); f != nil {
		file, line := f.FileLine(code)
		s = "stm " + frameText(f.Name(), file, line)
	}
	fnNames.Store(code, s)
	return s
}

// funcCode is the code address of fn, as reflect.Value.Pointer gives it,
// read from the func value itself: handing fn to reflect would make every
// body passed to Atomically escape, and a closure that captures variables
// would cost its caller an allocation per transaction.
func funcCode(fn func(*Tx) error) uintptr {
	return **(**uintptr)(unsafe.Pointer(&fn))
}

// frameText is "pkg.Func file.go:line", short enough for the trace
// viewer's lists.
func frameText(fn, file string, line int) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	return fn + " " + filepath.Base(file) + ":" + strconv.Itoa(line)
}

// traceConflict logs a recorded conflict to the execution trace: this side
// (site, on the calling goroutine) and the other (thread other at
// otherSite).
func traceConflict(k logformat.ConflictKind, v uint64, site, other, otherSite uint32) {
	if !trace.IsEnabled() {
		return
	}
	var b strings.Builder
	b.WriteString(k.String())
	if v != 0 {
		b.WriteString(" on ")
		namesMu.Lock()
		name := names[v]
		namesMu.Unlock()
		if name != "" {
			b.WriteString(name)
		} else {
			b.WriteString("var ")
			b.WriteString(strconv.FormatUint(v, 10))
		}
	}
	b.WriteString(": this ")
	b.WriteString(siteText(site))
	b.WriteString("; other thread ")
	b.WriteString(strconv.FormatUint(uint64(other), 10))
	b.WriteString(" at ")
	b.WriteString(siteText(otherSite))
	trace.Log(context.Background(), TraceCategory, b.String())
}

// siteText is an interned site's innermost user frame.
func siteText(site uint32) string {
	if site == 0 {
		return "(site not recorded)"
	}
	if v, ok := siteTexts.Load(site); ok {
		return v.(string)
	}
	s := "(site not recorded)"
	if st := symbolize(sites.pcs(site)); len(st.Frames) > 0 {
		f := st.Frames[0]
		s = frameText(f.Func, f.File, f.Line)
	}
	siteTexts.Store(site, s)
	return s
}
