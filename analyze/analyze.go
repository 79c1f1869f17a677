package analyze

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// GroupBy selects how conflicts are grouped.
type GroupBy uint8

const (
	// ByConflict (the default) groups by (kind, this site, other site).
	ByConflict GroupBy = iota
	// BySite groups by this side's site only (the code that lost the time).
	BySite
	// ByOther groups by the other side's site only (the code it met).
	ByOther
	// ByPair groups by (this site, other site), whatever the kind.
	ByPair
	// ByKind groups by conflict kind.
	ByKind
	// ByThread groups by the thread that lost the time.
	ByThread
	// ByVar groups by the Var (by name when it has one, else by id per log).
	ByVar

	numGroupBy
)

var groupByNames = [...]string{"conflict", "site", "other", "pair", "kind", "thread", "var"}

func (g GroupBy) String() string {
	if g < numGroupBy {
		return groupByNames[g]
	}
	return "by(" + strconv.Itoa(int(g)) + ")"
}

// ParseGroupBy is the inverse of GroupBy.String; "" means ByConflict.
func ParseGroupBy(s string) (GroupBy, error) {
	if s == "" {
		return ByConflict, nil
	}
	for g := range numGroupBy {
		if groupByNames[g] == s {
			return g, nil
		}
	}
	return 0, fmt.Errorf("unknown grouping %q (want %s)", s, strings.Join(groupByNames[:], ", "))
}

// Options select what an Analyzer counts and how it groups conflicts. The
// zero Options analyze everything, grouped ByConflict.
type Options struct {
	By GroupBy
	// Kind, when not ConflictNone, keeps only conflicts of that kind in the
	// groups (the totals still cover all transactions).
	Kind logformat.ConflictKind
	// Thread, when not 0, keeps only the events of that thread.
	Thread uint32
	// From and To select a time window relative to the start of each log
	// (see the package doc); To <= 0 means "to the end". Intervals are
	// clipped to the window.
	From, To time.Duration
}

// Summary is the result of an analysis. Durations are CPU time summed over
// threads except Wall; times (Start, End, First, Last) are relative to the
// start of each log (see the package doc).
type Summary struct {
	Options Options
	Logs    []Log

	// Start and End bound what the totals and timelines cover: the events'
	// time range, clipped to the window. Wall = End - Start.
	Start, End time.Duration
	Wall       time.Duration

	Committed time.Duration // run time of committed attempts
	// Estimated says Committed includes an estimate: a profile-level log
	// counts the transactions that met no contention and times a sample of
	// them (see logformat.Aggregate). CommittedErr bounds the estimate's
	// error at 95 % (1.96 standard errors); -1 when no commit was sampled
	// (the untimed ones then count for nothing, and the error is unknown).
	Estimated    bool
	CommittedErr time.Duration
	Aborted      time.Duration // run time of aborted attempts
	Paused       time.Duration // all pauses (see PauseReasons)
	GCMinor      time.Duration // PyPy logs: GC time (overlaps run time)
	GCMajor      time.Duration

	Commits   int64 // committed transactions
	Aborts    int64 // aborted attempts
	Conflicts int64 // conflict events kept (after the Kind filter)

	AbortCauses  []CauseStat  // aborts by cause, most time first
	PauseReasons []ReasonStat // pauses by reason, most time first

	// Time lost with no conflict to charge it to (an abort or pause with
	// no pending conflict, e.g. an error return or a Retry wait).
	UnattributedAborted time.Duration
	UnattributedPaused  time.Duration

	Threads []Thread // sorted by log, then thread
	Groups  []Group  // sorted by Lost, then Count (descending), then Key

	// Timeline counts all kept conflict events over [Start, End].
	Timeline [TimelineCells]int64

	// Warnings about the input: truncation, dropped events, missing end
	// marker, events out of order, pauses without end, ...
	Warnings []string
}

// Lost is the time charged to conflict groups (aborted + paused).
func (s *Summary) Lost() time.Duration {
	var d time.Duration
	for i := range s.Groups {
		d += s.Groups[i].Lost
	}
	return d
}

// CPU is the total of committed, aborted and paused time.
func (s *Summary) CPU() time.Duration { return s.Committed + s.Aborted + s.Paused }

// TxPerSecond is committed transactions per second of wall time.
func (s *Summary) TxPerSecond() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return float64(s.Commits) / s.Wall.Seconds()
}

// Percent returns d as a percentage of the wall time (0 if it is zero).
func (s *Summary) Percent(d time.Duration) float64 {
	if s.Wall <= 0 {
		return 0
	}
	return 100 * float64(d) / float64(s.Wall)
}

// Log describes one input log.
type Log struct {
	Name   string
	Format string
	Events int64
	// Span is the log's own time range (last event - first event).
	Span  time.Duration
	Stats logformat.Stats
}

// Thread holds one thread's totals.
type Thread struct {
	Log       int    // index in Summary.Logs
	ID        uint32 // thread number within that log
	Commits   int64
	Aborts    int64
	Conflicts int64
	Committed time.Duration
	Estimated bool // Committed includes an estimate (see Summary.Estimated)
	Aborted   time.Duration
	Paused    time.Duration
}

// CauseStat counts aborts of one cause and their run time.
type CauseStat struct {
	Cause logformat.AbortCause
	Count int64
	Time  time.Duration
}

// ReasonStat counts pauses of one reason and their time.
type ReasonStat struct {
	Reason logformat.WaitReason
	Count  int64
	Time   time.Duration
}

// Group is the time lost to one group of conflicts. Fields that do not
// apply to the grouping, or that differ between the group's events, are
// zero: Kind is ConflictNone for mixed kinds, This/Other nil for mixed or
// unknown sites, Var 0 for mixed Vars.
type Group struct {
	// Key identifies the group; equal keys across summaries with the same
	// GroupBy mean the same group (stacks are compared by content).
	Key       string
	Kind      logformat.ConflictKind
	Site      *logformat.Stack // this side's site: the side that lost the time
	OtherSite *logformat.Stack // the other side's site
	// Thread is this side's thread (ByThread; Log says which log). Log
	// is also set ByVar for an unnamed Var, whose id is per log.
	Log     int
	Thread  uint32
	Var     uint64
	VarName string

	Count   int64 // conflict events
	Aborts  int64 // attempts aborted while one of them was pending
	Aborted time.Duration
	Paused  time.Duration
	Lost    time.Duration // Aborted + Paused
	// Per conflict event: the time charged to it.
	Avg, P90, Max time.Duration
	// First and Last conflict event times.
	First, Last time.Duration
	// Threads that met the conflict, and the other threads named by it
	// (thread numbers; with several logs, numbers from all of them).
	Threads      []uint32
	OtherThreads []uint32
	Timeline     [TimelineCells]int64
}

// Analyzer aggregates events. It is not safe for concurrent use.
type Analyzer struct {
	opt      Options
	from, to int64
	windowed bool
	// aggregated: some log had aggregate records (profile level)
	aggregated bool

	logs []*logState

	stacks   []*logformat.Stack // interned by content; index 0 = none
	stackIdx map[string]int32
	varNames []string
	varIdx   map[string]int32

	groups    map[gkey]*group
	order     []*group
	scale     scale
	timelines []*fineTimeline
	all       *fineTimeline // every kept conflict

	tot         totals
	causes      [256]CauseStat // by cause (a uint8): no map lookup per event
	reasons     [256]ReasonStat
	minT, maxT  int64
	anyEvent    bool
	unattribAb  int64
	unattribPau int64
}

type totals struct {
	committed, aborted, paused, gcMinor, gcMajor int64
	commits, aborts, conflicts                   int64
}

type gkey struct {
	kind        logformat.ConflictKind
	this, other int32
	log         int32
	thread      uint32
	v           uint64
	vname       int32
}

const mixed = -1

type group struct {
	key          gkey
	kind         logformat.ConflictKind
	kindMixed    bool
	this, other  int32 // interned stack index, or mixed
	v            uint64
	vname        int32
	vMixed       bool
	log          int32
	thread       uint32
	count        int64
	aborts       int64
	aborted      int64
	paused       int64
	first, last  int64
	cost         sketch
	threads      []uint32
	otherThreads []uint32
	tl           *fineTimeline
}

type logState struct {
	name      string
	src       logformat.Source
	index     int
	start     int64 // the log's time 0: see AddNamed
	started   bool  // start is known
	seen      bool  // min and max are set
	min, max  int64 // relative
	events    int64
	threads   []*thread // by thread number, for small numbers
	threadMap map[uint32]*thread
	stackIDs  map[logformat.StackID]int32
	stats     logformat.Stats

	outOfOrder, orphanDone, orphanEnd, badThread int64
	openPauses, unfinished                       int64
}

type cacheKey struct {
	site, other logformat.StackID
	kind        logformat.ConflictKind
	v           uint64
}

type thState uint8

const (
	stStop thState = iota
	stRun
	stPause
	stDetached
)

type thread struct {
	id      uint32
	state   thState
	prev    int64 // time of the last transition
	last    int64 // time of the last event (order check)
	seen    bool
	inTx    bool
	waiting bool
	reason  logformat.WaitReason
	run     int64 // run time of the current attempt

	// The group of the thread's last conflict, by the event fields that
	// choose it: threads tend to meet the same conflict again, and this
	// skips the interning and map lookups of groupOf.
	cacheKey   cacheKey
	cacheGroup *group

	pending     *group // conflict charged by pauses and the next abort
	pendingSet  bool   // a conflict is pending (pending may be nil: filtered out)
	pendingCost int64
	pendingKept bool // the pending conflict was counted (in the window)
	// afterAbort: the pending conflict aborted the attempt and stays
	// pending until the next start, for the contention manager's backoff
	// pause between the abort and the re-run, which that conflict caused.
	afterAbort bool

	gcMinorStart, gcMajorStart int64
	inGCMinor, inGCMajor       bool

	commits, aborts, conflicts int64
	committed, aborted, paused int64

	// agg pools the thread's aggregate records (profile-level logs): the
	// commits they count are in commits; their time is estimated at
	// Summary time (logformat.Aggregate.CommittedNs).
	agg logformat.Aggregate
}

// New returns an Analyzer with the given options.
func New(opt Options) *Analyzer {
	a := &Analyzer{
		opt:      opt,
		from:     int64(opt.From),
		to:       int64(opt.To),
		windowed: opt.From != 0 || opt.To > 0,
		stacks:   []*logformat.Stack{nil},
		stackIdx: map[string]int32{},
		varNames: []string{""},
		varIdx:   map[string]int32{},
		groups:   map[gkey]*group{},
	}
	if a.to <= 0 {
		a.to = 1<<63 - 1
	}
	a.all = a.newTimeline()
	return a
}

func (a *Analyzer) newTimeline() *fineTimeline {
	tl := new(fineTimeline)
	a.timelines = append(a.timelines, tl)
	return tl
}

// Add reads src to its end and adds its events. The log is named after its
// position ("log 1", ...); use AddNamed to name it. On a read error the
// events read so far stay in the analysis and the error is returned as is
// (readers' errors already name the file and byte offset).
func (a *Analyzer) Add(src logformat.Source) error {
	return a.AddNamed("log "+strconv.Itoa(len(a.logs)+1), src)
}

// AddNamed is Add with a name for the log, used in warnings.
func (a *Analyzer) AddNamed(name string, src logformat.Source) error {
	l := &logState{name: name, src: src, index: len(a.logs), stackIDs: map[logformat.StackID]int32{}}
	a.logs = append(a.logs, l)
	// Native logs count time from the start of recording, which is the
	// natural time 0 (their per-thread batches are not in global time
	// order, so the first event read need not be the earliest). Other
	// formats (PyPy's monotonic clock, in order) start at their first event.
	if strings.HasPrefix(src.Stats().Format, "stmlog") {
		l.started = true
	}
	var err error
	for {
		var ev logformat.Event
		ev, err = src.Next()
		if err != nil {
			break
		}
		if ev.Kind == logformat.KindAggregate {
			if as, ok := src.(logformat.AggregateSource); ok {
				a.aggregate(l, as.Aggregate())
			}
			continue
		}
		a.event(l, &ev)
	}
	a.endLog(l)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func (a *Analyzer) threadOf(l *logState, id uint32) *thread {
	if id < 4096 {
		if int(id) < len(l.threads) {
			if th := l.threads[id]; th != nil {
				return th
			}
		} else {
			l.threads = append(l.threads, make([]*thread, int(id)+1-len(l.threads))...)
		}
		th := &thread{id: id}
		l.threads[id] = th
		return th
	}
	if l.threadMap == nil {
		l.threadMap = map[uint32]*thread{}
	}
	th := l.threadMap[id]
	if th == nil {
		th = &thread{id: id}
		l.threadMap[id] = th
	}
	return th
}

func (a *Analyzer) inWindow(t int64) bool { return !a.windowed || (t >= a.from && t < a.to) }

// span returns the part of [t1, t2) inside the window.
func (a *Analyzer) span(t1, t2 int64) int64 {
	if a.windowed {
		t1 = max(t1, a.from)
		t2 = min(t2, a.to)
	}
	if t2 <= t1 {
		return 0
	}
	return t2 - t1
}

// advance accounts the time since th's last transition to its state.
func (a *Analyzer) advance(th *thread, t int64) {
	if th.state == stStop {
		th.prev = t
		return
	}
	d := a.span(th.prev, t)
	th.prev = t
	if d == 0 {
		return
	}
	switch th.state {
	case stRun:
		th.run += d
	case stPause:
		a.tot.paused += d
		th.paused += d
		a.reasons[th.reason].Time += time.Duration(d)
		if th.pendingSet && (!th.afterAbort || th.reason == logformat.WaitBackoff) {
			if g := th.pending; g != nil {
				g.paused += d
				th.pendingCost += d
			}
		} else {
			a.unattribPau += d
		}
	}
}

// aggregate takes in an aggregate record: transactions counted, not logged
// as events (profile-level logs). Its period counts as the log's time span;
// under a window, a record counts if its period ends inside.
func (a *Analyzer) aggregate(l *logState, g logformat.Aggregate) {
	if g.Thread == 0 || (a.opt.Thread != 0 && g.Thread != a.opt.Thread) {
		return
	}
	if !l.started {
		l.started = true
		l.start = g.Start
	}
	t0, t1 := max(g.Start-l.start, 0), max(g.End-l.start, 0)
	if !l.seen {
		l.seen = true
		l.min, l.max = t0, t1
	}
	l.min = min(l.min, t0)
	l.max = max(l.max, t1)
	if !a.inWindow(t1) {
		return
	}
	th := a.threadOf(l, g.Thread)
	th.agg = th.agg.Add(g)
	th.commits += int64(g.Commits)
	a.tot.commits += int64(g.Commits)
	a.aggregated = true
}

// aggregateTime estimates the committed time of the aggregate records of
// every thread (pooling each thread's sample, and all threads' for one
// with none), and its standard error.
func (a *Analyzer) aggregateTime(each func(th *thread, est int64)) (total int64, stderr float64) {
	var all logformat.Aggregate
	a.eachThread(func(th *thread) { all = all.Add(th.agg) })
	mean := -1.0
	if all.Sampled > 0 {
		mean = float64(all.SampledNs) / float64(all.Sampled)
	}
	var v float64
	a.eachThread(func(th *thread) {
		if th.agg.Commits == 0 {
			return
		}
		est, se := th.agg.CommittedNs(mean)
		if math.IsInf(se, 1) && mean >= 0 {
			se = 0 // no sample of its own: the pooled mean, whose error is the pool's
		}
		v += se * se
		total += est
		each(th, est)
	})
	return total, math.Sqrt(v)
}

func (a *Analyzer) eachThread(f func(th *thread)) {
	for _, l := range a.logs {
		for _, th := range l.threads {
			if th != nil {
				f(th)
			}
		}
		for _, th := range l.threadMap {
			f(th)
		}
	}
}

func (a *Analyzer) event(l *logState, ev *logformat.Event) {
	if ev.Thread == 0 || !ev.Kind.Valid() {
		l.badThread++
		return
	}
	if !l.started {
		l.started = true
		l.start = ev.Time
	}
	if a.opt.Thread != 0 && ev.Thread != a.opt.Thread {
		return
	}
	t := ev.Time - l.start
	l.events++
	th := a.threadOf(l, ev.Thread)
	if th.seen && t < th.last {
		l.outOfOrder++
		t = th.last // keep durations non-negative
	}
	th.seen = true
	th.last = t
	if !l.seen {
		l.seen = true
		l.min, l.max = t, t
	}
	l.min = min(l.min, t)
	l.max = max(l.max, t)
	in := a.inWindow(t)
	a.advance(th, t)

	switch ev.Kind {
	case logformat.KindTxStart:
		if th.inTx {
			l.unfinished++ // a start with no end: the old attempt vanished
			a.clearPending(th)
		}
		if th.afterAbort {
			a.clearPending(th)
		}
		th.inTx = true
		th.run = 0
		if !th.waiting {
			th.state = stRun
		}
	case logformat.KindTxCommit:
		if !th.inTx {
			l.orphanEnd++
		}
		if in {
			a.tot.commits++
			th.commits++
		}
		a.tot.committed += th.run
		th.committed += th.run
		th.run = 0
		th.inTx = false
		th.state = stStop
		a.clearPending(th)
	case logformat.KindTxAbort:
		if !th.inTx {
			l.orphanEnd++
		}
		run := th.run
		if in {
			a.tot.aborts++
			th.aborts++
		}
		a.tot.aborted += run
		th.aborted += run
		cs := &a.causes[ev.Cause]
		if in {
			cs.Count++
		}
		cs.Time += time.Duration(run)
		if th.pendingSet && contended(ev.Cause) {
			if g := th.pending; g != nil {
				g.aborted += run
				if in {
					g.aborts++
				}
				th.pendingCost += run
			}
		} else {
			a.unattribAb += run
		}
		th.run = 0
		th.inTx = false
		th.state = stStop
		if th.pendingSet && ev.Cause == logformat.AbortConflict {
			th.afterAbort = true
		} else {
			a.clearPending(th)
		}
	case logformat.KindConflict:
		a.clearPending(th)
		th.pendingSet = true
		if a.opt.Kind != logformat.ConflictNone && ev.Conflict != a.opt.Kind {
			return
		}
		ck := cacheKey{ev.Site, ev.OtherSite, ev.Conflict, ev.Var}
		g := th.cacheGroup
		if g == nil || th.cacheKey != ck {
			g = a.groupOf(l, ev)
			th.cacheKey, th.cacheGroup = ck, g
		}
		th.pending = g
		th.pendingKept = in
		if !in {
			return
		}
		th.conflicts++
		a.tot.conflicts++
		if g.count == 0 {
			g.first = t
		}
		g.count++
		g.first = min(g.first, t)
		g.last = max(g.last, t)
		g.threads = addThread(g.threads, ev.Thread)
		if ev.OtherThread != 0 {
			g.otherThreads = addThread(g.otherThreads, ev.OtherThread)
		}
		i := a.fineIndex(t)
		g.tl[i]++
		a.all[i]++
	case logformat.KindWaitStart:
		if th.waiting {
			l.orphanDone++ // nested start: treat as one pause
		}
		th.waiting = true
		th.reason = ev.Reason
		th.state = stPause
		if in {
			a.reasons[ev.Reason].Count++
		}
	case logformat.KindWaitDone:
		if !th.waiting {
			l.orphanDone++
		}
		th.waiting = false
		if th.inTx {
			th.state = stRun
		} else {
			th.state = stStop
		}
	case logformat.KindDetach:
		th.state = stDetached
	case logformat.KindReattach:
		th.state = stRun
	case logformat.KindGCMinorStart:
		if th.state == stDetached { // PyPy: the JIT does not emit DETACH/REATTACH
			th.state = stRun
		}
		th.inGCMinor, th.gcMinorStart = true, t
	case logformat.KindGCMinorDone:
		if th.inGCMinor {
			a.tot.gcMinor += a.span(th.gcMinorStart, t)
			th.inGCMinor = false
		}
	case logformat.KindGCMajorStart:
		th.inGCMajor, th.gcMajorStart = true, t
	case logformat.KindGCMajorDone:
		if th.inGCMajor {
			a.tot.gcMajor += a.span(th.gcMajorStart, t)
			th.inGCMajor = false
		}
	}
}

// contended reports whether an abort of this cause can be the pending
// conflict's doing. A body that called Retry, returned an error or panicked
// threw its attempt away itself, even if it had met a conflict before (say,
// it waited for an inevitable transaction, then found nothing to do).
func contended(c logformat.AbortCause) bool {
	switch c {
	case logformat.AbortRetry, logformat.AbortError, logformat.AbortPanic:
		return false
	}
	return true
}

func addThread(s []uint32, id uint32) []uint32 {
	// Groups usually see few threads; a linear scan beats a map here.
	for _, x := range s {
		if x == id {
			return s
		}
	}
	return append(s, id)
}

// clearPending ends th's pending conflict: its total cost becomes one sample
// of its group's per-event distribution.
func (a *Analyzer) clearPending(th *thread) {
	if g := th.pending; g != nil && th.pendingKept {
		g.cost.add(th.pendingCost)
	}
	th.pending = nil
	th.pendingSet = false
	th.pendingKept = false
	th.pendingCost = 0
	th.afterAbort = false
}

func (a *Analyzer) stack(l *logState, id logformat.StackID) int32 {
	if id == 0 {
		return 0
	}
	if i, ok := l.stackIDs[id]; ok {
		return i
	}
	st := l.src.Stack(id)
	var i int32
	if st != nil {
		k := st.Key()
		var ok bool
		if i, ok = a.stackIdx[k]; !ok {
			cp := &logformat.Stack{Label: st.Label, Frames: slices.Clone(st.Frames)}
			i = int32(len(a.stacks))
			a.stacks = append(a.stacks, cp)
			a.stackIdx[k] = i
		}
	}
	l.stackIDs[id] = i
	return i
}

func (a *Analyzer) varName(name string) int32 {
	if name == "" {
		return 0
	}
	i, ok := a.varIdx[name]
	if !ok {
		i = int32(len(a.varNames))
		a.varNames = append(a.varNames, name)
		a.varIdx[name] = i
	}
	return i
}

func (a *Analyzer) groupOf(l *logState, ev *logformat.Event) *group {
	this := a.stack(l, ev.Site)
	other := a.stack(l, ev.OtherSite)
	var vname int32
	if ev.Var != 0 && (a.opt.By == ByVar || a.opt.By == ByConflict) {
		vname = a.varName(l.src.VarName(ev.Var))
	}
	var k gkey
	switch a.opt.By {
	case ByConflict:
		k = gkey{kind: ev.Conflict, this: this, other: other}
	case BySite:
		k = gkey{this: this}
	case ByOther:
		k = gkey{other: other}
	case ByPair:
		k = gkey{this: this, other: other}
	case ByKind:
		k = gkey{kind: ev.Conflict}
	case ByThread:
		k = gkey{log: int32(l.index), thread: ev.Thread}
	case ByVar:
		switch {
		case vname != 0:
			k = gkey{vname: vname}
		case ev.Var != 0:
			k = gkey{log: int32(l.index), v: ev.Var}
		} // else no Var (inevitable conflicts): one group for all logs
	}
	g := a.groups[k]
	if g == nil {
		g = &group{key: k, kind: ev.Conflict, this: this, other: other,
			v: ev.Var, vname: vname, log: int32(l.index), thread: ev.Thread, tl: a.newTimeline()}
		a.groups[k] = g
		a.order = append(a.order, g)
		return g
	}
	if g.kind != ev.Conflict {
		g.kindMixed = true
	}
	if g.this != this {
		g.this = mixed
	}
	if g.other != other {
		g.other = mixed
	}
	// A named Var is the same Var in every log and under every id (see
	// ByVar): only its id can differ. Unnamed ones are ids within a log.
	if g.vname != vname || (vname == 0 && (g.v != ev.Var || int(g.log) != l.index)) {
		g.vMixed = true
	} else if g.v != ev.Var {
		g.v = 0
	}
	return g
}

// endLog closes what the log left open: pauses are charged up to the log's
// last event, pending conflicts are closed, unfinished attempts counted.
func (a *Analyzer) endLog(l *logState) {
	each := func(th *thread) {
		if th == nil {
			return
		}
		if th.waiting {
			l.openPauses++
			a.advance(th, l.max)
		}
		if th.inTx {
			l.unfinished++
		}
		a.clearPending(th)
	}
	for _, th := range l.threads {
		each(th)
	}
	for _, th := range l.threadMap {
		each(th)
	}
	l.stats = l.src.Stats()
	if l.seen {
		if !a.anyEvent {
			a.minT, a.maxT = l.min, l.max
			a.anyEvent = true
		} else {
			a.minT = min(a.minT, l.min)
			a.maxT = max(a.maxT, l.max)
		}
	}
}

// Summary returns the analysis of everything added so far. It may be called
// more than once; each call builds a new Summary.
func (a *Analyzer) Summary() *Summary {
	s := &Summary{
		Options:             a.opt,
		Committed:           time.Duration(a.tot.committed),
		Aborted:             time.Duration(a.tot.aborted),
		Paused:              time.Duration(a.tot.paused),
		GCMinor:             time.Duration(a.tot.gcMinor),
		GCMajor:             time.Duration(a.tot.gcMajor),
		Commits:             a.tot.commits,
		Aborts:              a.tot.aborts,
		Conflicts:           a.tot.conflicts,
		UnattributedAborted: time.Duration(a.unattribAb),
		UnattributedPaused:  time.Duration(a.unattribPau),
	}
	aggEst := map[*thread]int64{}
	if a.aggregated {
		untimed := false
		est, se := a.aggregateTime(func(th *thread, est int64) {
			aggEst[th] = est
			untimed = untimed || th.agg.Untimed() > 0
		})
		s.Committed += time.Duration(est)
		s.Estimated = untimed
		s.CommittedErr = time.Duration(1.96 * se)
		if math.IsInf(se, 1) {
			s.CommittedErr = -1 // no commit was sampled: unknown
		}
	}
	start, end := a.minT, a.maxT
	if a.windowed {
		start = max(start, a.from)
		end = min(end, a.to)
	}
	if end < start {
		end = start
	}
	s.Start, s.End, s.Wall = time.Duration(start), time.Duration(end), time.Duration(end-start)

	for _, l := range a.logs {
		s.Logs = append(s.Logs, Log{Name: l.name, Format: l.stats.Format, Events: l.events,
			Span: time.Duration(l.max - l.min), Stats: l.stats})
		a.logWarnings(s, l)
		add := func(th *thread) {
			if th == nil {
				return
			}
			t := Thread{Log: l.index, ID: th.id, Commits: th.commits,
				Aborts: th.aborts, Conflicts: th.conflicts, Committed: time.Duration(th.committed + aggEst[th]),
				Estimated: aggEst[th] != 0 && th.agg.Untimed() > 0,
				Aborted:   time.Duration(th.aborted), Paused: time.Duration(th.paused)}
			if a.windowed && t == (Thread{Log: t.Log, ID: t.ID}) {
				return // nothing in the window
			}
			s.Threads = append(s.Threads, t)
		}
		for _, th := range l.threads {
			add(th)
		}
		for _, th := range l.threadMap {
			add(th)
		}
	}
	slices.SortFunc(s.Threads, func(x, y Thread) int {
		return cmp.Or(cmp.Compare(x.Log, y.Log), cmp.Compare(x.ID, y.ID))
	})

	for i, c := range a.causes {
		if c.Count > 0 || c.Time > 0 {
			c.Cause = logformat.AbortCause(i)
			s.AbortCauses = append(s.AbortCauses, c)
		}
	}
	slices.SortFunc(s.AbortCauses, func(x, y CauseStat) int {
		return cmp.Or(cmp.Compare(y.Time, x.Time), cmp.Compare(x.Cause, y.Cause))
	})
	for i, r := range a.reasons {
		if r.Count > 0 || r.Time > 0 {
			r.Reason = logformat.WaitReason(i)
			s.PauseReasons = append(s.PauseReasons, r)
		}
	}
	slices.SortFunc(s.PauseReasons, func(x, y ReasonStat) int {
		return cmp.Or(cmp.Compare(y.Time, x.Time), cmp.Compare(x.Reason, y.Reason))
	})

	s.Timeline = a.cells(a.all, start, end)
	for _, g := range a.order {
		if g.count == 0 && g.aborted == 0 && g.paused == 0 {
			continue
		}
		s.Groups = append(s.Groups, a.exportGroup(g, start, end))
	}
	slices.SortFunc(s.Groups, func(x, y Group) int {
		return cmp.Or(cmp.Compare(y.Lost, x.Lost), cmp.Compare(y.Count, x.Count), strings.Compare(x.Key, y.Key))
	})
	return s
}

func (a *Analyzer) stackAt(i int32) *logformat.Stack {
	if i <= 0 {
		return nil
	}
	return a.stacks[i]
}

func (a *Analyzer) stackKey(i int32) string {
	if i <= 0 {
		return ""
	}
	return a.stacks[i].Key()
}

func (a *Analyzer) exportGroup(g *group, start, end int64) Group {
	out := Group{
		Count:    g.count,
		Aborts:   g.aborts,
		Aborted:  time.Duration(g.aborted),
		Paused:   time.Duration(g.paused),
		Lost:     time.Duration(g.aborted + g.paused),
		P90:      time.Duration(g.cost.quantile(0.9)),
		Max:      time.Duration(g.cost.max),
		First:    time.Duration(g.first),
		Last:     time.Duration(g.last),
		Timeline: a.cells(g.tl, start, end),
	}
	if g.count > 0 {
		out.Avg = time.Duration((g.aborted + g.paused) / g.count)
	}
	if !g.kindMixed {
		out.Kind = g.kind
	}
	out.Site = a.stackAt(g.this)
	out.OtherSite = a.stackAt(g.other)
	if !g.vMixed {
		out.Var = g.v
		out.VarName = a.varNames[g.vname]
		if out.VarName == "" && g.v != 0 {
			out.VarName = a.logs[g.log].src.VarName(g.v)
		}
	}
	switch {
	case a.opt.By == ByThread:
		out.Log, out.Thread = int(g.log), g.thread
	case a.opt.By == ByVar && g.key.v != 0:
		out.Log = int(g.log) // an unnamed Var's id is per log
	}
	out.Threads = slices.Sorted(slices.Values(g.threads))
	out.OtherThreads = slices.Sorted(slices.Values(g.otherThreads))

	k := g.key
	switch a.opt.By {
	case ByConflict:
		out.Key = k.kind.String() + "\x00" + a.stackKey(k.this) + "\x00" + a.stackKey(k.other)
	case BySite:
		out.Key = "site\x00" + a.stackKey(k.this)
	case ByOther:
		out.Key = "other\x00" + a.stackKey(k.other)
	case ByPair:
		out.Key = "pair\x00" + a.stackKey(k.this) + "\x00" + a.stackKey(k.other)
	case ByKind:
		out.Key = "kind\x00" + k.kind.String()
	case ByThread:
		out.Key = "thread\x00" + strconv.Itoa(int(k.log)) + ":" + strconv.FormatUint(uint64(k.thread), 10)
	case ByVar:
		if k.vname != 0 {
			out.Key = "var\x00" + a.varNames[k.vname]
		} else {
			out.Key = "var\x00" + strconv.Itoa(int(k.log)) + ":" + strconv.FormatUint(k.v, 10)
		}
	}
	return out
}

// roughly is t to the µs when that is a small part of it (for messages).
func roughly(t int64) time.Duration {
	d := time.Duration(t)
	if d >= time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d
}

func (a *Analyzer) logWarnings(s *Summary, l *logState) {
	w := func(format string, args ...any) {
		s.Warnings = append(s.Warnings, l.name+": "+fmt.Sprintf(format, args...))
	}
	st := l.stats
	// Readers describe truncation, the missing end marker and salvage in
	// their own warnings; say it here only for readers that do not.
	if len(st.Warnings) == 0 {
		if st.TruncatedBytes > 0 {
			w("truncated tail: the last %d bytes were cut off and ignored", st.TruncatedBytes)
		}
		if st.Skipped > 0 {
			w("%d damaged chunks (%d bytes) skipped", st.Skipped, st.SkippedBytes)
		}
		if strings.HasPrefix(st.Format, "stmlog") && !st.CleanEnd && st.TruncatedBytes == 0 {
			w("no end marker: recording was not stopped cleanly (StopLog not called, or the program was killed)")
		}
	}
	if st.Dropped > 0 {
		w("%d events were dropped by the recorder (buffers full)", st.Dropped)
	}
	for _, x := range st.Warnings {
		if strings.HasPrefix(x, l.name+": ") {
			s.Warnings = append(s.Warnings, x)
		} else {
			w("%s", x)
		}
	}
	switch {
	case l.events == 0 && a.opt.Thread != 0 && st.Events > 0:
		w("no events of thread %d (the log has %d)", a.opt.Thread, st.Events)
	case l.events == 0:
		w("no events")
	case a.windowed && (l.max < a.from || l.min >= a.to):
		to := "the end"
		if a.opt.To > 0 {
			to = a.opt.To.String()
		}
		w("nothing in the window (%v to %s): the log's events run from %v to %v",
			a.opt.From, to, roughly(l.min), roughly(l.max))
	}
	if l.outOfOrder > 0 {
		w("%d events out of time order within their thread (treated as simultaneous)", l.outOfOrder)
	}
	if l.openPauses > 0 {
		w("%d pauses without end (charged up to the last event)", l.openPauses)
	}
	if l.unfinished > 0 {
		w("%d transactions without commit or abort (not counted)", l.unfinished)
	}
	if l.orphanDone > 0 {
		w("%d unmatched pause starts/ends", l.orphanDone)
	}
	if l.orphanEnd > 0 {
		w("%d commits/aborts without a start", l.orphanEnd)
	}
	if l.badThread > 0 {
		w("%d events with thread 0 or an unknown kind ignored", l.badThread)
	}
}
