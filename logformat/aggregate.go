package logformat

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Level says how much of a program's transactions a log holds as events.
type Level uint8

const (
	// LevelUnknown: the log does not say (version-1 logs, or no
	// process-info chunk).
	LevelUnknown Level = iota
	// LevelFull: every attempt of every transaction is an event.
	LevelFull
	// LevelProfile: every transaction that met contention (a conflict, an
	// abort of any cause, a pause, inevitability) is logged in full; the
	// others are counted and timed in aggregate records (Aggregate).
	LevelProfile

	numLevels
)

var levelNames = [...]string{LevelUnknown: "unknown", LevelFull: "full", LevelProfile: "profile"}

func (l Level) String() string {
	if l < numLevels {
		return levelNames[l]
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// Meta describes a log and the process that recorded it: the file header's
// version and the process-info chunk (format version 2). Zero fields are
// unknown.
type Meta struct {
	Version    int   // format version of the file (set by readers)
	Level      Level // what the log holds as events
	GOMAXPROCS int   // runtime.GOMAXPROCS of the recording process when recording started
	NumCPU     int   // runtime.NumCPU of the recording process
	// Usage is the last processor-usage record read (see Reader.Meta).
	Usage Usage
}

// Aggregate is one thread's transactions that were not logged as events,
// over the period from Start to End (nanoseconds, the clock of Event.Time).
// Each is a whole Atomically call of one attempt that committed without
// meeting contention. Commits counts them exactly. Their time is measured
// for some: Timed of them exactly (runtime/stm times every call of a
// thread whose calls are long), and Sampled of the others as a random
// sample (SampledNs, and SampledSq the sum of the squared
// durations in ns², for the sample's variance). The rest are untimed.
//
// Estimated counts the attempts of the thread, in this period, that are in
// the log as events, or are RetryWaits' attempts, but whose start time is
// an estimate (an attempt met contention, or retried, that was not timed
// from its start: see the package doc).
//
// RetryWaits counts the Retry waits of such calls that were not logged as
// events either (a call's attempts that ended in a Retry before it met
// any other contention): each is an abort of cause AbortRetry and the
// pause of reason WaitRetry that followed it, which a full-level log holds
// as events. RetryPausedNs is their pauses' total, exact, and
// RetryAbortedNs the total run time of the attempts that retried (exact,
// but for attempts counted in Estimated). A call that waited so and then
// committed without meeting anything else is in Commits.
type Aggregate struct {
	Thread     uint32
	Start, End int64
	Commits    uint64
	Timed      uint64
	TimedNs    int64
	Sampled    uint64
	SampledNs  int64
	SampledSq  float64
	Estimated  uint64

	RetryWaits     uint64
	RetryPausedNs  int64
	RetryAbortedNs int64
}

// Add returns the field-wise sum of a and b (Start the earlier, End the
// later, Thread a's): pooled records estimate better than single ones.
func (a Aggregate) Add(b Aggregate) Aggregate {
	if a == (Aggregate{}) {
		return b
	}
	a.Start = min(a.Start, b.Start)
	a.End = max(a.End, b.End)
	a.Commits += b.Commits
	a.Timed += b.Timed
	a.TimedNs += b.TimedNs
	a.Sampled += b.Sampled
	a.SampledNs += b.SampledNs
	a.SampledSq += b.SampledSq
	a.Estimated += b.Estimated
	a.RetryWaits += b.RetryWaits
	a.RetryPausedNs += b.RetryPausedNs
	a.RetryAbortedNs += b.RetryAbortedNs
	return a
}

// Untimed is the number of commits whose duration was not measured.
func (a *Aggregate) Untimed() uint64 { return a.Commits - a.Timed - a.Sampled }

// CommittedNs estimates the total time of the commits of a: the measured
// durations plus the untimed commits times the sample's mean. The
// estimate's standard error is stderr (0 when every commit was timed; the
// error of a sum of independent estimates is the square root of the sum
// of their squared errors). With no sample but untimed commits, mean
// stands in for the sample mean (pass a pooled mean, e.g. of all threads;
// NaN or negative: none) and stderr is +Inf.
func (a *Aggregate) CommittedNs(mean float64) (est int64, stderr float64) {
	u := a.Untimed()
	est = a.TimedNs + a.SampledNs
	if u == 0 {
		return est, 0
	}
	if a.Sampled == 0 {
		if mean > 0 {
			est += int64(float64(u) * mean)
		}
		return est, math.Inf(1)
	}
	n := float64(a.Sampled)
	m := float64(a.SampledNs) / n
	est += int64(float64(u) * m)
	if a.Sampled < 2 {
		return est, float64(u) * m // one sample: as uncertain as the mean itself
	}
	v := (a.SampledSq - n*m*m) / (n - 1)
	if v < 0 {
		v = 0
	}
	return est, float64(u) * math.Sqrt(v/n)
}

// Chunk payloads of version 2 (see the package doc).

func appendInfo(b []byte, m Meta) []byte {
	b = appendUvarint(b, uint64(m.Level))
	b = appendUvarint(b, uint64(max(m.GOMAXPROCS, 0)))
	return appendUvarint(b, uint64(max(m.NumCPU, 0)))
}

func readInfo(p []byte, m *Meta) (int, string) {
	lv, i := uvarint(p, 0)
	procs, i := uvarint(p, i)
	ncpu, i := uvarint(p, i)
	switch {
	case i < 0:
		return 0, "bad process-info chunk"
	case lv >= uint64(numLevels):
		return 0, fmt.Sprintf("process info: unknown recording level %d", lv)
	case procs > math.MaxInt32 || ncpu > math.MaxInt32:
		return 0, fmt.Sprintf("process info: bad processor counts %d, %d", procs, ncpu)
	}
	m.Level, m.GOMAXPROCS, m.NumCPU = Level(lv), int(procs), int(ncpu)
	return 0, ""
}

func appendAggregate(b []byte, a *Aggregate) []byte {
	b = appendUvarint(b, uint64(a.Thread))
	b = binary.AppendVarint(b, a.Start)
	b = appendUvarint(b, uint64(a.End)-uint64(a.Start))
	b = appendUvarint(b, a.Commits)
	b = appendUvarint(b, a.Timed)
	b = appendUvarint(b, uint64(a.TimedNs))
	b = appendUvarint(b, a.Sampled)
	b = appendUvarint(b, uint64(a.SampledNs))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(a.SampledSq))
	return appendUvarint(b, a.Estimated)
}

// hasWaits reports whether a needs the aggregates chunk with Retry waits
// (chunkAggregatesWaits); the others go in the one old readers know.
func (a *Aggregate) hasWaits() bool {
	return a.RetryWaits != 0 || a.RetryPausedNs != 0 || a.RetryAbortedNs != 0
}

// appendWaits appends the fields a record of chunkAggregatesWaits has
// after appendAggregate's.
func appendWaits(b []byte, a *Aggregate) []byte {
	b = appendUvarint(b, a.RetryWaits)
	b = appendUvarint(b, uint64(a.RetryPausedNs))
	return appendUvarint(b, uint64(a.RetryAbortedNs))
}

// readWaits decodes the fields of readAggregate's record that
// chunkAggregatesWaits adds, at p[i:].
func readWaits(p []byte, i int, a *Aggregate) (int, string) {
	var pns, ans uint64
	a.RetryWaits, i = uvarint(p, i)
	pns, i = uvarint(p, i)
	ans, i = uvarint(p, i)
	switch {
	case i < 0:
		return -1, "bad encoding"
	case pns > math.MaxInt64 || ans > math.MaxInt64:
		return -1, "Retry wait duration overflows"
	}
	a.RetryPausedNs, a.RetryAbortedNs = int64(pns), int64(ans)
	return i, ""
}

// readAggregate decodes one record at p[i:], returning the index after it,
// or -1 and a message.
func readAggregate(p []byte, i int, a *Aggregate) (int, string) {
	var th, zs, span, tns, sns uint64
	th, i = uvarint(p, i)
	zs, i = uvarint(p, i)
	span, i = uvarint(p, i)
	a.Commits, i = uvarint(p, i)
	a.Timed, i = uvarint(p, i)
	tns, i = uvarint(p, i)
	a.Sampled, i = uvarint(p, i)
	sns, i = uvarint(p, i)
	if i < 0 || len(p)-i < 8 {
		return -1, "bad encoding"
	}
	a.SampledSq = math.Float64frombits(binary.LittleEndian.Uint64(p[i:]))
	i += 8
	a.Estimated, i = uvarint(p, i)
	start := int64(zs>>1) ^ -int64(zs&1)
	switch {
	case i < 0:
		return -1, "bad encoding"
	case th == 0 || th > math.MaxUint32:
		return -1, fmt.Sprintf("bad thread %d", th)
	case span > math.MaxInt64 || (start > 0 && int64(span) > math.MaxInt64-start):
		return -1, "period overflows"
	case a.Timed > a.Commits || a.Sampled > a.Commits-a.Timed:
		return -1, fmt.Sprintf("thread %d: %d timed and %d sampled of %d commits", th, a.Timed, a.Sampled, a.Commits)
	case tns > math.MaxInt64 || sns > math.MaxInt64:
		return -1, "duration overflows"
	case math.IsNaN(a.SampledSq) || math.IsInf(a.SampledSq, 0) || a.SampledSq < 0:
		return -1, "bad sum of squares"
	}
	a.Thread = uint32(th)
	a.Start, a.End = start, start+int64(span)
	a.TimedNs, a.SampledNs = int64(tns), int64(sns)
	return i, ""
}

// AggregateSource is implemented by sources that can return aggregate
// records (Reader): Aggregate returns the record of the last event Next
// returned, when that event is of kind KindAggregate. Wrappers of a Source
// should pass it through.
type AggregateSource interface {
	Aggregate() Aggregate
}
