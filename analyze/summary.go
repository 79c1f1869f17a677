package analyze

// The exported result (Summary, Group, Thread, ...) and how an Analyzer
// builds it.

import (
	"cmp"
	"fmt"
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
	// Meta is what the log says of its recording (native logs of format
	// version 2; zero fields unknown), with its last processor-usage record.
	Meta logformat.Meta
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
			Span: time.Duration(l.max - l.min), Stats: l.stats, Meta: l.meta})
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
