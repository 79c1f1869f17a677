package analyze

// Building a Schedule: each thread's runs, pauses and gaps from the
// events, charged to conflict groups (see whatif.go).

import (
	"strconv"

	"github.com/stmlog/stmlog/logformat"
)

// DefaultScheduleLimit is the number of segments (runs, pauses, gaps) a
// Schedule keeps by default (what stmlog report uses): about 30 MB, which
// keeps the report within its memory budget.
const DefaultScheduleLimit = 1 << 19

const (
	segRun   uint8 = iota // inside an attempt, running
	segGap                // outside transactions
	segPause              // paused (any reason)
)

// depSlack is how far after a pause's end the event that ended it may be
// stamped: the thread that hands the token on or commits stamps its event
// just after waking the waiter, which may run first.
const depSlack = 50_000

// gapWait is the length from which a gap between transactions is taken to
// be a wait for another thread when one of that thread's commits falls in
// it (see resolveDeps): shorter gaps are the thread's own work between
// transactions, and tying them to a commit by coincidence would bind the
// threads together.
const gapWait = 50_000

type seg struct {
	start, end int64 // recorded, relative to the log's start
	work       float64
	group      int32 // charged group (key index), or -1
	depThread  int32 // pauses: index of the thread whose event ended it, or -1
	depPoint   int32 // that thread's point (segments done) at the event
	// extra: for a pause, its end minus the time of the event that ended
	// it (>= 0); for the last run of an aborted attempt, the time the
	// attempt is taken to have been off its processor (see descheduled),
	// kept as a delay when the attempt is removed
	extra  int64
	kind   uint8
	reason logformat.WaitReason
	other  uint32 // pauses: the other thread of the pending conflict
}

// point is where an attempt ended on a thread: after segs[:n].
type point struct {
	t      int64
	n      int32
	commit bool
	inev   bool // the attempt was inevitable (it held the token)
}

type schedThread struct {
	id uint32
	// chunks hold the segments, 1 << segShift to a chunk (see addSeg, seg).
	chunks  [][]seg
	nseg    int
	ends    []point
	commits int64
	first   int64 // time of the first event (or aggregate period)
	last    int64
	seen    bool

	prev        int64
	inTx        bool
	waiting     bool
	reason      logformat.WaitReason
	pendingSet  bool
	pending     int32
	other       uint32
	afterAbort  bool
	attemptSeg  int
	attemptInev bool
	attemptRun  int64

	// Past a Prefix schedule's Limit (Schedule.full): the thread has
	// taken its first event past it, at resume, up to which its segments
	// go; it keeps no segments or attempt ends after it.
	frozen bool
	resume int64

	// for the bound, kept even when the segments are dropped
	charged     map[int32]int64 // group -> time charged
	commitRuns  sketch          // run time of committed attempts
	stolenBy    map[int32]int64 // of charged, descheduled time kept (set by prepare)
	waitPause   int64           // pauses that waited for another thread
	waitPauseBy map[int32]int64 // of these, charged to a group

	// Sums for charged and waitPauseBy not yet added to them (see
	// groupSum; Schedule.flush adds them).
	chargedAcc, waitAcc groupSum
}

type schedLog struct {
	name      string
	index     int
	meta      logformat.Meta
	src       logformat.Source
	start     int64
	started   bool
	threads   []*schedThread
	byID      map[uint32]*schedThread
	keyCache  map[cacheKey]int32
	aggregate bool
	last      *schedThread // of the last event
	// keyCache's entry found last (its entries never change)
	lastCK     cacheKey
	lastKey    int32
	lastKeySet bool
	keyDM      [64]keyDMEntry // keyCache's entries, direct-mapped
}

// Schedule collects what a what-if replay needs, from the same pass over
// the events as an Analyzer: wrap each source with Tee before giving it
// to the Analyzer.
type Schedule struct {
	opt Options
	// Limit is the number of segments kept; past it the schedule is
	// dropped and only the bound is computed. 0 means DefaultScheduleLimit.
	Limit int
	// Prefix keeps the segments collected up to the Limit, and replays
	// the log's first part, up to where every thread's segments reach,
	// instead of giving the bound only (see cutPrefix, whatif_cut.go).
	Prefix bool

	logs   []*schedLog
	keys   []string
	keyIdx map[string]int32
	nseg   int
	over   bool  // Limit reached, without Prefix: the bound only
	full   bool  // Limit reached, with Prefix: each thread keeps its segments up to its next event
	cut    bool  // past the Limit, with Prefix: the logs cut to their first part
	part   int64 // then, the length of that part
	// BoundFirst: over from the start; segs counts the segments kept
	// without it, unless segsUnknown (see NeedsSegments, tee_bound.go)
	boundFirst, segsUnknown bool
	segs                    int
}

// NewSchedule returns a Schedule for an analysis with these options.
func NewSchedule(opt Options) *Schedule {
	return &Schedule{opt: opt, keyIdx: map[string]int32{}}
}

// Tee returns a Source that reads src and adds what it reads to the
// schedule, as a new log named name.
func (s *Schedule) Tee(name string, src logformat.Source) logformat.Source {
	l := &schedLog{name: name, index: len(s.logs), src: src, byID: map[uint32]*schedThread{}, keyCache: map[cacheKey]int32{}}
	if ms, ok := src.(MetaSource); ok {
		l.meta = ms.Meta()
	}
	if len(src.Stats().Format) >= 6 && src.Stats().Format[:6] == "stmlog" {
		l.started = true // native logs: time 0 is the start of recording
	}
	s.logs = append(s.logs, l)
	t := &teeSource{Source: src, s: s, l: l}
	if bs, ok := src.(logformat.BatchSource); ok {
		return &teeBatches{t, bs}
	}
	return t
}

type teeSource struct {
	logformat.Source
	s *Schedule
	l *schedLog
}

func (t *teeSource) Next() (logformat.Event, error) {
	ev, err := t.Source.Next()
	if err == nil {
		if t.s.boundFirst {
			t.s.segsUnknown = true // counted only by Analyzer.batch
		}
		if ev.Kind == logformat.KindAggregate {
			if as, ok := t.Source.(logformat.AggregateSource); ok {
				t.s.aggregate(t.l, as.Aggregate())
			}
		} else {
			t.s.event(t.l, &ev)
		}
	}
	return ev, err
}

// teeBatches is a teeSource of a source with batches, which it passes
// through (logformat.BatchSource), so that the Analyzer reading it takes
// its batch path.
type teeBatches struct {
	*teeSource
	bs logformat.BatchSource
}

func (t *teeBatches) NextBatch() ([]logformat.Event, error) {
	evs, err := t.bs.NextBatch()
	t.feed(evs)
	return evs, err
}

// feed adds a batch read through the tee to the schedule. (An Analyzer
// reading the tee directly calls it itself, or, past the Limit, folds
// boundEvents into its own loop: see Analyzer.addEvents.)
func (t *teeBatches) feed(evs []logformat.Event) {
	if len(evs) > 0 && t.s.boundFirst {
		t.s.segsUnknown = true // counted only by Analyzer.batch
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind == logformat.KindAggregate {
			// A batch holds at most one aggregate, its last.
			if as, ok := t.Source.(logformat.AggregateSource); ok {
				t.s.aggregate(t.l, as.Aggregate())
			}
			continue
		}
		if t.s.over {
			t.s.boundEvents(t.l, evs[i:])
			break
		}
		t.s.event(t.l, ev)
	}
}

func (t *teeSource) Aggregate() logformat.Aggregate {
	if as, ok := t.Source.(logformat.AggregateSource); ok {
		return as.Aggregate()
	}
	return logformat.Aggregate{}
}

// Meta is the log's, as of when the tee was made, with its processor-usage
// record as read so far (it comes and changes as the log is read).
func (t *teeSource) Meta() logformat.Meta {
	m := t.l.meta
	if ms, ok := t.Source.(MetaSource); ok {
		m.Usage = ms.Meta().Usage
	}
	return m
}

func (s *Schedule) thread(l *schedLog, id uint32) *schedThread {
	if th := l.last; th != nil && th.id == id {
		return th // consecutive events are mostly one thread's (a native batch is)
	}
	th := l.byID[id]
	if th == nil {
		th = &schedThread{id: id, pending: -1, charged: map[int32]int64{}, waitPauseBy: map[int32]int64{}}
		l.byID[id] = th
		l.threads = append(l.threads, th)
	}
	l.last = th
	return th
}

func (s *Schedule) aggregate(l *schedLog, g logformat.Aggregate) {
	if g.Thread == 0 {
		return
	}
	if !l.started {
		l.started, l.start = true, g.Start
	}
	l.aggregate = true
	th := s.thread(l, g.Thread)
	t0, t1 := max(g.Start-l.start, 0), max(g.End-l.start, 0)
	if !th.seen {
		th.seen, th.first, th.last, th.prev = true, t0, t1, t0
	}
	th.first = min(th.first, t0)
	th.last = max(th.last, t1)
	th.commits += int64(g.Commits)
}

func (s *Schedule) limit() int {
	if s.Limit > 0 {
		return s.Limit
	}
	return DefaultScheduleLimit
}

// addSeg closes th's current segment at t.
func (s *Schedule) addSeg(l *schedLog, th *schedThread, t int64) {
	if t <= th.prev {
		return
	}
	sg := seg{start: th.prev, end: t, group: -1, depThread: -1, depPoint: -1}
	switch {
	case th.waiting:
		sg.kind, sg.reason, sg.other = segPause, th.reason, th.other
		if th.pendingSet && (!th.afterAbort || th.reason == logformat.WaitBackoff) {
			sg.group = th.pending
		}
	case th.inTx:
		sg.kind = segRun
	default:
		sg.kind = segGap
	}
	th.prev = t
	d := t - sg.start
	switch {
	case sg.kind == segRun:
		th.attemptRun += d
	case sg.kind == segPause:
		if sg.group >= 0 {
			th.chargedAcc.add(th.charged, sg.group, d)
		}
		if sg.reason != logformat.WaitBackoff {
			th.waitPause += d
			if sg.group >= 0 {
				th.waitAcc.add(th.waitPauseBy, sg.group, d)
			}
		}
	}
	if s.over || th.frozen {
		return
	}
	if !s.full && s.nseg >= s.limit() {
		if s.Prefix {
			// This segment, and each other thread's next, are the last
			// kept: they take each thread to its first event past the
			// Limit (see event).
			s.full = true
		} else {
			s.over = true
		}
	}
	if s.over {
		for _, l := range s.logs {
			for _, th := range l.threads {
				th.chunks, th.ends, th.nseg = nil, nil, 0
			}
		}
		return
	}
	s.nseg++
	th.nseg++
	// Chunks, never copied once full (one slice grown by append copied
	// ~30 MB, and its fresh pages, a quarter of report's time on a large
	// log; and the copy the replay then needed doubled whatif's memory).
	// The first grows by append, so that a thread of few segments holds
	// few.
	n := len(th.chunks)
	switch {
	case n == 0:
		th.chunks = append(th.chunks, make([]seg, 0, 8))
	case len(th.chunks[n-1]) == 1<<segShift:
		th.chunks = append(th.chunks, make([]seg, 0, 1<<segShift))
	}
	n = len(th.chunks) - 1
	th.chunks[n] = append(th.chunks[n], sg)
}

// segShift sets the length of a schedThread's chunks of segments, 1 <<
// segShift; a variable for the tests only.
var segShift = 12

// seg returns th's segment i.
func (th *schedThread) seg(i int) *seg {
	return &th.chunks[i>>segShift][i&(1<<segShift-1)]
}

func (s *Schedule) event(l *schedLog, ev *logformat.Event) {
	if ev.Thread == 0 || !ev.Kind.Valid() {
		return
	}
	if !l.started {
		l.started, l.start = true, ev.Time
	}
	t := ev.Time - l.start
	th := s.thread(l, ev.Thread)
	t = th.advance(t)
	s.addSeg(l, th, t)
	switch ev.Kind {
	case logformat.KindTxStart:
		if th.inTx || th.afterAbort {
			th.clearPending()
		}
		th.inTx = true
		th.attemptSeg = th.nseg
		th.attemptInev = false
		th.attemptRun = 0
	case logformat.KindTxCommit:
		th.commits++
		th.commitRuns.add(th.attemptRun)
		if !s.over && !th.frozen {
			th.ends = append(th.ends, point{t: t, n: int32(th.nseg), commit: true, inev: th.attemptInev})
		}
		th.inTx = false
		th.clearPending()
	case logformat.KindTxAbort:
		if th.pendingSet && contended(ev.Cause) && th.pending >= 0 {
			th.chargedAcc.add(th.charged, th.pending, th.attemptRun)
			if !s.over {
				for i := th.attemptSeg; i < th.nseg; i++ {
					if sg := th.seg(i); sg.kind == segRun {
						sg.group = th.pending
					}
				}
			}
		}
		th.attemptRun = 0
		if !s.over && !th.frozen {
			th.ends = append(th.ends, point{t: t, n: int32(th.nseg), inev: th.attemptInev})
		}
		th.abortEnded(ev.Cause)
	case logformat.KindConflict, logformat.KindWaitStart, logformat.KindWaitDone, logformat.KindBecomeInevitable:
		s.noteState(l, th, ev)
	}
	if s.full && !th.frozen {
		th.frozen, th.resume = true, t
	}
}

// noteState follows the events that change only a thread's state (the
// pending conflict, a wait, inevitability), the same in event and in
// boundEvents.
func (s *Schedule) noteState(l *schedLog, th *schedThread, ev *logformat.Event) {
	switch ev.Kind {
	case logformat.KindConflict:
		th.clearPending()
		th.pendingSet = true
		th.other = ev.OtherThread
		if s.opt.Kind != logformat.ConflictNone && ev.Conflict != s.opt.Kind {
			return
		}
		th.pending = s.keyOf(l, ev)
	case logformat.KindWaitStart:
		th.waiting = true
		th.reason = ev.Reason
	case logformat.KindWaitDone:
		th.waiting = false
	case logformat.KindBecomeInevitable:
		th.attemptInev = true
	}
}

// flush adds every thread's pending groupSums to its maps; WhatIf calls
// it before reading them.
func (s *Schedule) flush() {
	for _, l := range s.logs {
		for _, th := range l.threads {
			th.chargedAcc.flush(th.charged)
			th.waitAcc.flush(th.waitPauseBy)
		}
	}
}

// advance moves the thread's clock to t, never back (events out of time
// order keep the last time), and returns the time to use.
func (th *schedThread) advance(t int64) int64 {
	if !th.seen {
		th.seen, th.first, th.last, th.prev = true, t, t, t
	}
	t = max(t, th.last)
	th.first = min(th.first, t)
	th.last = t
	return t
}

// abortEnded closes an aborted attempt: a conflict abort keeps the pending
// conflict for the attempt that follows (its retry is what the conflict
// cost), any other abort drops it.
func (th *schedThread) abortEnded(cause logformat.AbortCause) {
	th.inTx = false
	if th.pendingSet && cause == logformat.AbortConflict {
		th.afterAbort = true
	} else {
		th.clearPending()
	}
}

func (th *schedThread) clearPending() {
	th.pendingSet, th.pending, th.afterAbort, th.other = false, -1, false, 0
}

// keyOf returns the index of the group key of a conflict event: the same
// text as Group.Key (see exportGroup), so that a schedule's groups are the
// Summary's.
func (s *Schedule) keyOf(l *schedLog, ev *logformat.Event) int32 {
	ck := cacheKey{ev.Site, ev.OtherSite, ev.Conflict, ev.Var}
	if s.opt.By == ByThread {
		ck.v = uint64(ev.Thread) // the key's only part
	}
	if l.lastKeySet && l.lastCK == ck {
		return l.lastKey // conflicts come in runs of one site pair
	}
	// A direct-mapped cache before keyCache (whose struct-keyed hash was
	// most of keyOf): the like of the Analyzer's groupCache.
	h := (uint64(ck.site)*0x9e3779b97f4a7c15 ^ uint64(ck.other)*0xc2b2ae3d27d4eb4f ^
		ck.v*0x165667b19e3779f9 ^ uint64(ck.kind)) >> 58
	e := &l.keyDM[h]
	if e.set && e.k == ck {
		l.lastCK, l.lastKey, l.lastKeySet = ck, e.i, true
		return e.i
	}
	if i, ok := l.keyCache[ck]; ok {
		*e = keyDMEntry{ck, i, true}
		l.lastCK, l.lastKey, l.lastKeySet = ck, i, true
		return i
	}
	st := func(id logformat.StackID) string {
		if id == 0 {
			return ""
		}
		return l.src.Stack(id).Key()
	}
	var k string
	switch s.opt.By {
	case ByConflict:
		k = ev.Conflict.String() + "\x00" + st(ev.Site) + "\x00" + st(ev.OtherSite)
	case BySite:
		k = "site\x00" + st(ev.Site)
	case ByOther:
		k = "other\x00" + st(ev.OtherSite)
	case ByPair:
		k = "pair\x00" + st(ev.Site) + "\x00" + st(ev.OtherSite)
	case ByKind:
		k = "kind\x00" + ev.Conflict.String()
	case ByThread:
		k = "thread\x00" + strconv.Itoa(l.index) + ":" + strconv.FormatUint(uint64(ev.Thread), 10)
	case ByVar:
		name := ""
		if ev.Var != 0 {
			name = l.src.VarName(ev.Var)
		}
		switch {
		case name != "":
			k = "var\x00" + name
		case ev.Var != 0:
			k = "var\x00" + strconv.Itoa(l.index) + ":" + strconv.FormatUint(ev.Var, 10)
		default:
			k = "var\x000:0"
		}
	}
	i, ok := s.keyIdx[k]
	if !ok {
		i = int32(len(s.keys))
		s.keys = append(s.keys, k)
		s.keyIdx[k] = i
	}
	l.keyCache[ck] = i
	*e = keyDMEntry{ck, i, true}
	l.lastCK, l.lastKey, l.lastKeySet = ck, i, true
	return i
}

// keyDMEntry is an entry of schedLog.keyDM.
type keyDMEntry struct {
	k   cacheKey
	i   int32
	set bool
}
