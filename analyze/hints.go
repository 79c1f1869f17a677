package analyze

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// Hint is what to change for one conflict group: a stable ID (reports and
// docs/hints.md name rules by it; tools may match on it) and one sentence.
type Hint struct {
	ID   string
	Text string
}

// LineText returns the source text of a frame's line, or "" when the source
// is not at hand. Hints read no files themselves (analyze does no I/O): the
// caller that has a source root passes this in.
type LineText func(logformat.Frame) string

// Hint IDs. They are stable: a rule may get better wording, never a new ID
// for the same advice.
const (
	HintInevitableIO       = "inevitable-io"
	HintInevitablePure     = "inevitable-pure"
	HintInevitableExplicit = "inevitable-explicit"
	HintInevitableForced   = "inevitable-forced"
	HintHotVar             = "hot-var"
	HintPartition          = "partition"
	HintBatchHandoff       = "batch-handoff"
	HintLongReader         = "long-reader"
	HintRetryWaits         = "retry-waits"
)

// ioCall matches the calls on a source line that do I/O or read the clock.
var ioCall = regexp.MustCompile(`\b(time\.(Now|Since|Sleep)|fmt\.(Print|Fprint|Scan)\w*|os\.\w+|net\.\w+|http\.\w+|log\.\w+|slog\.\w+)\(`)

// Hints computes a hint for every group of s it has a rule for (the slice
// is parallel to s.Groups; the zero Hint means none), and a hint for the
// whole run (zero if none): the Retry-wait rule is about pauses that no
// conflict group is charged with.
func Hints(s *Summary, text LineText) (groups []Hint, run Hint) {
	if text == nil {
		text = func(logformat.Frame) string { return "" }
	}
	var retry int64
	for _, r := range s.PauseReasons {
		if r.Reason == logformat.WaitRetry {
			retry = int64(r.Time)
		}
	}
	lost := int64(s.Aborted + s.Paused)
	if retry > 0 && 2*retry > lost {
		run = Hint{HintRetryWaits, fmt.Sprintf("Retry waits are %d%% of the time lost: the consumers wait on every hand-off; hand over batches (a slice per Store), or use a channel where no transaction needs the value", 100*retry/lost)}
	}
	// The group rules ask only whether the run waits in Retry at all, so
	// the bar is lower than the run hint's: the backoff pauses after the
	// hand-off's own aborts grow and shrink with the scheduling (a busy
	// machine), and with them the Retry share, which for a hand-off stays
	// well above a quarter while the run hint's half is crossed either way.
	retryBound := retry > 0 && 4*retry >= lost
	// Vars several threads write with the same code (producers taking
	// turns on a put counter): under Retry waits, every group on them is
	// the hand-off.
	// Their functions too: a consumer's conflict on a slot Var the
	// producer wrote is the same hand-off.
	contended := map[string]bool{}
	contendedFn := map[string]bool{}
	for _, g := range s.Groups {
		if g.Kind == logformat.ConflictWriteWrite && g.VarName != "" && g.Site.Leaf().Func != "" &&
			g.Site.Leaf().Func == g.OtherSite.Leaf().Func && len(union(g.Threads, g.OtherThreads)) >= 2 {
			contended[g.VarName] = true
			contendedFn[g.Site.Leaf().Func] = true
		}
	}
	// Every group on a bookkeeping Var shares its verdict: the Var's
	// events and threads, all groups together.
	vars := map[string]*varUse{}
	for _, g := range s.Groups {
		if g.Kind != logformat.ConflictWriteWrite && g.Kind != logformat.ConflictWriteRead || g.VarName == "" {
			continue
		}
		u := vars[g.VarName]
		if u == nil {
			u = &varUse{}
			vars[g.VarName] = u
		}
		u.count += g.Count
		u.threads = union(u.threads, union(g.Threads, g.OtherThreads))
	}
	groups = make([]Hint, len(s.Groups))
	for i := range s.Groups {
		g := &s.Groups[i]
		rw := g.Kind == logformat.ConflictWriteWrite || g.Kind == logformat.ConflictWriteRead
		handoff := retryBound && rw && (contended[g.VarName] || contendedFn[g.Site.Leaf().Func] || contendedFn[g.OtherSite.Leaf().Func])
		groups[i] = groupHint(s, i, text, retryBound, handoff, vars[s.Groups[i].VarName])
	}
	return groups, run
}

// varUse is what all the conflict groups on one named Var add up to.
type varUse struct {
	count   int64
	threads []uint32
}

func groupHint(s *Summary, i int, text LineText, retryBound, handoff bool, use *varUse) Hint {
	g := &s.Groups[i]
	this, other := g.Site.Leaf(), g.OtherSite.Leaf()
	switch g.Kind {
	case logformat.ConflictInevitable:
		if forced(g.OtherSite, text) || forced(g.Site, text) {
			h := Hint{ID: HintInevitableForced, Text: "the runtime made a transaction inevitable after it aborted again and again (the \"?\" site), so that it would finish; this pause is the price of those aborts: fix the conflict that caused them"}
			if j := topAbortGroup(s); j >= 0 {
				h.Text += fmt.Sprintf(", group #%d (%s)", j+1, siteName(s.Groups[j].Site.Leaf()))
			}
			return h
		}
		for _, f := range []logformat.Frame{other, this} {
			line := text(f)
			if m := ioCall.FindString(line); m != "" {
				return Hint{HintInevitableIO, fmt.Sprintf("%s at %s needs the transaction inevitable and so serializes it: do it before the transaction and pass the result in, or in tx.AfterCommit", strings.TrimSuffix(m, "("), siteName(f))}
			}
		}
		for _, f := range []logformat.Frame{other, this} {
			line := text(f)
			_, rest, ok := strings.Cut(line, "Inevitable()")
			if !ok {
				continue
			}
			// What the line does after asking: on a line that is only
			// the request, the work it protects is further down, out
			// of the rule's sight.
			rest = strings.Trim(rest, " ;})(")
			if rest != "" && !strings.HasPrefix(rest, "//") {
				return Hint{HintInevitablePure, fmt.Sprintf("nothing on %s needs inevitability, which serializes the transactions that reach it: compute it before or after the transaction and drop tx.Inevitable()", siteName(f))}
			}
			return Hint{HintInevitableExplicit, fmt.Sprintf("every transaction that asks for inevitability waits for the one that holds it (asked at %s): ask as late as possible, just before the I/O it protects, or move that I/O to tx.AfterCommit and drop tx.Inevitable()", siteName(f))}
		}
	case logformat.ConflictWriteWrite, logformat.ConflictWriteRead:
		threads := len(union(g.Threads, g.OtherThreads))
		// One Var of a collection (accounts[3]) or an unnamed one is the
		// data being worked on; a named one outside a collection is
		// bookkeeping: a counter, a header, a size.
		bookkeeping := g.VarName != "" && !strings.Contains(g.VarName, "[")
		if handoff {
			v := g.VarName
			if v == "" {
				v = "the hand-off's Vars"
			}
			return Hint{HintBatchHandoff, fmt.Sprintf("several threads take turns writing %s and the run waits in Retry: hand over batches (several items per transaction), through a buffer per producer-consumer pair, or use a channel where no transaction needs the items", v)}
		}
		// At least 0.1 % of the transactions meet it, or it has most of
		// the run's conflicts: a header written only when the tree's root
		// splits is not worth a shard. The second bar holds on a busy
		// machine, where threads that rarely run at the same time meet
		// less often, so that the share of the transactions drops while
		// the Var still has the conflicts.
		if n := activeThreads(s); n >= 2 && bookkeeping && use != nil && len(use.threads) >= n &&
			(use.count*1000 >= s.Commits || 2*use.count > s.Conflicts) {
			return Hint{HintHotVar, fmt.Sprintf("every thread writes %s: shard it per worker (one Var each, summed when read) or keep it out of the transaction", g.VarName)}
		}
		sameCode := this.Func != "" && this.Func == other.Func
		if sameCode && threads >= 2 && !bookkeeping {
			where := "transactions"
			if inQueue(g.Site) {
				where = "queued transactions"
			}
			return Hint{HintPartition, fmt.Sprintf("%s on %d threads write the same Vars at %s: partition the work so that each worker's transactions write their own Vars (a queue or a key range per worker)", where, threads, siteName(other))}
		}
		// Under Retry waits a reader losing to writers is a hand-off,
		// not a long transaction.
		if g.Kind == logformat.ConflictWriteRead && g.Aborts > 0 && s.Commits > 0 && !retryBound {
			mean := s.Committed / time.Duration(s.Commits)
			if mean > 0 && g.Aborted/time.Duration(g.Aborts) >= 4*mean && this.Func != other.Func {
				return Hint{HintLongReader, fmt.Sprintf("a long transaction at %s keeps losing its reads to short writers at %s: split the data it reads into parts read in separate transactions, or have the writers keep the summary it computes", siteName(this), siteName(other))}
			}
		}
	}
	return Hint{}
}

// forced reports whether a site is the runtime's own inevitability, the one
// an attempt gets after too many aborts in a row: a site with no frames (as
// older logs record it, shown as "?"), or the line that started the
// transaction rather than one that asked for inevitability.
func forced(st *logformat.Stack, text LineText) bool {
	if st == nil || (len(st.Frames) == 0 && st.Label == "") {
		return true
	}
	line := text(st.Leaf())
	return line != "" && !strings.Contains(line, "Inevitable()") &&
		(strings.Contains(line, "Atomically(") || strings.Contains(line, ".Add("))
}

func topAbortGroup(s *Summary) int {
	for j := range s.Groups {
		if s.Groups[j].Kind != logformat.ConflictInevitable && s.Groups[j].Aborts > 0 {
			return j
		}
	}
	return -1
}

func inQueue(st *logformat.Stack) bool {
	if st == nil {
		return false
	}
	for _, f := range st.Frames {
		if strings.Contains(f.Func, "stm.(*Queue)") {
			return true
		}
	}
	return false
}

// activeThreads counts the threads that committed transactions.
func activeThreads(s *Summary) int {
	n := 0
	for _, t := range s.Threads {
		if t.Commits > 0 {
			n++
		}
	}
	return n
}

func union(a, b []uint32) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, x := range append(append([]uint32(nil), a...), b...) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func siteName(f logformat.Frame) string {
	if f.File == "" {
		return "?"
	}
	file := f.File
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	return fmt.Sprintf("%s:%d", file, f.Line)
}
