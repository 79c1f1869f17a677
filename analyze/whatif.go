package analyze

// What-if replay: the predicted gain of removing conflict groups.
//
// A Schedule is each thread's time line rebuilt from a log: runs inside
// attempts, pauses, and gaps between transactions, each charged to the
// conflict group the Analyzer charges it to (the same rules: see the
// package doc, "Attribution"). A pause that waited for another thread is
// tied to the event that ended it there: the release of the inevitable
// token (the end of an inevitable attempt), the commit that unlocked a Var,
// the commit that woke a Retry. Replay plays the schedule again, on the
// recorded number of processors, with the chosen groups' aborted attempts
// and pauses taken out: a thread that paused for them runs on at once, and
// a pause that waited for another thread ends when that thread gets there
// in the replay. docs/whatif.md describes the model and its limits.
//
// Unlike the Analyzer, a Schedule holds the whole log (about 50 bytes per
// run, pause or gap), since a replay must see every thread's future; the
// builder stops collecting past Limit and then offers the bound only.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// MetaSource is implemented by sources that know the recording's process
// info (logformat.Reader and its wrappers).
type MetaSource interface {
	Meta() logformat.Meta
}

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
	id      uint32
	segs    []seg
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

	// for the bound, kept even when the segments are dropped
	charged     map[int32]int64 // group -> time charged
	commitRuns  sketch          // run time of committed attempts
	stolenBy    map[int32]int64 // of charged, descheduled time kept (set by prepare)
	waitPause   int64           // pauses that waited for another thread
	waitPauseBy map[int32]int64 // of these, charged to a group
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
}

// Schedule collects what a what-if replay needs, from the same pass over
// the events as an Analyzer: wrap each source with Tee before giving it
// to the Analyzer.
type Schedule struct {
	opt Options
	// Limit is the number of segments kept; past it the schedule is
	// dropped and only the bound is computed. 0 means DefaultScheduleLimit.
	Limit int

	logs   []*schedLog
	keys   []string
	keyIdx map[string]int32
	nseg   int
	over   bool // Limit reached
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
	return &teeSource{Source: src, s: s, l: l}
}

type teeSource struct {
	logformat.Source
	s *Schedule
	l *schedLog
}

func (t *teeSource) Next() (logformat.Event, error) {
	ev, err := t.Source.Next()
	if err == nil {
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

func (t *teeSource) Aggregate() logformat.Aggregate {
	if as, ok := t.Source.(logformat.AggregateSource); ok {
		return as.Aggregate()
	}
	return logformat.Aggregate{}
}

func (t *teeSource) Meta() logformat.Meta { return t.l.meta }

func (s *Schedule) thread(l *schedLog, id uint32) *schedThread {
	th := l.byID[id]
	if th == nil {
		th = &schedThread{id: id, pending: -1, charged: map[int32]int64{}, waitPauseBy: map[int32]int64{}}
		l.byID[id] = th
		l.threads = append(l.threads, th)
	}
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
			th.charged[sg.group] += d
		}
		if sg.reason != logformat.WaitBackoff {
			th.waitPause += d
			if sg.group >= 0 {
				th.waitPauseBy[sg.group] += d
			}
		}
	}
	if s.over {
		return
	}
	if s.nseg >= s.limit() {
		s.over = true
		for _, l := range s.logs {
			for _, th := range l.threads {
				th.segs, th.ends = nil, nil
			}
		}
		return
	}
	s.nseg++
	th.segs = append(th.segs, sg)
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
	if !th.seen {
		th.seen, th.first, th.last, th.prev = true, t, t, t
	}
	if t < th.last {
		t = th.last
	}
	th.first = min(th.first, t)
	th.last = t
	s.addSeg(l, th, t)
	switch ev.Kind {
	case logformat.KindTxStart:
		if th.inTx || th.afterAbort {
			th.clearPending()
		}
		th.inTx = true
		th.attemptSeg = len(th.segs)
		th.attemptInev = false
		th.attemptRun = 0
	case logformat.KindTxCommit:
		th.commits++
		th.commitRuns.add(th.attemptRun)
		if !s.over {
			th.ends = append(th.ends, point{t: t, n: int32(len(th.segs)), commit: true, inev: th.attemptInev})
		}
		th.inTx = false
		th.clearPending()
	case logformat.KindTxAbort:
		if th.pendingSet && contended(ev.Cause) && th.pending >= 0 {
			th.charged[th.pending] += th.attemptRun
			if !s.over {
				for i := th.attemptSeg; i < len(th.segs); i++ {
					if sg := &th.segs[i]; sg.kind == segRun {
						sg.group = th.pending
					}
				}
			}
		}
		th.attemptRun = 0
		if !s.over {
			th.ends = append(th.ends, point{t: t, n: int32(len(th.segs)), inev: th.attemptInev})
		}
		th.inTx = false
		if th.pendingSet && ev.Cause == logformat.AbortConflict {
			th.afterAbort = true
		} else {
			th.clearPending()
		}
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
	if i, ok := l.keyCache[ck]; ok {
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
	return i
}

// WhatIfOptions choose the groups of a what-if.
type WhatIfOptions struct {
	// Top is how many of the summary's groups (by rank) to predict for,
	// when Groups is empty; <= 0 means all.
	Top int
	// Groups are 1-based ranks in the summary; when set, only these.
	Groups []int
}

// WhatIf is the predicted effect of removing conflict groups.
type WhatIf struct {
	// Replayed says the schedule was replayed (a full-level log within
	// the schedule limit); otherwise only the bounds are set, and Reason
	// says why.
	Replayed bool
	Reason   string
	// Procs are the processors each log was replayed on, and whether the
	// number is an assumption (the log does not record GOMAXPROCS).
	Procs []LogProcs
	// Wall is the recorded wall time; ReplayWall the replay's, unchanged.
	Wall, ReplayWall time.Duration
	Groups           []Prediction // in the order asked
	// All is the prediction for removing every group in Groups at once.
	All Prediction
}

// LogProcs says how many processors a log was replayed on.
type LogProcs struct {
	Log     int
	Procs   int
	Assumed bool // not recorded: the number of threads seen
}

// Prediction is the effect of removing one set of groups.
type Prediction struct {
	Rank int // 1-based rank in the summary (0 for All)
	Key  string
	Lost time.Duration // time charged to the groups removed
	// Speedup is the predicted throughput ratio (commits per second,
	// after / before) by replay; 0 when not replayed. Wall is the
	// replay's wall time without the groups.
	Speedup float64
	Wall    time.Duration
	// BoundSpeedup is an upper bound of Speedup: what no replay of the
	// model can exceed (see docs/whatif.md).
	BoundSpeedup float64
}

// ErrNoGroup is returned for a group rank the summary does not have.
var ErrNoGroup = errors.New("no such group")

// WhatIf predicts, for each chosen group of sum (which must come from an
// Analyzer fed by this schedule's Tee sources) and for all of them at
// once, the effect of its conflicts not happening.
func (s *Schedule) WhatIf(sum *Summary, opt WhatIfOptions) (*WhatIf, error) {
	var ranks []int
	if len(opt.Groups) > 0 {
		for _, r := range opt.Groups {
			if r < 1 || r > len(sum.Groups) {
				return nil, fmt.Errorf("group %d: %w (the report has %d)", r, ErrNoGroup, len(sum.Groups))
			}
			if !slices.Contains(ranks, r) {
				ranks = append(ranks, r)
			}
		}
	} else {
		n := len(sum.Groups)
		if opt.Top > 0 {
			n = min(n, opt.Top)
		}
		for r := 1; r <= n; r++ {
			ranks = append(ranks, r)
		}
	}
	w := &WhatIf{Wall: sum.Wall}
	w.Replayed, w.Reason = s.replayable()
	if !s.over {
		s.descheduled()
	}
	for _, l := range s.logs {
		p := LogProcs{Log: l.index, Procs: l.meta.GOMAXPROCS}
		if p.Procs <= 0 {
			p.Procs, p.Assumed = max(len(l.threads), 1), true
		}
		w.Procs = append(w.Procs, p)
	}
	var base *replayResult
	if w.Replayed {
		s.prepare(w.Procs)
		base = s.replay(nil, w.Procs)
		w.ReplayWall = time.Duration(base.wall)
	}
	var all []int32
	for _, r := range ranks {
		g := &sum.Groups[r-1]
		set := s.groupSet(g.Key)
		all = append(all, set...)
		w.Groups = append(w.Groups, s.predict(set, base, w.Procs, r, g.Key))
	}
	w.All = s.predict(all, base, w.Procs, 0, "")
	return w, nil
}

func (s *Schedule) groupSet(key string) []int32 {
	if i, ok := s.keyIdx[key]; ok {
		return []int32{i}
	}
	return nil
}

func (s *Schedule) replayable() (bool, string) {
	for _, l := range s.logs {
		if l.meta.Level == logformat.LevelProfile || l.aggregate {
			return false, l.name + " is a profile-level log (conflict-free transactions only counted): the replay needs the full level (STMLOG_EVENTS=all)"
		}
	}
	if s.over {
		return false, fmt.Sprintf("the log has more than %d runs, pauses and gaps, the most a replay keeps in memory (use --from/--to on a shorter log)", s.limit())
	}
	if s.opt.Thread != 0 || s.opt.From != 0 || s.opt.To > 0 {
		return false, "a replay needs every thread over the whole log (no --thread, --from, --to)"
	}
	return true, ""
}

func (s *Schedule) predict(set []int32, base *replayResult, procs []LogProcs, rank int, key string) Prediction {
	p := Prediction{Rank: rank, Key: key}
	removed := func(g int32) bool { return g >= 0 && slices.Contains(set, g) }
	// The bound: a thread gains at most the time charged to the groups
	// on it plus every pause of it that waited for another thread (such a
	// pause may shrink to nothing) plus what processor sharing took from
	// it; and no thread gains more than the time removed from its log plus
	// the processor sharing of the log (a longest-path argument: see
	// docs/whatif.md). With a replay, pauses that waited for another
	// thread count at their length in the unchanged replay, which may end
	// some a little after the recording did.
	var rate0, rateB float64
	for _, l := range s.logs {
		var lostLog, removedLog, inflLog int64
		lost := make([]int64, len(l.threads))  // charged to the groups
		fixed := make([]int64, len(l.threads)) // of that, not waiting for a thread
		waits := make([]int64, len(l.threads)) // pauses waiting for a thread
		for i, th := range l.threads {
			for g, d := range th.charged {
				if removed(g) {
					lost[i] += d
					fixed[i] += d - th.waitPauseBy[g] - th.stolenBy[g]
				}
			}
			lostLog += lost[i]
			w := threadWaits{all: th.waitPause, by: th.waitPauseBy}
			if base != nil {
				w = base.waits[l.index][i]
				inflLog += base.infl[l.index][i]
			}
			waits[i] = w.all
			removedLog += fixed[i]
			for g, d := range w.by {
				if removed(g) {
					removedLog += d
				}
			}
		}
		p.Lost += time.Duration(lostLog)
		for i, th := range l.threads {
			span := th.last - th.first
			var infl int64
			if base != nil {
				span = base.end[l.index][i] - th.first
				infl = base.infl[l.index][i]
			}
			if span <= 0 || th.commits == 0 {
				continue
			}
			gain := min(removedLog+inflLog, fixed[i]+waits[i]+infl)
			b := max(span-gain, 1)
			c := float64(th.commits)
			rate0 += c / float64(span)
			rateB += c / float64(b)
		}
	}
	p.BoundSpeedup = 1
	if rate0 > 0 {
		p.BoundSpeedup = rateB / rate0
	}
	if base == nil {
		return p
	}
	r := base
	if len(set) > 0 {
		r = s.replay(removed, procs)
	}
	p.Wall = time.Duration(r.wall)
	var rate1 float64
	for _, l := range s.logs {
		for i, th := range l.threads {
			span0 := base.end[l.index][i] - th.first
			span1 := r.end[l.index][i] - th.first
			if span0 <= 0 || th.commits == 0 {
				continue
			}
			rate1 += float64(th.commits) / float64(max(span1, 1))
		}
	}
	p.Speedup = 1
	if rate0 > 0 {
		p.Speedup = rate1 / rate0
	}
	return p
}

// prepare resolves what each pause waited for and the processor work of
// each run and gap, once.
func (s *Schedule) prepare(procs []LogProcs) {
	for _, l := range s.logs {
		s.resolveDeps(l)
		s.recordedWork(l, float64(procs[l.index].Procs))
	}
}

// minCommitsForCap is how many committed attempts a thread needs for its
// 90th percentile to cap its aborted attempts (see descheduled).
const minCommitsForCap = 5

// descheduled marks, in each aborted attempt that is charged to a group
// and ran longer than the 90th percentile of its thread's committed
// attempts, the excess as time off the processor. On a machine with more
// runnable threads than processors (other processes included), an attempt
// that loses its processor mid-way is the one most likely to be aborted,
// so long aborted attempts are mostly descheduled time, which the thread
// would have spent off the processor anyway: removing the conflict gives
// back only the attempt's work.
func (s *Schedule) descheduled() {
	for _, l := range s.logs {
		for _, th := range l.threads {
			th.stolenBy = nil
			if th.commitRuns.n < minCommitsForCap {
				continue
			}
			cap := th.commitRuns.quantile(0.9)
			start := 0
			for _, e := range th.ends {
				n := int(e.n)
				var run int64
				last, g := -1, int32(-1)
				for i := start; i < n; i++ {
					if sg := &th.segs[i]; sg.kind == segRun && sg.group >= 0 {
						run += sg.end - sg.start
						last, g = i, sg.group
					}
				}
				start = n
				if e.commit || last < 0 || run <= cap {
					continue
				}
				th.segs[last].extra = run - cap
				if th.stolenBy == nil {
					th.stolenBy = map[int32]int64{}
				}
				th.stolenBy[g] += run - cap
			}
		}
	}
}

func (s *Schedule) resolveDeps(l *schedLog) {
	for ti, th := range l.threads {
		for si := range th.segs {
			sg := &th.segs[si]
			gap := sg.kind == segGap && sg.end-sg.start > gapWait
			if !gap && (sg.kind != segPause || sg.reason == logformat.WaitBackoff) {
				continue
			}
			bestT, bestN := int64(math.MinInt64), int32(-1)
			bestTh := -1
			afterT := int64(math.MaxInt64)
			afterTh, afterN := -1, int32(-1)
			consider := func(oi int, want func(p point) bool) {
				o := l.threads[oi]
				// the last end <= sg.end
				j, _ := slices.BinarySearchFunc(o.ends, sg.end+1, func(p point, t int64) int {
					if p.t < t {
						return -1
					}
					return 1
				})
				for k := j - 1; k >= 0 && o.ends[k].t >= sg.start; k-- {
					if want(o.ends[k]) {
						if o.ends[k].t > bestT {
							bestT, bestN, bestTh = o.ends[k].t, o.ends[k].n, oi
						}
						break
					}
				}
				for k := j; k < len(o.ends) && o.ends[k].t <= sg.end+depSlack; k++ {
					if want(o.ends[k]) {
						if o.ends[k].t < afterT {
							afterT, afterN, afterTh = o.ends[k].t, o.ends[k].n, oi
						}
						break
					}
				}
			}
			var want func(p point) bool
			var only int = -1
			switch {
			case gap:
				want = func(p point) bool { return p.commit }
			case sg.reason == logformat.WaitInevitable:
				want = func(p point) bool { return p.inev }
			case sg.reason == logformat.WaitRetry:
				want = func(p point) bool { return p.commit }
			default: // commit-lock, PyPy reasons: the other thread's next end
				want = func(point) bool { return true }
				if o := l.byID[sg.other]; o != nil && sg.other != 0 {
					only = slices.Index(l.threads, o)
				}
			}
			for oi := range l.threads {
				if oi == ti || (only >= 0 && oi != only) {
					continue
				}
				consider(oi, want)
			}
			if gap {
				// A long gap that another thread's commit ended: work handed
				// over outside transactions (a queue, a channel, a reply).
				if bestTh >= 0 {
					sg.depThread, sg.depPoint, sg.extra = int32(bestTh), bestN, sg.end-bestT
				}
				continue
			}
			if bestTh < 0 && sg.reason == logformat.WaitInevitable && sg.other != 0 {
				// token handed over by a transaction not seen becoming inevitable
				if o := l.byID[sg.other]; o != nil && o != th {
					consider(slices.Index(l.threads, o), func(point) bool { return true })
				}
			}
			switch {
			case bestTh >= 0:
				sg.depThread, sg.depPoint, sg.extra = int32(bestTh), bestN, sg.end-bestT
			case afterTh >= 0:
				sg.depThread, sg.depPoint, sg.extra = int32(afterTh), afterN, 0
			}
		}
	}
}

// recordedWork sets each run's and gap's processor work: its length at
// the rate the recording gave it, min(1, P/k) with k threads running or
// between transactions, so that the unchanged replay takes as long as the
// recording did.
func (s *Schedule) recordedWork(l *schedLog, procs float64) {
	type edge struct {
		t     int64
		delta int
	}
	var edges []edge
	for _, th := range l.threads {
		for _, sg := range th.segs {
			if cpu(&sg) {
				edges = append(edges, edge{sg.start, +1}, edge{sg.end, -1})
			}
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.t != b.t {
			if a.t < b.t {
				return -1
			}
			return 1
		}
		return a.delta - b.delta // ends first
	})
	// v(t): cumulative work a running thread gets by time t.
	times := make([]int64, 0, len(edges))
	vs := make([]float64, 0, len(edges))
	k := 0
	var v float64
	prev := int64(0)
	for i, e := range edges {
		if i > 0 && k > 0 {
			v += float64(e.t-prev) * min(1, procs/float64(k))
		}
		prev = e.t
		k += e.delta
		if n := len(times); n > 0 && times[n-1] == e.t {
			vs[n-1] = v
		} else {
			times = append(times, e.t)
			vs = append(vs, v)
		}
	}
	at := func(t int64) float64 {
		i, _ := slices.BinarySearch(times, t)
		return vs[i]
	}
	for _, th := range l.threads {
		for i := range th.segs {
			sg := &th.segs[i]
			if cpu(sg) {
				sg.work = at(sg.end) - at(sg.start)
			}
		}
	}
}

// cpu reports whether a segment needs a processor: runs, and gaps that
// are not waits for another thread.
func cpu(sg *seg) bool { return sg.kind == segRun || (sg.kind == segGap && sg.depThread < 0) }

type replayResult struct {
	wall int64
	end  [][]int64 // per log, per thread: end time
	infl [][]int64 // per log, per thread: recorded length - work of its runs and gaps
	// per log, per thread: the time its pauses that waited for another
	// thread took in this replay, in all and by group
	waits [][]threadWaits
}

type threadWaits struct {
	all int64
	by  map[int32]int64
}

func (s *Schedule) replay(removed func(int32) bool, procs []LogProcs) *replayResult {
	r := &replayResult{}
	var lo, hi int64 = math.MaxInt64, math.MinInt64
	for _, l := range s.logs {
		end, infl, waits := replayLog(l, removed, float64(procs[l.index].Procs))
		r.end = append(r.end, end)
		r.infl = append(r.infl, infl)
		r.waits = append(r.waits, waits)
		for i, th := range l.threads {
			if !th.seen {
				continue
			}
			lo = min(lo, th.first)
			hi = max(hi, end[i])
		}
	}
	if hi > lo {
		r.wall = hi - lo
	}
	return r
}

type simThread struct {
	cur     int // next segment
	reached []float64
	rem     float64 // running: work left
	running bool
	done    bool
	end     float64
	// waiting on another thread's point
	waitOn    int
	waitPoint int32
	waitStart float64
	segStart  float64
}

// replayLog plays one log's threads on procs processors (processor
// sharing: k running threads each progress at min(1, procs/k)).
func replayLog(l *schedLog, removed func(int32) bool, procs float64) (end, infl []int64, waits []threadWaits) {
	n := len(l.threads)
	st := make([]simThread, n)
	end = make([]int64, n)
	infl = make([]int64, n)
	waits = make([]threadWaits, n)
	type timed struct {
		t  float64
		th int
	}
	var queue []timed // small: at most one entry per thread
	waiters := make([][]int, n)
	const eps = 1e-6
	now := 0.0

	// pass ends st[i]'s current segment now: the thread reaches its next
	// point, and the pauses waiting for that point get their end.
	pass := func(i int) {
		x := &st[i]
		if sg := &l.threads[i].segs[x.cur]; (sg.kind == segPause && sg.reason != logformat.WaitBackoff) || (sg.kind == segGap && sg.depThread >= 0) {
			d := int64(math.Round(now - x.segStart))
			w := &waits[i]
			w.all += d
			if sg.group >= 0 {
				if w.by == nil {
					w.by = map[int32]int64{}
				}
				w.by[sg.group] += d
			}
		}
		x.cur++
		x.reached[x.cur] = now
		if ws := waiters[i]; len(ws) > 0 {
			keep := ws[:0]
			for _, w := range ws {
				if int(st[w].waitPoint) <= x.cur {
					sg := &l.threads[w].segs[st[w].cur]
					queue = append(queue, timed{now + float64(sg.extra), w})
				} else {
					keep = append(keep, w)
				}
			}
			waiters[i] = keep
		}
	}
	// enter starts segment st[i].cur, passing over removed ones.
	enter := func(i int) {
		th, x := l.threads[i], &st[i]
		for x.cur < len(th.segs) {
			sg := &th.segs[x.cur]
			if removed == nil || sg.group < 0 || sg.kind == segGap || !removed(sg.group) {
				break
			}
			if sg.kind == segRun && sg.extra > 0 { // off the processor anyway
				x.segStart = now
				queue = append(queue, timed{now + float64(sg.extra), i})
				return
			}
			pass(i)
		}
		if x.cur == len(th.segs) {
			x.done, x.end = true, now
			for _, w := range waiters[i] { // waiting for a point never reached
				queue = append(queue, timed{now, w})
			}
			waiters[i] = nil
			return
		}
		sg := &th.segs[x.cur]
		x.segStart = now
		switch {
		case cpu(sg):
			x.running, x.rem = true, sg.work
			infl[i] += (sg.end - sg.start) - int64(sg.work)
		case sg.depThread >= 0:
			o := &st[sg.depThread]
			if o.cur >= int(sg.depPoint) {
				queue = append(queue, timed{max(now, o.reached[sg.depPoint]+float64(sg.extra)), i})
			} else if o.done {
				queue = append(queue, timed{now, i})
			} else {
				x.waitOn, x.waitPoint, x.waitStart = int(sg.depThread), sg.depPoint, now
				waiters[sg.depThread] = append(waiters[sg.depThread], i)
			}
		default:
			queue = append(queue, timed{now + float64(sg.end-sg.start), i})
		}
	}
	finish := func(i int) {
		st[i].running = false
		pass(i)
		enter(i)
	}
	for i, th := range l.threads {
		st[i].reached = make([]float64, len(th.segs)+1)
		st[i].waitOn = -1
		if !th.seen {
			st[i].done = true
			continue
		}
		queue = append(queue, timed{float64(th.first), -1 - i})
	}
	for {
		// next event
		k := 0
		minRem := math.Inf(1)
		for i := range st {
			if st[i].running {
				k++
				minRem = min(minRem, st[i].rem)
			}
		}
		rate := 1.0
		if float64(k) > procs {
			rate = procs / float64(k)
		}
		next := math.Inf(1)
		if k > 0 {
			next = now + minRem/rate
		}
		qi := -1
		for j, q := range queue {
			if q.t < next || (qi < 0 && q.t <= next) {
				next, qi = q.t, j
			}
		}
		if math.IsInf(next, 1) {
			// Everyone left is waiting: a cycle the log's clock cannot
			// order. Let the earliest waiter go with its recorded pause.
			best := -1
			for i := range st {
				if !st[i].done && !st[i].running && st[i].waitOn >= 0 && slices.Contains(waiters[st[i].waitOn], i) {
					if best < 0 || l.threads[i].segs[st[i].cur].end < l.threads[best].segs[st[best].cur].end {
						best = i
					}
				}
			}
			if best < 0 {
				break
			}
			o := st[best].waitOn
			waiters[o] = slices.DeleteFunc(waiters[o], func(w int) bool { return w == best })
			sg := &l.threads[best].segs[st[best].cur]
			queue = append(queue, timed{max(now, st[best].waitStart+float64(sg.end-sg.start)), best})
			continue
		}
		if k > 0 {
			d := (next - now) * rate
			for i := range st {
				if st[i].running {
					st[i].rem -= d
				}
			}
		}
		now = next
		if qi >= 0 {
			q := queue[qi]
			queue = slices.Delete(queue, qi, qi+1)
			if q.th < 0 {
				enter(-1 - q.th)
			} else {
				st[q.th].waitOn = -1
				finish(q.th)
			}
			continue
		}
		for i := range st {
			if st[i].running && st[i].rem <= eps {
				finish(i)
			}
		}
	}
	for i := range st {
		end[i] = int64(math.Round(st[i].end))
		if !st[i].done {
			end[i] = l.threads[i].last
		}
	}
	return end, infl, waits
}
