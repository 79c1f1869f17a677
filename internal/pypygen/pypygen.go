// Package pypygen synthesizes PyPy-STM conflict logs (c7 and c8 layouts)
// for tests and benchmarks. No real PyPy-STM binary log is published, so
// stmlog's PyPy support is tested on logs made from the documented layouts
// (docs/pypy-log-format.md §1-§2) by this seeded simulation.
//
// The simulation runs Threads threads against one global monotonic clock.
// Each step picks a thread at random and writes the next record of the
// transaction it is running; a thread that has none plans a new one that
// follows the state machines of the reference: for c8, an optional
// free-segment wait before START, sync pauses and GC inside, and then one
// of: commit; a write-read contention (the marker is the writer's
// location, sometimes repeated as the "double" the analyzer notes) then
// abort; become-inevitable, maybe a wait for the other inevitable
// transaction, maybe detach/reattach, then commit (or abort when it fails
// to become inevitable). For c7: contention records with both markers and
// the other thread, followed by the thread's decision: abort itself, abort
// the other (ABORTING_OTHER_CONTENTION, after which the other thread's
// transaction aborts) or wait (WAIT_CONTENTION … WAIT_DONE). When the size
// limit is reached every open transaction is finished, so logs always end
// cleanly. The same Config always gives the same bytes (own PRNG, no
// math/rand).
package pypygen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// Config describes the log to synthesize.
type Config struct {
	Format  pypy.Format // pypy.C8 (default) or pypy.C7
	Seed    uint64
	Threads int // default 4
	// The log stops growing once it has Records records or Bytes bytes,
	// whichever comes first (0 = no limit; at least one must be set).
	Records int64
	Bytes   int64
	// Markers replaces the default marker texts (write locations first
	// half, inevitable locations second half).
	Markers []string
}

// Result says what was written.
type Result struct {
	Records, Bytes int64
}

// Default markers: PyPy's text format, some pointing at files that exist
// in testdata/logs/pypy (src/app.py) so reports print source lines.
var writeMarkers = []string{
	`File "src/app.py", line 7, in add_item (#41)`,
	`File "src/app.py", line 12, in total (#7)`,
	`File "/srv/shop/stats.py", line 17, in bump (#3)`,
	`File "/usr/lib/pypy/lib_pypy/transaction.py", line 164, in _run_thread (#112)`,
	`File "/srv/shop/cache.pyc", line 9, in get (#2)`,
	`File "<ery/long/path/to/a/module/that/got/truncated/handlers.py", line 301, in handle_request_with_a_long_na> (#88)`,
}

var inevMarkers = []string{
	`File "src/app.py", line 18, in log_request (#5)`,
	`File "/srv/tornado/web.py", line 1082, in compute_etag (#33)`,
	`File "/srv/tornado/httpserver.py", line 455, in __init__ (#19)`,
}

type step struct {
	event  uint8
	other  uint32
	m1, m2 string
}

type thread struct {
	num   uint32
	queue []step
	inTx  bool
	kill  bool // c7: another thread aborted this one's transaction
}

// rng is splitmix64: tiny, fast, and fixed forever (golden files depend
// on it).
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// chance is true with probability p percent.
func (r *rng) chance(p int) bool { return r.intn(100) < p }

type gen struct {
	cfg     Config
	r       rng
	threads []*thread
	wmark   []string
	imark   []string
	w       *bufio.Writer
	buf     []byte
	now     uint64 // ns
	res     Result
}

// Write synthesizes a log into w.
func Write(w io.Writer, cfg Config) (Result, error) {
	if cfg.Format == 0 {
		cfg.Format = pypy.C8
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 4
	}
	if cfg.Records <= 0 && cfg.Bytes <= 0 {
		return Result{}, fmt.Errorf("pypygen: set Records or Bytes")
	}
	g := &gen{cfg: cfg, r: rng{cfg.Seed}, w: bufio.NewWriterSize(w, 1<<16), wmark: writeMarkers, imark: inevMarkers}
	if len(cfg.Markers) >= 2 {
		g.wmark, g.imark = cfg.Markers[:len(cfg.Markers)/2], cfg.Markers[len(cfg.Markers)/2:]
	}
	for i := range cfg.Threads {
		g.threads = append(g.threads, &thread{num: uint32(i + 1)})
	}
	g.now = 7340*1e9 + g.r.next()%1e9 // an arbitrary CLOCK_MONOTONIC_RAW epoch
	magic := pypy.MagicC8
	if cfg.Format == pypy.C7 {
		magic = pypy.MagicC7
	}
	g.w.WriteString(magic)
	g.res.Bytes = int64(len(magic))
	for !g.full() {
		g.emit(g.threads[g.r.intn(len(g.threads))])
	}
	// Finish every open transaction (and wait) so the log ends cleanly.
	for _, t := range g.threads {
		for len(t.queue) > 0 {
			g.emit(t)
		}
	}
	if err := g.w.Flush(); err != nil {
		return g.res, err
	}
	return g.res, nil
}

func (g *gen) full() bool {
	return g.cfg.Records > 0 && g.res.Records >= g.cfg.Records || g.cfg.Bytes > 0 && g.res.Bytes >= g.cfg.Bytes
}

// emit writes the next record of t, planning a transaction if needed.
func (g *gen) emit(t *thread) {
	if len(t.queue) == 0 {
		if g.cfg.Format == pypy.C7 {
			g.plan7(t)
		} else {
			g.plan8(t)
		}
	}
	if t.kill {
		t.kill = false
		if t.inTx {
			t.queue = append(t.queue[:0], step{event: pypy.C7Abort})
		}
	}
	s := t.queue[0]
	t.queue = t.queue[1:]
	// Most records are microseconds apart, a few are long gaps.
	d := uint64(200 + g.r.intn(30000))
	if g.r.chance(2) {
		d += uint64(g.r.intn(3_000_000))
	}
	g.now += d
	g.write(t, s)
}

func (g *gen) write(t *thread, s step) {
	b := g.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(g.now/1e9))
	b = binary.LittleEndian.AppendUint32(b, uint32(g.now%1e9))
	b = binary.LittleEndian.AppendUint32(b, t.num)
	if g.cfg.Format == pypy.C7 {
		b = binary.LittleEndian.AppendUint32(b, s.other)
		b = append(b, s.event, byte(len(s.m1)), byte(len(s.m2)))
		b = append(append(b, s.m1...), s.m2...)
		switch s.event {
		case pypy.C7Start:
			t.inTx = true
		case pypy.C7Commit, pypy.C7Abort:
			t.inTx = false
		case pypy.C7AbortingOther:
			if o := g.threads[s.other-1]; o.inTx {
				o.kill = true
			}
		}
	} else {
		b = append(b, s.event, byte(len(s.m1)))
		b = append(b, s.m1...)
	}
	g.buf = b
	g.w.Write(b)
	g.res.Records++
	g.res.Bytes += int64(len(b))
}

func (g *gen) pick(list []string) string { return list[g.r.intn(len(list))] }

func (g *gen) plan8(t *thread) {
	q := t.queue[:0]
	add := func(ev uint8, m string) { q = append(q, step{event: ev, m1: m}) }
	if g.r.chance(2) {
		add(pypy.EvWaitFreeSegment, "")
		add(pypy.EvWaitDone, "")
	}
	add(pypy.EvStart, "")
	for n := g.r.intn(3); n > 0; n-- {
		switch g.r.intn(10) {
		case 0, 1, 2, 3:
			add(pypy.EvGCMinorStart, "")
			add(pypy.EvGCMinorDone, "")
		case 4:
			add(pypy.EvGCMajorStart, "")
			add(pypy.EvGCMajorDone, "")
		case 5, 6:
			add(pypy.EvWaitSyncPause, "")
			add(pypy.EvWaitDone, "")
		case 7:
			add(pypy.EvWaitSyncing, "")
			add(pypy.EvWaitDone, "")
		}
	}
	switch {
	case g.r.chance(25):
		add(pypy.EvBecomeInevitable, g.pick(g.imark))
		if g.r.chance(3) {
			add(pypy.EvAbort, "") // failed to become inevitable
			break
		}
		if g.r.chance(60) {
			add(pypy.EvWaitOtherInev, "")
			add(pypy.EvWaitDone, "")
		}
		if g.r.chance(20) {
			add(pypy.EvDetach, "")
			add(pypy.EvReattach, "")
			if g.r.chance(30) {
				add(pypy.EvWaitOtherInev, "")
				add(pypy.EvWaitDone, "")
			}
		}
		add(pypy.EvCommit, "")
	case g.r.chance(30):
		add(pypy.EvWriteRead, g.pick(g.wmark))
		if g.r.chance(4) {
			add(pypy.EvWriteRead, g.pick(g.wmark)) // the "double" the analyzer notes
		}
		add(pypy.EvAbort, "")
	default:
		add(pypy.EvCommit, "")
	}
	t.queue = q
}

func (g *gen) plan7(t *thread) {
	q := t.queue[:0]
	add := func(s step) { q = append(q, s) }
	add(step{event: pypy.C7Start})
	if g.r.chance(10) {
		add(step{event: pypy.C7WaitSyncPause})
		add(step{event: pypy.C7WaitDone})
	}
	if g.r.chance(20) {
		add(step{event: pypy.C7GCMinorStart})
		add(step{event: pypy.C7GCMinorDone})
	}
	other := uint32(g.r.intn(len(g.threads))) + 1
	if other == t.num || !g.r.chance(35) {
		add(step{event: pypy.C7Commit})
		t.queue = q
		return
	}
	switch g.r.intn(3) {
	case 0: // write-write: abort self, abort the other, or wait
		add(step{event: pypy.C7WriteWrite, other: other, m1: g.pick(g.wmark), m2: g.pick(g.wmark)})
		switch g.r.intn(3) {
		case 0:
			add(step{event: pypy.C7Abort})
			t.queue = q
			return
		case 1:
			add(step{event: pypy.C7AbortingOther, other: other})
		case 2:
			add(step{event: pypy.C7WaitContention})
			add(step{event: pypy.C7WaitDone})
		}
	case 1: // write-read, by the committing writer, which aborts the reader
		add(step{event: pypy.C7WriteRead, other: other, m1: g.pick(g.wmark)})
		add(step{event: pypy.C7AbortingOther, other: other})
	case 2: // inevitable: wait for the other one
		add(step{event: pypy.C7Inevitable, other: other, m1: g.pick(g.imark), m2: g.pick(g.imark)})
		add(step{event: pypy.C7WaitContention})
		add(step{event: pypy.C7WaitDone})
	}
	add(step{event: pypy.C7Commit})
	t.queue = q
}

// ParseSize reads "500MB", "2GB", "64KB" or a plain byte count (decimal
// units: 1MB = 1,000,000 bytes).
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if len(s) > len(u.suf) && s[len(s)-len(u.suf):] == u.suf {
			s, mult = s[:len(s)-len(u.suf)], u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 500MB, 2GB, 1000000)", s)
	}
	return n * mult, nil
}
