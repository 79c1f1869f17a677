package report

// Chrome trace output: the timeline that replaces PyPy's plot_stm_log.py.
//
// The trace is the Chrome "trace event" JSON format, which both chrome://tracing
// and the Perfetto UI (ui.perfetto.dev) open. It is written in one streaming
// pass over the log: a transaction attempt becomes a complete ("X") slice when
// its commit or abort is read, so only the open attempt and pauses of each
// thread are held in memory, never the whole trace.
//
// Layout (one process, one track per thread):
//   - every attempt is a slice named "commit", "abort", "inevitable" (committed
//     after becoming inevitable, or detached) or "unfinished" (the log ended
//     or the next attempt began first). Perfetto colours slices by a hash of
//     their name, so outcomes get their colours from their names; cname gives
//     chrome://tracing the same meaning (green, red, orange);
//   - pauses ("pause <reason>") and PyPy GC phases are slices nested inside,
//     and so is the "inevitable section": from the moment the attempt became
//     inevitable to its end, the time others wanting inevitability must wait
//     (it starts when pauses open at that moment end, to keep nesting);
//   - conflicts are thread-scoped instant events with both sites in args, and
//     a flow arrow goes from the culprit thread to the victim's attempt. The
//     arrow starts at the culprit's event behind the conflict: the commit of
//     the write that a write-read victim read too early, or the moment the
//     culprit became inevitable; else at the conflict time. Native logs come
//     in per-thread chunks, so that event is often read after the conflict:
//     arrows wait (bounded, per culprit thread) until the culprit's events
//     pass the conflict time, and each thread remembers its last 32 commits
//     and become-inevitables for conflicts read late.
//
// Slices on one track always nest: events of a thread are clamped to be
// non-decreasing in time, and anything still open when its parent ends is
// closed at that moment.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stmlog/stmlog/logformat"
)

// DefaultMaxTraceEvents caps a timeline: the trace viewers become unusable
// well before a million slices, and the JSON is ~150 bytes per event.
const DefaultMaxTraceEvents = 1_000_000

// ChromeOptions selects what a timeline shows.
type ChromeOptions struct {
	// Name labels the process track (usually the log's file name).
	Name string
	// From and To select a window relative to the start of the log, as
	// in package analyze: time 0 of a native log (the start of recording),
	// the first record of a PyPy log. Slices that overlap it are written
	// whole. 0 means no bound.
	From, To time.Duration
	// Threads, when not empty, keeps only these threads.
	Threads []uint32
	// MaxEvents stops the trace after this many trace events (0 means
	// DefaultMaxTraceEvents, negative means no cap).
	MaxEvents int
}

// ChromeStats says what a timeline contains.
type ChromeStats struct {
	TraceEvents int64 // JSON trace events written, metadata included
	Capped      bool  // stopped at MaxEvents; the trace is a prefix of the log
	CappedAt    int64 // log time (ns, relative to the start of the log, as From) of the cap

	Commits     int64 // attempt slices by outcome
	Aborts      int64
	Inevitable  int64 // committed (or detached) after becoming inevitable
	Unfinished  int64
	Pauses      int64
	Conflicts   int64
	Flows       int64
	Threads     int // tracks: threads with something in the trace
	SourceStats logformat.Stats
}

// Attempt slice names; the names are what Perfetto colours by.
const (
	chromeCommit     = "commit"
	chromeAbort      = "abort"
	chromeInevitable = "inevitable"
	chromeUnfinished = "unfinished"
)

// chromeColor is the chrome://tracing colour (reserved cname) of a slice.
var chromeColor = map[string]string{
	chromeCommit:     "good",                // green
	chromeAbort:      "bad",                 // red
	chromeInevitable: "thread_state_iowait", // orange
	chromeUnfinished: "grey",
}

// chromeOpen is a nested slice (pause or GC) that has begun but not ended.
type chromeOpen struct {
	name  string
	cname string
	cat   string
	start int64
	// KindWaitStart, KindGCMinorStart, KindGCMajorStart, or
	// KindBecomeInevitable for the inevitable section of an attempt.
	kind logformat.Kind
	args string // pre-encoded args object, "" for none
}

type chromeThread struct {
	included bool
	named    bool  // its thread_name metadata is written
	last     int64 // latest time seen (times are clamped to be non-decreasing)

	inTx       bool
	txStart    int64
	inevitable bool // became inevitable (or reattached) in this attempt
	inevAt     int64
	reattached bool
	// sectionArgs, when not "", is an inevitable section waiting for the
	// pauses open when the attempt became inevitable to end (it must not
	// overlap them partially).
	sectionArgs string
	conflict    logformat.ConflictKind // last conflict of this attempt

	nested []chromeOpen
	// pending holds the closed nested slices of the open attempt: they are
	// written after it so that in file order a parent precedes its children
	// (viewers break ties between equal start times by file order).
	pending []chromeSlice

	// Recent commits and become-inevitable moments, where conflict arrows
	// from this thread start.
	commits, inevs chromeMarks

	waiting []chromeFlow // arrows from this thread, until its events pass their time
}

type chromeSlice struct {
	start, end             int64
	name, cname, cat, args string
}

type chromeWriter struct {
	w       *bufio.Writer
	src     logformat.Source
	opt     ChromeOptions
	max     int64
	origin  int64
	lo, hi  int64 // absolute window
	threads map[uint32]*chromeThread
	keep    map[uint32]bool
	sites   map[logformat.StackID]string
	buf     []byte
	abuf    []byte // args being built
	first   bool   // no trace event written yet (for commas)
	flowID  uint64
	now     int64 // time of the event being handled
	// Names and args built once per log rather than per event.
	pauseNames, pauseArgs, conflictNames [256]string
	stats                                ChromeStats
	err                                  error
}

// WriteChromeTrace reads src to the end and writes its timeline to w as
// Chrome trace event JSON. The JSON is complete and valid even when the log
// is damaged: the error from src is returned after the trace is closed.
func WriteChromeTrace(w io.Writer, src logformat.Source, opt ChromeOptions) (ChromeStats, error) {
	cw := &chromeWriter{
		w:       bufio.NewWriterSize(w, 1<<16),
		src:     src,
		opt:     opt,
		threads: make(map[uint32]*chromeThread),
		sites:   make(map[logformat.StackID]string),
		first:   true,
	}
	switch {
	case opt.MaxEvents == 0:
		cw.max = DefaultMaxTraceEvents
	case opt.MaxEvents < 0:
		cw.max = -1
	default:
		cw.max = int64(opt.MaxEvents)
	}
	if len(opt.Threads) > 0 {
		cw.keep = make(map[uint32]bool, len(opt.Threads))
		for _, t := range opt.Threads {
			cw.keep[t] = true
		}
	}
	readErr := cw.run()
	cw.finish()
	if err := cw.w.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	cw.stats.SourceStats = src.Stats()
	for _, t := range cw.threads {
		if t.named {
			cw.stats.Threads++
		}
	}
	if cw.err != nil {
		return cw.stats, cw.err
	}
	return cw.stats, readErr
}

func (cw *chromeWriter) run() error {
	cw.raw(`{"displayTimeUnit":"ns","traceEvents":[`)
	name := cw.opt.Name
	if name == "" {
		name = "log"
	}
	cw.meta(0, "process_name", "stmlog "+name)
	started := false
	for cw.err == nil && !cw.stats.Capped {
		ev, err := cw.src.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !started {
			// The log's time 0, as in package analyze (and so stmlog
			// report): the start of recording for native logs, whose
			// first event read need not be the earliest; the first
			// record for PyPy's.
			started = true
			if !strings.HasPrefix(cw.src.Stats().Format, "stmlog") {
				cw.origin = ev.Time
			}
			cw.lo, cw.hi = -1<<63, 1<<63-1
			if cw.opt.From > 0 {
				cw.lo = cw.origin + int64(cw.opt.From)
			}
			if cw.opt.To > 0 {
				cw.hi = cw.origin + int64(cw.opt.To)
			}
		}
		cw.event(ev)
	}
	return nil
}

func (cw *chromeWriter) thread(id uint32) *chromeThread {
	t := cw.threads[id]
	if t != nil {
		return t
	}
	t = &chromeThread{included: cw.keep == nil || cw.keep[id]}
	cw.threads[id] = t
	return t
}

// track names thread id's track before its first trace event, so that
// threads with nothing in the window or filter get no empty track.
func (cw *chromeWriter) track(id uint32) {
	t := cw.threads[id]
	if t == nil || t.named {
		return
	}
	t.named = true
	cw.meta(id, "thread_name", "thread "+strconv.FormatUint(uint64(id), 10))
	cw.metaSort(id)
}

func (cw *chromeWriter) event(ev logformat.Event) {
	if ev.Thread == 0 || !ev.Kind.Valid() {
		return // not a real event (damaged input); analyze skips these too
	}
	t := cw.thread(ev.Thread)
	now := ev.Time
	if now < t.last {
		now = t.last // keep nesting sound even if a log goes backwards
	}
	t.last = now
	cw.now = now
	if len(t.waiting) > 0 {
		cw.resolveFlows(ev.Thread, t, now, false)
	}
	switch ev.Kind {
	case logformat.KindTxStart:
		cw.endTx(ev.Thread, t, now, chromeUnfinished, "")
		cw.closeNested(ev.Thread, t, now, 0)
		t.inTx, t.txStart = true, now
		t.inevitable, t.reattached, t.conflict = false, false, logformat.ConflictNone
		t.sectionArgs = ""
	case logformat.KindTxCommit:
		name := chromeCommit
		if t.inevitable {
			name = chromeInevitable
		}
		start := t.txStart
		if cw.endTx(ev.Thread, t, now, name, "") {
			t.commits.add(start, now)
		}
	case logformat.KindTxAbort:
		cw.endTx(ev.Thread, t, now, chromeAbort, ev.Cause.String())
	case logformat.KindDetach:
		// PyPy c8: the inevitable transaction leaves the thread; drawn like
		// plot_stm_log.py does, as the end of the attempt.
		t.inevitable = true
		cw.endTx(ev.Thread, t, now, chromeInevitable, "")
	case logformat.KindReattach:
		cw.endTx(ev.Thread, t, now, chromeUnfinished, "")
		cw.closeNested(ev.Thread, t, now, 0)
		t.inTx, t.txStart = true, now
		t.inevitable, t.inevAt, t.reattached = true, now, true
		t.inevs.add(now, now)
	case logformat.KindBecomeInevitable:
		a := append(cw.abuf[:0], `{"site":`...)
		a = appendJSONString(a, cw.site(ev.Site))
		a = append(a, '}')
		cw.abuf = a
		if !t.inevitable && t.inTx {
			// The rest of the attempt holds inevitability (others that
			// want it wait): drawn as a nested "inevitable section", like
			// plot_stm_log.py's orange box.
			t.inevitable, t.inevAt = true, now
			t.sectionArgs = string(a)
			cw.startSection(t, now)
		}
		t.inevs.add(now, now)
		if t.included && cw.inWindow(now, now) {
			cw.instant(ev.Thread, now, "become inevitable", "inevitable", a)
		}
	case logformat.KindConflict:
		cw.conflict(ev, t, now)
	case logformat.KindWaitStart:
		cw.closeNested(ev.Thread, t, now, logformat.KindWaitStart)
		cw.startSection(t, now)
		name := cw.pauseName(ev.Reason) // before reading pauseArgs, which it fills
		t.nested = append(t.nested, chromeOpen{
			name: name, cname: "terrible", cat: "pause",
			start: now, kind: logformat.KindWaitStart,
			args: cw.pauseArgs[ev.Reason],
		})
	case logformat.KindWaitDone:
		cw.closeNested(ev.Thread, t, now, logformat.KindWaitStart)
		cw.startSection(t, now)
	case logformat.KindGCMinorStart:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMinorStart)
		cw.startSection(t, now)
		t.nested = append(t.nested, chromeOpen{name: "minor gc", cname: "grey", cat: "gc", start: now, kind: logformat.KindGCMinorStart})
	case logformat.KindGCMinorDone:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMinorStart)
		cw.startSection(t, now)
	case logformat.KindGCMajorStart:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMajorStart)
		cw.startSection(t, now)
		t.nested = append(t.nested, chromeOpen{name: "major gc", cname: "yellow", cat: "gc", start: now, kind: logformat.KindGCMajorStart})
	case logformat.KindGCMajorDone:
		cw.closeNested(ev.Thread, t, now, logformat.KindGCMajorStart)
		cw.startSection(t, now)
	}
}

// startSection opens the inevitable section of t's attempt if one is due
// and nothing else is open (it starts when the last open pause ends).
func (cw *chromeWriter) startSection(t *chromeThread, now int64) {
	if t.sectionArgs == "" || !t.inTx || len(t.nested) > 0 {
		return
	}
	t.nested = append(t.nested, chromeOpen{name: "inevitable section", cname: "thread_state_iowait", cat: "inevitable",
		start: now, kind: logformat.KindBecomeInevitable, args: t.sectionArgs})
	t.sectionArgs = ""
}

// pauseName returns the slice name of a pause (and fills its args).
func (cw *chromeWriter) pauseName(r logformat.WaitReason) string {
	if cw.pauseNames[r] == "" {
		cw.pauseNames[r] = "pause " + r.String()
		cw.pauseArgs[r] = `{"reason":` + string(appendJSONString(nil, r.String())) + `}`
	}
	return cw.pauseNames[r]
}

func (cw *chromeWriter) conflictName(k logformat.ConflictKind) string {
	if cw.conflictNames[k] == "" {
		cw.conflictNames[k] = "conflict " + k.String()
	}
	return cw.conflictNames[k]
}

// conflict writes the instant event on the victim and the flow arrow from
// the culprit.
func (cw *chromeWriter) conflict(ev logformat.Event, t *chromeThread, now int64) {
	if t.inTx {
		t.conflict = ev.Conflict
	}
	if !t.included || !cw.inWindow(now, now) {
		return
	}
	cw.stats.Conflicts++
	a := append(cw.abuf[:0], `{"kind":`...)
	a = appendJSONString(a, ev.Conflict.String())
	a = append(a, `,"this":`...)
	a = appendJSONString(a, cw.site(ev.Site))
	a = append(a, `,"other":`...)
	a = appendJSONString(a, cw.site(ev.OtherSite))
	a = append(a, `,"other_thread":`...)
	a = strconv.AppendUint(a, uint64(ev.Other), 10)
	if ev.Var != 0 {
		a = append(a, `,"var":`...)
		name := cw.src.VarName(ev.Var)
		if name == "" {
			name = "#" + strconv.FormatUint(ev.Var, 10)
		}
		a = appendJSONString(a, name)
	}
	a = append(a, '}')
	cw.abuf = a
	cw.instant(ev.Thread, now, cw.conflictName(ev.Conflict), "conflict", a)

	if ev.Other == 0 || ev.Other == ev.Thread {
		return
	}
	o := cw.thread(ev.Other)
	if !o.included {
		return
	}
	fl := chromeFlow{victim: ev.Thread, at: now, kind: ev.Conflict, victimStart: now}
	if t.inTx {
		fl.victimStart = t.txStart
	}
	if o.last < now && len(o.waiting) < maxWaitingFlows {
		// The culprit's events up to the conflict time have not been read
		// yet (native logs come in per-thread chunks): draw the arrow once
		// they have.
		o.waiting = append(o.waiting, fl)
		return
	}
	cw.drawFlow(ev.Other, o, fl)
}

// chromeMarks remembers the last few (start, end) intervals of a thread:
// enough to find the culprit's event of a conflict read somewhat after it,
// in bounded memory.
type chromeMarks struct {
	start, end [32]int64
	n          int // total added; the last min(n, 32) are kept
}

func (m *chromeMarks) add(start, end int64) {
	i := m.n % len(m.end)
	m.start[i], m.end[i] = start, end
	m.n++
}

// find returns the latest interval that ends at or before t.
func (m *chromeMarks) find(t int64) (start, end int64, ok bool) {
	for k := 1; k <= min(m.n, len(m.end)); k++ {
		i := (m.n - k) % len(m.end)
		if m.end[i] <= t {
			return m.start[i], m.end[i], true
		}
	}
	return 0, 0, false
}

// maxWaitingFlows bounds the arrows held back per culprit thread; beyond it
// arrows start at the conflict time.
const maxWaitingFlows = 4096

// chromeFlow is a conflict arrow whose start is not written yet.
type chromeFlow struct {
	victim          uint32
	at, victimStart int64
	kind            logformat.ConflictKind
}

// resolveFlows draws the held-back arrows of culprit thread o whose
// conflict time its events have passed (all of them if all is set).
func (cw *chromeWriter) resolveFlows(tid uint32, o *chromeThread, now int64, all bool) {
	keep := o.waiting[:0]
	for _, fl := range o.waiting {
		if all || fl.at < now {
			cw.drawFlow(tid, o, fl)
		} else {
			keep = append(keep, fl)
		}
	}
	o.waiting = keep
}

// drawFlow writes an arrow from culprit thread o to the victim's attempt. It
// starts at the culprit's event that caused the conflict when o's state
// shows it: the commit of the write the victim read too early (write-read),
// or the moment o became inevitable (inevitable); else at the conflict time.
func (cw *chromeWriter) drawFlow(tid uint32, o *chromeThread, fl chromeFlow) {
	from := fl.at
	switch fl.kind {
	case logformat.ConflictWriteRead:
		if start, end, ok := o.commits.find(fl.at); ok && end >= fl.victimStart {
			from = max(end-1, start) // inside the commit slice, not at its edge
		}
	case logformat.ConflictInevitable:
		if _, at, ok := o.inevs.find(fl.at); ok {
			from = at
		}
	}
	cw.track(tid)
	cw.track(fl.victim)
	if cw.max >= 0 && cw.stats.TraceEvents+2 > cw.max {
		cw.stats.Capped, cw.stats.CappedAt = true, cw.now-cw.origin // both ends or neither
		return
	}
	cw.flowID++
	cw.stats.Flows++
	cw.flow("s", tid, from, cw.flowID)
	cw.flow("f", fl.victim, fl.at, cw.flowID)
}

// endTx closes the open attempt of t (and what is nested in it) at now and
// writes it; it reports whether an attempt was open.
func (cw *chromeWriter) endTx(tid uint32, t *chromeThread, now int64, name, cause string) bool {
	if !t.inTx {
		return false
	}
	cw.closeNested(tid, t, now, 0)
	t.inTx, t.sectionArgs = false, ""
	if !t.included || !cw.inWindow(t.txStart, now) {
		t.pending = t.pending[:0]
		return true
	}
	switch name {
	case chromeCommit:
		cw.stats.Commits++
	case chromeAbort:
		cw.stats.Aborts++
	case chromeInevitable:
		cw.stats.Inevitable++
	default:
		cw.stats.Unfinished++
	}
	a := append(cw.abuf[:0], `{"outcome":`...)
	a = appendJSONString(a, name)
	if cause != "" {
		a = append(a, `,"cause":`...)
		a = appendJSONString(a, cause)
	}
	if t.conflict != logformat.ConflictNone {
		a = append(a, `,"conflict":`...)
		a = appendJSONString(a, t.conflict.String())
	}
	if t.inevitable {
		a = append(a, `,"inevitable_after_ns":`...)
		a = strconv.AppendInt(a, t.inevAt-t.txStart, 10)
	}
	if t.reattached {
		a = append(a, `,"reattached":true`...)
	}
	a = append(a, '}')
	cw.abuf = a
	cw.slice(tid, t.txStart, now, name, chromeColor[name], "tx", a)
	// Parents before children: by start, longer first (closing order is
	// innermost first).
	sort.SliceStable(t.pending, func(i, j int) bool {
		pi, pj := &t.pending[i], &t.pending[j]
		if pi.start != pj.start {
			return pi.start < pj.start
		}
		return pi.end > pj.end
	})
	for _, p := range t.pending {
		cw.slice(tid, p.start, p.end, p.name, p.cname, p.cat, []byte(p.args))
	}
	t.pending = t.pending[:0]
	return true
}

// closeNested closes, at now, the innermost open nested slice of the given
// kind and everything opened inside it; kind 0 closes them all.
func (cw *chromeWriter) closeNested(tid uint32, t *chromeThread, now int64, kind logformat.Kind) {
	i := len(t.nested) - 1
	if kind != 0 {
		for i >= 0 && t.nested[i].kind != kind {
			i--
		}
		if i < 0 {
			return
		}
	} else {
		i = 0
	}
	for j := len(t.nested) - 1; j >= i; j-- {
		n := t.nested[j]
		if t.included && cw.inWindow(n.start, now) {
			if n.kind == logformat.KindWaitStart {
				cw.stats.Pauses++
			}
			if t.inTx {
				t.pending = append(t.pending, chromeSlice{n.start, now, n.name, n.cname, n.cat, n.args})
			} else {
				cw.slice(tid, n.start, now, n.name, n.cname, n.cat, []byte(n.args))
			}
		}
	}
	t.nested = t.nested[:i]
}

// finish closes what is still open at the end of the log, then the JSON.
func (cw *chromeWriter) finish() {
	if !cw.stats.Capped {
		ids := make([]uint32, 0, len(cw.threads))
		for id := range cw.threads {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			t := cw.threads[id]
			cw.resolveFlows(id, t, t.last, true)
			if !cw.endTx(id, t, t.last, chromeUnfinished, "") {
				cw.closeNested(id, t, t.last, 0)
			}
		}
	}
	st := cw.src.Stats()
	var b []byte
	b = append(b, "\n],\"otherData\":{\"generator\":\"stmlog timeline\",\"format\":"...)
	b = appendJSONString(b, st.Format)
	b = append(b, `,"capped":`...)
	b = strconv.AppendBool(b, cw.stats.Capped)
	b = append(b, `,"truncated_bytes":`...)
	b = strconv.AppendInt(b, st.TruncatedBytes, 10)
	b = append(b, `,"dropped_events":`...)
	b = strconv.AppendInt(b, st.Dropped, 10)
	b = append(b, "}}\n"...)
	cw.raw(string(b))
}

func (cw *chromeWriter) inWindow(start, end int64) bool {
	return end >= cw.lo && start <= cw.hi
}

// site renders a stack for the args of an event, cached by ID.
func (cw *chromeWriter) site(id logformat.StackID) string {
	if id == 0 {
		return ""
	}
	if s, ok := cw.sites[id]; ok {
		return s
	}
	st := cw.src.Stack(id)
	s := ""
	if st != nil {
		s = st.Label
		for i, f := range st.Frames {
			if i > 0 || s != "" {
				s += "\n"
			}
			s += f.String()
		}
	}
	cw.sites[id] = s
	return s
}

// Low-level writers. Every trace event goes through begin, which counts it
// and enforces the cap.

func (cw *chromeWriter) begin(ph string, tid uint32) bool {
	if cw.stats.Capped || cw.err != nil {
		return false
	}
	if cw.max >= 0 && cw.stats.TraceEvents >= cw.max {
		cw.stats.Capped = true
		cw.stats.CappedAt = cw.now - cw.origin
		return false
	}
	cw.stats.TraceEvents++
	b := cw.buf[:0]
	if cw.first {
		cw.first = false
		b = append(b, '\n')
	} else {
		b = append(b, ",\n"...)
	}
	b = append(b, `{"ph":"`...)
	b = append(b, ph...)
	b = append(b, `","pid":1,"tid":`...)
	b = strconv.AppendUint(b, uint64(tid), 10)
	cw.buf = b
	return true
}

func (cw *chromeWriter) end() {
	cw.buf = append(cw.buf, '}')
	if _, err := cw.w.Write(cw.buf); err != nil && cw.err == nil {
		cw.err = err
	}
}

func (cw *chromeWriter) raw(s string) {
	if _, err := cw.w.WriteString(s); err != nil && cw.err == nil {
		cw.err = err
	}
}

func (cw *chromeWriter) meta(tid uint32, name, value string) {
	if !cw.begin("M", tid) {
		return
	}
	cw.buf = append(cw.buf, `,"name":`...)
	cw.buf = appendJSONString(cw.buf, name)
	cw.buf = append(cw.buf, `,"args":{"name":`...)
	cw.buf = appendJSONString(cw.buf, value)
	cw.buf = append(cw.buf, '}')
	cw.end()
}

func (cw *chromeWriter) metaSort(tid uint32) {
	if !cw.begin("M", tid) {
		return
	}
	cw.buf = append(cw.buf, `,"name":"thread_sort_index","args":{"sort_index":`...)
	cw.buf = strconv.AppendUint(cw.buf, uint64(tid), 10)
	cw.buf = append(cw.buf, '}')
	cw.end()
}

func (cw *chromeWriter) slice(tid uint32, start, end int64, name, cname, cat string, args []byte) {
	cw.track(tid)
	if !cw.begin("X", tid) {
		return
	}
	b := append(cw.buf, `,"ts":`...)
	b = appendMicros(b, start)
	b = append(b, `,"dur":`...)
	b = appendMicros(b, end-start)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"cat":"`...)
	b = append(b, cat...)
	b = append(b, '"')
	if cname != "" {
		b = append(b, `,"cname":"`...)
		b = append(b, cname...)
		b = append(b, '"')
	}
	if len(args) > 0 {
		b = append(b, `,"args":`...)
		b = append(b, args...)
	}
	cw.buf = b
	cw.end()
}

func (cw *chromeWriter) instant(tid uint32, ts int64, name, cat string, args []byte) {
	cw.track(tid)
	if !cw.begin("i", tid) {
		return
	}
	b := append(cw.buf, `,"s":"t","ts":`...)
	b = appendMicros(b, ts)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"cat":"`...)
	b = append(b, cat...)
	b = append(b, `","args":`...)
	b = append(b, args...)
	cw.buf = b
	cw.end()
}

func (cw *chromeWriter) flow(ph string, tid uint32, ts int64, id uint64) {
	cw.track(tid)
	if !cw.begin(ph, tid) {
		return
	}
	b := append(cw.buf, `,"ts":`...)
	b = appendMicros(b, ts)
	b = append(b, `,"name":"conflict","cat":"conflict","id":`...)
	b = strconv.AppendUint(b, id, 10)
	if ph == "f" {
		b = append(b, `,"bp":"e"`...) // bind to the victim's enclosing attempt
	}
	cw.buf = b
	cw.end()
}

// appendMicros writes nanoseconds as the microseconds the format wants, with
// all three decimals so no precision is lost.
func appendMicros(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		if ns == -1<<63 {
			return append(b, "9223372036854775.808"...)
		}
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1000, 10)
	f := ns % 1000
	return append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028/U+2029 are escaped so the output is also valid JavaScript.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// String renders the stats as the CLI's one-line summary.
func (s ChromeStats) String() string {
	return fmt.Sprintf("%d threads, %d commits, %d aborts, %d inevitable, %d pauses, %d conflicts (%d trace events)",
		s.Threads, s.Commits, s.Aborts, s.Inevitable, s.Pauses, s.Conflicts, s.TraceEvents)
}
