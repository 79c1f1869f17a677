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
// Unlike the Analyzer, a Schedule holds the whole log (56 bytes per
// run, pause or gap), since a replay must see every thread's future; the
// builder stops collecting past Limit and then offers the bound only.

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// MetaSource is implemented by sources that know the recording's process
// info (logformat.Reader and its wrappers).
type MetaSource interface {
	Meta() logformat.Meta
}

// WhatIfOptions choose the groups of a what-if.
type WhatIfOptions struct {
	// Top is how many of the summary's groups (by rank) to predict for,
	// when Groups is empty; <= 0 means all.
	Top int
	// Groups are 1-based ranks in the summary; when set, only these.
	Groups []int
	// Procs, when > 0, replays every log on this many processors instead
	// of the recording's: "what if the program had had N processors to
	// itself" (on a machine shared with other processes, the processors
	// the program really got). The work of each run and gap is still
	// measured on the recording's processors, and every prediction is a
	// ratio to the unchanged replay on Procs.
	Procs int
	// Jobs is how many replays run at once, each on its own goroutine
	// (they only read the schedule); <= 0 means GOMAXPROCS. The result
	// is the same for every value.
	Jobs int
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
	// Part, when not 0, is the length of the log's first part, which is
	// all that was replayed (the log has more segments than the
	// schedule's Limit: see Schedule.Prefix). Every prediction, bound and
	// Lost is then of that part.
	Part   time.Duration
	Groups []Prediction // in the order asked
	// All is the prediction for removing every group in Groups at once.
	All Prediction
}

// LogProcs says how many processors a log was replayed on.
type LogProcs struct {
	Log      int
	Procs    float64 // replayed on
	Recorded int     // the recording's GOMAXPROCS (or, if Assumed, the threads seen)
	Assumed  bool    // not recorded: the number of threads seen
	// Available is how many processors the recording process could have
	// used, on average, by the log's processor-usage records (its CPU
	// time plus the machine's idle time; 0: not known). When it is
	// clearly below Recorded (other processes used the rest), the runs'
	// work is measured on Available, and without WhatIfOptions.Procs the
	// replay runs on it: Measured says so.
	Available float64
	Measured  bool
}

// fewerThan is how far below GOMAXPROCS the processors a recording had
// must be for the replay to use them: above it the difference is within
// what the machine's idle-time ticks (10 ms) blur over a short log.
const fewerThan = 0.95

// recordedOn returns the processors the recording ran on, for measuring
// the runs' work: the ones it had, if the log says and they were clearly
// fewer than its GOMAXPROCS.
func (p LogProcs) recordedOn() float64 {
	if p.HadFewer() {
		return p.Available
	}
	return float64(p.Recorded)
}

// HadFewer reports whether the recording had clearly fewer processors
// than its GOMAXPROCS by its processor-usage records.
func (p LogProcs) HadFewer() bool {
	return p.Available > 0 && p.Available < fewerThan*float64(p.Recorded)
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
	s.flush()
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
	if w.Replayed && (s.full || s.cut) {
		part := s.cutPrefix()
		if part <= 0 {
			w.Replayed, w.Reason = false, fmt.Sprintf("the log has more than %d runs, pauses and gaps, the most a replay keeps in memory, and they do not reach the start of every thread (stmlog whatif --limit N keeps more, at about 110 bytes each)", s.limit())
		} else {
			w.Part = time.Duration(part)
		}
	}
	if w.Replayed && (s.opt.From != 0 || s.opt.To > 0) {
		part := s.cutWindow()
		switch {
		case part <= 0 && s.cut:
			w.Replayed, w.Reason = false, fmt.Sprintf("the log has more than %d runs, pauses and gaps, the most a replay keeps in memory, and they end before the window (stmlog whatif --limit N keeps more, at about 110 bytes each)", s.limit())
		case part <= 0:
			w.Replayed, w.Reason = false, "no thread ran in the window"
		case s.cut:
			w.Part = time.Duration(part) // the window's part that the limit kept
		}
	}
	if !s.over {
		s.descheduled()
	}
	var recorded []LogProcs
	for _, l := range s.logs {
		if ms, ok := l.src.(MetaSource); ok {
			l.meta.Usage = ms.Meta().Usage // the last record, read by now
		}
		// to a thousandth: the idle-time ticks blur more than that
		avail := math.Round(l.meta.Usage.Available()*1000) / 1000
		p := LogProcs{Log: l.index, Recorded: l.meta.GOMAXPROCS, Available: avail}
		if p.Recorded <= 0 {
			p.Recorded, p.Assumed = max(len(l.threads), 1), true
		}
		p.Procs = p.recordedOn()
		p.Measured = p.Procs != float64(p.Recorded)
		recorded = append(recorded, p)
		if opt.Procs > 0 {
			p.Procs, p.Measured = float64(opt.Procs), false
		}
		w.Procs = append(w.Procs, p)
	}
	var base *replayResult
	if w.Replayed {
		s.prepare(recorded)
		base = s.replay(nil, w.Procs)
		w.ReplayWall = time.Duration(base.wall)
	}
	type job struct {
		set  []int32
		rank int
		key  string
	}
	var jobs []job
	var all []int32
	for _, r := range ranks {
		g := &sum.Groups[r-1]
		set := s.groupSet(g.Key)
		all = append(all, set...)
		jobs = append(jobs, job{set, r, g.Key})
	}
	jobs = append(jobs, job{all, 0, ""})
	preds := make([]Prediction, len(jobs))
	n := opt.Jobs
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, len(jobs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
				j := jobs[i]
				preds[i] = s.predict(j.set, base, w.Procs, j.rank, j.key)
			}
		})
	}
	wg.Wait()
	w.All = preds[len(ranks)]
	if len(ranks) > 0 {
		w.Groups = preds[:len(ranks)]
	}
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
	if (s.over || s.cut) && !s.Prefix {
		return false, fmt.Sprintf("the log has more than %d runs, pauses and gaps, the most this replay keeps in memory (stmlog whatif keeps up to its --limit, 16 Mi by default, and replays the first part of a longer log)", s.limit())
	}
	if s.opt.Thread != 0 {
		return false, "a replay needs every thread (no --thread)"
	}
	return true, ""
}
