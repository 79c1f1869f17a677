package analyze

// This file is the analyzer's loop: reading a log, the per-thread state
// machine of attempts and pauses, and the time accounting between events.
// The rule that charges time to conflicts is in attribute.go, grouping in
// groups.go, the exported result in summary.go, warnings in warnings.go.

import (
	"errors"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

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

type logState struct {
	groups    *groupCache // see groupHash
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
	meta      logformat.Meta

	outOfOrder, orphanDone, orphanEnd, badThread int64
	openPauses, unfinished                       int64
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
	moves                      int64 // events of batch's loop at which last moved

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
	if src.Stats().Native() {
		l.started = true
	}
	err := a.addEvents(l, src)
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
	if g.RetryWaits != 0 || g.RetryPausedNs != 0 || g.RetryAbortedNs != 0 {
		a.retryWaits(th, g)
	}
}

// retryWaits charges an aggregate record's Retry waits as their events
// would be charged (abort, which sees no pending conflict: contended is
// false for a Retry; then the pause, which no conflict is pending for):
// both to the thread, the totals and the cause and reason, attributed to
// no conflict group.
func (a *Analyzer) retryWaits(th *thread, g logformat.Aggregate) {
	n, ab, pa := int64(g.RetryWaits), g.RetryAbortedNs, g.RetryPausedNs
	a.tot.aborts += n
	th.aborts += n
	a.tot.aborted += ab
	th.aborted += ab
	cs := &a.causes[logformat.AbortRetry]
	cs.Count += n
	cs.Time += time.Duration(ab)
	a.unattribAb += ab
	a.tot.paused += pa
	th.paused += pa
	rs := &a.reasons[logformat.WaitRetry]
	rs.Count += n
	rs.Time += time.Duration(pa)
	a.unattribPau += pa
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
		a.eachThreadOf(l, f)
	}
}

func (a *Analyzer) eachThreadOf(l *logState, f func(th *thread)) {
	for _, th := range l.threads {
		if th != nil {
			f(th)
		}
	}
	for _, th := range l.threadMap {
		f(th)
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
	a.step(l, th, ev, t, in)
}

// step is what an event of th at relative time t does to th's state,
// after advance; in: t is inside the window.
func (a *Analyzer) step(l *logState, th *thread, ev *logformat.Event, t int64, in bool) {
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
		a.abort(l, th, ev, in, nil)
	case logformat.KindConflict:
		a.conflict(l, th, ev, t, in)
	case logformat.KindWaitStart:
		a.waitStart(l, th, ev.Reason, in)
	case logformat.KindWaitDone:
		waitDone(l, th)
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

// waitStart and waitDone are step's for a wait's start and end (small
// enough to be inlined where batch's loops take them too).
func (a *Analyzer) waitStart(l *logState, th *thread, r logformat.WaitReason, in bool) {
	if th.waiting {
		l.orphanDone++ // nested start: treat as one pause
	}
	th.waiting = true
	th.reason = r
	th.state = stPause
	if in {
		a.reasons[r].Count++
	}
}

func waitDone(l *logState, th *thread) {
	if !th.waiting {
		l.orphanDone++
	}
	th.waiting = false
	th.state = stStop
	if th.inTx {
		th.state = stRun
	}
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
	if ms, ok := l.src.(MetaSource); ok {
		l.meta = ms.Meta() // after the last event: with its last usage record
	}
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
