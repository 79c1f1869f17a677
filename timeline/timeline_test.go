package timeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
	"github.com/stmlog/stmlog/logformat/logtest"
)

// tlStacks are the sites of the tests' logs.
var tlStacks = map[logformat.StackID]*logformat.Stack{
	1: {Frames: []logformat.Frame{{Func: "main.handler", File: "/src/server.go", Line: 455}, {Func: "main.serve", File: "/src/server.go", Line: 40}}},
	2: {Frames: []logformat.Frame{{Func: "main.counter", File: "/src/count.go", Line: 12}}},
	3: {Label: `File "x.py", line 3, in f (#7) "quoted"` + "\u2028"},
}

// tlTraceEvent is one parsed Chrome trace event; pointer fields tell "missing"
// from zero.
type tlTraceEvent struct {
	Ph    string          `json:"ph"`
	Name  string          `json:"name"`
	Cat   string          `json:"cat"`
	Pid   *int            `json:"pid"`
	Tid   *int            `json:"tid"`
	Ts    *float64        `json:"ts"`
	Dur   *float64        `json:"dur"`
	ID    *uint64         `json:"id"`
	S     string          `json:"s"`
	Bp    string          `json:"bp"`
	Cname string          `json:"cname"`
	Args  json.RawMessage `json:"args"`
}

type tlTraceFile struct {
	DisplayTimeUnit string          `json:"displayTimeUnit"`
	TraceEvents     []tlTraceEvent  `json:"traceEvents"`
	OtherData       json.RawMessage `json:"otherData"`
}

// tlCheckTrace parses a trace and checks what every viewer relies on: each
// event has ph/pid/tid, slices have ts and a non-negative dur, slices on a
// thread nest (no partial overlap), every thread with events is named, and
// every flow start has exactly one finish. It returns the parsed trace.
func tlCheckTrace(t *testing.T, data []byte) tlTraceFile {
	t.Helper()
	tf, err := tlValidateTrace(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, tlHead(data))
	}
	return tf
}

func tlValidateTrace(data []byte) (tlTraceFile, error) {
	var tf tlTraceFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tf); err != nil {
		return tf, fmt.Errorf("trace is not valid JSON of the expected shape: %v", err)
	}
	if tf.TraceEvents == nil {
		return tf, fmt.Errorf("no traceEvents array")
	}
	named := map[int]bool{}
	used := map[int]bool{}
	slices := map[int][][2]int64{}
	flows := map[uint64]string{}
	for i, e := range tf.TraceEvents {
		if e.Ph == "" || e.Pid == nil || e.Tid == nil {
			return tf, fmt.Errorf("event %d lacks ph/pid/tid: %+v", i, e)
		}
		if e.Ph != "M" && e.Ts == nil {
			return tf, fmt.Errorf("event %d (%s) lacks ts", i, e.Ph)
		}
		switch e.Ph {
		case "M":
			if e.Name == "thread_name" {
				named[*e.Tid] = true
			}
		case "X":
			if e.Dur == nil || *e.Dur < 0 {
				return tf, fmt.Errorf("slice %d has no or negative dur: %+v", i, e)
			}
			used[*e.Tid] = true
			// Micros with three decimals are exact nanoseconds.
			start := int64(*e.Ts*1000 + 0.5)
			slices[*e.Tid] = append(slices[*e.Tid], [2]int64{start, start + int64(*e.Dur*1000+0.5)})
		case "i":
			if e.S != "t" {
				return tf, fmt.Errorf("instant %d is not thread-scoped: %+v", i, e)
			}
			used[*e.Tid] = true
		case "s", "f":
			if e.ID == nil {
				return tf, fmt.Errorf("flow %d has no id", i)
			}
			if prev := flows[*e.ID]; strings.Contains(prev, e.Ph) {
				return tf, fmt.Errorf("flow id %d has two %q events", *e.ID, e.Ph)
			}
			flows[*e.ID] += e.Ph
		default:
			return tf, fmt.Errorf("event %d has unexpected ph %q", i, e.Ph)
		}
	}
	for id, phs := range flows {
		if len(phs) != 2 {
			return tf, fmt.Errorf("flow id %d has events %q, want one s and one f", id, phs)
		}
	}
	for tid := range used {
		if !named[tid] {
			return tf, fmt.Errorf("thread %d has events but no thread_name", tid)
		}
	}
	for tid, ss := range slices {
		// Parents first: by start, then longer first.
		sort.SliceStable(ss, func(i, j int) bool {
			if ss[i][0] != ss[j][0] {
				return ss[i][0] < ss[j][0]
			}
			return ss[i][1] > ss[j][1]
		})
		var stack [][2]int64
		for _, s := range ss {
			for len(stack) > 0 && stack[len(stack)-1][1] <= s[0] && !(stack[len(stack)-1][1] == s[0] && s[1] == s[0]) {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && s[1] > stack[len(stack)-1][1] {
				return tf, fmt.Errorf("thread %d: slice %v partially overlaps %v", tid, s, stack[len(stack)-1])
			}
			stack = append(stack, s)
		}
	}
	return tf, nil
}

// The validator itself must catch what it claims to.
func TestValidateTraceRejects(t *testing.T) {
	const (
		pre  = `{"traceEvents":[{"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"t"}},`
		post = `]}`
	)
	for _, tc := range []struct{ name, events, want string }{
		{"partial overlap", `{"ph":"X","pid":1,"tid":1,"ts":0,"dur":10},{"ph":"X","pid":1,"tid":1,"ts":5,"dur":10}`, "partially overlaps"},
		{"missing dur", `{"ph":"X","pid":1,"tid":1,"ts":0}`, "no or negative dur"},
		{"missing tid", `{"ph":"X","pid":1,"ts":0,"dur":1}`, "lacks ph/pid/tid"},
		{"missing ts", `{"ph":"i","s":"t","pid":1,"tid":1}`, "lacks ts"},
		{"unnamed thread", `{"ph":"X","pid":1,"tid":2,"ts":0,"dur":1}`, "no thread_name"},
		{"lone flow", `{"ph":"s","pid":1,"tid":1,"ts":0,"id":4}`, "want one s and one f"},
		{"unknown field", `{"ph":"X","pid":1,"tid":1,"ts":0,"dur":1,"bogus":1}`, "unknown field"},
	} {
		if _, err := tlValidateTrace([]byte(pre + tc.events + post)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	ok := `{"ph":"X","pid":1,"tid":1,"ts":0,"dur":10},{"ph":"X","pid":1,"tid":1,"ts":0,"dur":10},{"ph":"X","pid":1,"tid":1,"ts":10,"dur":0},{"ph":"X","pid":1,"tid":1,"ts":2,"dur":3}`
	if _, err := tlValidateTrace([]byte(pre + ok + post)); err != nil {
		t.Errorf("proper nesting rejected: %v", err)
	}
}

func tlHead(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

func tlCount(tf tlTraceFile, ph, name string) int {
	n := 0
	for _, e := range tf.TraceEvents {
		if e.Ph == ph && (name == "" || e.Name == name) {
			n++
		}
	}
	return n
}

func tlFind(t *testing.T, tf tlTraceFile, ph, name string, tid int) tlTraceEvent {
	t.Helper()
	for _, e := range tf.TraceEvents {
		if e.Ph == ph && e.Name == name && *e.Tid == tid {
			return e
		}
	}
	t.Fatalf("no %s event %q on thread %d", ph, name, tid)
	return tlTraceEvent{}
}

func tlTrace(t *testing.T, src logformat.Source, opt Options) (tlTraceFile, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, src, opt)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return tlCheckTrace(t, buf.Bytes()), st
}

// ev builds events tersely: tlEv(time, thread, kind).
func tlEv(ns int64, thread uint32, k logformat.Kind) logformat.Event {
	return logformat.Event{Time: ns, Thread: thread, Kind: k}
}

func tlConflict(ns int64, thread, other uint32, ck logformat.ConflictKind, site, otherSite logformat.StackID) logformat.Event {
	return logformat.Event{Time: ns, Thread: thread, Kind: logformat.KindConflict, Conflict: ck,
		OtherThread: other, Var: 9, Site: site, OtherSite: otherSite}
}

func tlWait(ns int64, thread uint32, r logformat.WaitReason) logformat.Event {
	return logformat.Event{Time: ns, Thread: thread, Kind: logformat.KindWaitStart, Reason: r}
}

func tlAbort(ns int64, thread uint32, c logformat.AbortCause) logformat.Event {
	return logformat.Event{Time: ns, Thread: thread, Kind: logformat.KindTxAbort, Cause: c}
}

const (
	tlStart  = logformat.KindTxStart
	tlCommit = logformat.KindTxCommit
	tlDone   = logformat.KindWaitDone
	tlInev   = logformat.KindBecomeInevitable
)

func TestChromeScenarios(t *testing.T) {
	type want struct {
		commits, aborts, inevitable, unfinished, pauses, conflicts, flows int64
	}
	tests := []struct {
		name   string
		events []logformat.Event
		opt    Options
		want   want
		check  func(t *testing.T, tf tlTraceFile)
	}{
		{
			name: "write-read conflict: arrow from the other side's commit",
			events: []logformat.Event{
				tlEv(1000, 1, tlStart), tlEv(1500, 2, tlStart),
				tlEv(3000, 2, tlCommit),
				tlConflict(4000, 1, 2, logformat.ConflictWriteRead, 2, 1),
				tlAbort(4500, 1, logformat.AbortConflict),
				tlEv(5000, 1, tlStart), tlEv(6000, 1, tlCommit),
			},
			want: want{commits: 2, aborts: 1, conflicts: 1, flows: 1},
			check: func(t *testing.T, tf tlTraceFile) {
				s := tlFind(t, tf, "s", "conflict", 2)
				f := tlFind(t, tf, "f", "conflict", 1)
				if *s.ID != *f.ID || *s.Ts != 2.999 || *f.Ts != 4 || f.Bp != "e" {
					t.Errorf("flow s=%+v f=%+v; want s at 2.999us on t2, f at 4us bound to enclosing", s, f)
				}
				ab := tlFind(t, tf, "X", "abort", 1)
				if *ab.Ts != 1 || *ab.Dur != 3.5 || ab.Cname != "bad" ||
					!strings.Contains(string(ab.Args), `"cause":"conflict"`) || !strings.Contains(string(ab.Args), `"conflict":"write-read"`) {
					t.Errorf("abort slice = %+v args %s", ab, ab.Args)
				}
				c := tlFind(t, tf, "i", "conflict write-read", 1)
				var args map[string]any
				if err := json.Unmarshal(c.Args, &args); err != nil {
					t.Fatal(err)
				}
				if args["this"] != "/src/count.go:12 in main.counter" ||
					args["other"] != "/src/server.go:455 in main.handler\n/src/server.go:40 in main.serve" ||
					args["other_thread"] != 2.0 || args["var"] != "balance" {
					t.Errorf("conflict args = %v", args)
				}
			},
		},
		{
			name: "the other side's events read after this side's (per-thread chunks)",
			events: []logformat.Event{
				tlEv(1000, 1, tlStart), tlConflict(4000, 1, 2, logformat.ConflictWriteRead, 2, 1),
				tlAbort(4500, 1, logformat.AbortConflict),
				tlConflict(4600, 1, 3, logformat.ConflictInevitable, 2, 1),
				tlEv(1500, 2, tlStart), tlEv(3000, 2, tlCommit), tlEv(5000, 2, tlStart), tlEv(6000, 2, tlCommit),
				tlEv(2000, 3, tlStart), {Time: 2500, Thread: 3, Kind: tlInev, Site: 1}, tlEv(7000, 3, tlCommit),
			},
			want: want{commits: 2, aborts: 1, inevitable: 1, conflicts: 2, flows: 2},
			check: func(t *testing.T, tf tlTraceFile) {
				if s := tlFind(t, tf, "s", "conflict", 2); *s.Ts != 2.999 {
					t.Errorf("write-read arrow starts at %v, want 2.999 (thread 2's commit)", *s.Ts)
				}
				if s := tlFind(t, tf, "s", "conflict", 3); *s.Ts != 2.5 {
					t.Errorf("inevitable arrow starts at %v, want 2.5 (thread 3 became inevitable)", *s.Ts)
				}
			},
		},
		{
			name: "inevitable conflict: pause nested, arrow from become-inevitable",
			events: []logformat.Event{
				tlEv(0, 1, tlStart), {Time: 100, Thread: 1, Kind: tlInev, Site: 3},
				tlEv(200, 2, tlStart),
				tlConflict(300, 2, 1, logformat.ConflictInevitable, 1, 3),
				tlWait(300, 2, logformat.WaitInevitable),
				tlEv(900, 1, tlCommit),
				tlEv(950, 2, tlDone), {Time: 960, Thread: 2, Kind: tlInev, Site: 1},
				tlEv(1000, 2, tlCommit),
			},
			want: want{inevitable: 2, pauses: 1, conflicts: 1, flows: 1},
			check: func(t *testing.T, tf tlTraceFile) {
				s := tlFind(t, tf, "s", "conflict", 1)
				if *s.Ts != 0.1 {
					t.Errorf("flow starts at %v, want 0.1 (become-inevitable of thread 1)", *s.Ts)
				}
				p := tlFind(t, tf, "X", "pause inevitable", 2)
				if *p.Ts != 0.3 || *p.Dur != 0.65 || string(p.Args) != `{"reason":"inevitable"}` {
					t.Errorf("pause = %+v %s", p, p.Args)
				}
				in := tlFind(t, tf, "X", "inevitable", 1)
				if in.Cname != "thread_state_iowait" || string(in.Args) != `{"outcome":"inevitable","inevitable_after_ns":100}` {
					t.Errorf("inevitable slice = %+v %s", in, in.Args)
				}
				sec := tlFind(t, tf, "X", "inevitable section", 1)
				if *sec.Ts != 0.1 || *sec.Dur != 0.8 || sec.Cat != "inevitable" {
					t.Errorf("thread 1's inevitable section = %v+%v, want 0.1+0.8", *sec.Ts, *sec.Dur)
				}
				if sec := tlFind(t, tf, "X", "inevitable section", 2); *sec.Ts != 0.96 || *sec.Dur != 0.04 {
					t.Errorf("thread 2's inevitable section = %v+%v, want 0.96+0.04", *sec.Ts, *sec.Dur)
				}
				bi := tlFind(t, tf, "i", "become inevitable", 1)
				if !strings.Contains(string(bi.Args), `\"quoted\"\u2028`) {
					t.Errorf("label not escaped as expected: %s", bi.Args)
				}
			},
		},
		{
			name: "inevitable section: around later pauses, after earlier ones",
			events: []logformat.Event{
				// PyPy c8 order: become inevitable, then wait for the other.
				tlEv(0, 1, tlStart), {Time: 10, Thread: 1, Kind: tlInev, Site: 3},
				tlWait(20, 1, logformat.WaitInevitable), tlEv(50, 1, tlDone), tlEv(100, 1, tlCommit),
				// Asked while paused: the section starts when the pause ends.
				tlEv(0, 2, tlStart), tlWait(10, 2, logformat.WaitCommitLock),
				{Time: 20, Thread: 2, Kind: tlInev, Site: 3}, tlEv(50, 2, tlDone),
				tlEv(60, 2, logformat.KindGCMinorStart), tlEv(70, 2, logformat.KindGCMinorDone), tlEv(100, 2, tlCommit),
			},
			want: want{inevitable: 2, pauses: 2},
			check: func(t *testing.T, tf tlTraceFile) {
				if s := tlFind(t, tf, "X", "inevitable section", 1); *s.Ts != 0.01 || *s.Dur != 0.09 {
					t.Errorf("thread 1 section = %v+%v, want 0.01+0.09 (holding the pause)", *s.Ts, *s.Dur)
				}
				if s := tlFind(t, tf, "X", "inevitable section", 2); *s.Ts != 0.05 || *s.Dur != 0.05 {
					t.Errorf("thread 2 section = %v+%v, want 0.05+0.05 (after the pause)", *s.Ts, *s.Dur)
				}
				if g := tlFind(t, tf, "X", "minor gc", 2); g.Cat != "gc" {
					t.Errorf("gc slice category %q", g.Cat)
				}
			},
		},
		{
			name: "pause open at abort is closed there; retry wait outside the attempt",
			events: []logformat.Event{
				tlEv(0, 1, tlStart), tlWait(10, 1, logformat.WaitCommitLock),
				tlAbort(50, 1, logformat.AbortRetry),
				tlWait(60, 1, logformat.WaitRetry), tlEv(80, 1, tlDone),
				tlEv(90, 1, tlStart), tlEv(95, 1, tlCommit),
			},
			want: want{commits: 1, aborts: 1, pauses: 2},
			check: func(t *testing.T, tf tlTraceFile) {
				p := tlFind(t, tf, "X", "pause commit-lock", 1)
				if *p.Ts != 0.01 || *p.Dur != 0.04 {
					t.Errorf("clipped pause = %v+%v, want 0.01+0.04", *p.Ts, *p.Dur)
				}
				r := tlFind(t, tf, "X", "pause retry", 1)
				if *r.Ts != 0.06 || *r.Dur != 0.02 {
					t.Errorf("retry pause = %v+%v", *r.Ts, *r.Dur)
				}
			},
		},
		{
			name: "unfinished attempts: restarted and at end of log; time going backwards is clamped",
			events: []logformat.Event{
				tlEv(100, 1, tlStart), tlEv(200, 1, tlStart), tlEv(150, 1, tlCommit),
				tlEv(300, 2, tlStart), tlWait(310, 2, logformat.WaitBackoff), tlEv(400, 2, logformat.KindGCMinorStart),
			},
			want: want{commits: 1, unfinished: 2, pauses: 1},
			check: func(t *testing.T, tf tlTraceFile) {
				c := tlFind(t, tf, "X", "commit", 1)
				if *c.Ts != 0.2 || *c.Dur != 0 {
					t.Errorf("clamped commit = %v+%v", *c.Ts, *c.Dur)
				}
				if n := tlCount(tf, "X", "minor gc"); n != 1 {
					t.Errorf("%d minor gc slices, want 1", n)
				}
			},
		},
		{
			name: "PyPy c8 detach/reattach",
			events: []logformat.Event{
				tlEv(0, 1, tlStart), {Time: 10, Thread: 1, Kind: tlInev, Site: 3},
				tlEv(20, 1, logformat.KindDetach), tlEv(30, 1, logformat.KindReattach),
				tlEv(40, 1, logformat.KindGCMajorStart), tlEv(45, 1, logformat.KindGCMajorDone),
				tlEv(50, 1, tlCommit),
			},
			want: want{inevitable: 2},
			check: func(t *testing.T, tf tlTraceFile) {
				if n := tlCount(tf, "X", "major gc"); n != 1 {
					t.Errorf("%d major gc slices", n)
				}
				var found bool
				for _, e := range tf.TraceEvents {
					if e.Ph == "X" && strings.Contains(string(e.Args), `"reattached":true`) {
						found = *e.Ts == 0.03 && *e.Dur == 0.02
					}
				}
				if !found {
					t.Errorf("no reattached slice at 0.03+0.02")
				}
			},
		},
		{
			name: "thread filter drops the other thread and the arrow",
			events: []logformat.Event{
				tlEv(1000, 1, tlStart), tlEv(1500, 2, tlStart), tlEv(3000, 2, tlCommit),
				tlConflict(4000, 1, 2, logformat.ConflictWriteWrite, 2, 1),
				tlAbort(4500, 1, logformat.AbortConflict),
			},
			opt:  Options{Threads: []uint32{1}},
			want: want{aborts: 1, conflicts: 1},
			check: func(t *testing.T, tf tlTraceFile) {
				for _, e := range tf.TraceEvents {
					if *e.Tid == 2 {
						t.Errorf("event of filtered thread 2: %+v", e)
					}
				}
			},
		},
		{
			name: "time window keeps overlapping slices whole",
			events: []logformat.Event{
				tlEv(0, 1, tlStart), tlEv(1000, 1, tlCommit),
				tlEv(2000, 1, tlStart), tlEv(5000, 1, tlCommit),
				tlEv(6000, 1, tlStart), tlEv(7000, 1, tlCommit),
				tlEv(8000, 2, tlStart), tlEv(9000, 2, tlCommit),
			},
			opt:  Options{From: 3 * time.Microsecond, To: 5500 * time.Nanosecond},
			want: want{commits: 1},
			check: func(t *testing.T, tf tlTraceFile) {
				c := tlFind(t, tf, "X", "commit", 1)
				if *c.Ts != 2 || *c.Dur != 3 {
					t.Errorf("kept %v+%v, want 2+3", *c.Ts, *c.Dur)
				}
				if n := tlCount(tf, "M", "thread_name"); n != 1 {
					t.Errorf("%d named tracks, want 1 (thread 2 has nothing in the window)", n)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &logtest.Source{Events: tc.events, Stacks: tlStacks, Vars: map[uint64]string{9: "balance"}}
			tf, st := tlTrace(t, src, tc.opt)
			got := want{st.Commits, st.Aborts, st.Inevitable, st.Unfinished, st.Pauses, st.Conflicts, st.Flows}
			if got != tc.want {
				t.Errorf("stats = %+v, want %+v", got, tc.want)
			}
			// The stats agree with the JSON.
			if n := int64(tlCount(tf, "X", "commit")); n != st.Commits {
				t.Errorf("%d commit slices, stats say %d", n, st.Commits)
			}
			if n := int64(tlCount(tf, "X", "abort")); n != st.Aborts {
				t.Errorf("%d abort slices, stats say %d", n, st.Aborts)
			}
			if n := int64(tlCount(tf, "s", "")); n != st.Flows {
				t.Errorf("%d flows, stats say %d", n, st.Flows)
			}
			if int64(len(tf.TraceEvents)) != st.TraceEvents {
				t.Errorf("%d trace events, stats say %d", len(tf.TraceEvents), st.TraceEvents)
			}
			tc.check(t, tf)
		})
	}
}

// tlRandomLog makes a plausible multi-thread log: attempts that commit or
// abort after conflicts, pauses inside and between attempts, inevitable
// transactions. It returns the log and how many commits, aborts and
// conflicts it holds.
func tlRandomLog(seed int64, threads, attempts int) (evs []logformat.Event, commits, aborts, conflicts int64) {
	r := rand.New(rand.NewSource(seed))
	now := make([]int64, threads+1)
	for th := 1; th <= threads; th++ {
		now[th] = int64(r.Intn(1000))
	}
	for n := 0; n < attempts; n++ {
		th := uint32(1 + r.Intn(threads))
		step := func() int64 { now[th] += int64(1 + r.Intn(500)); return now[th] }
		evs = append(evs, tlEv(step(), th, tlStart))
		if r.Intn(4) == 0 {
			evs = append(evs, logformat.Event{Time: step(), Thread: th, Kind: tlInev, Site: 1})
		}
		for r.Intn(3) == 0 {
			evs = append(evs, tlWait(step(), th, logformat.WaitReason(1+r.Intn(4))), tlEv(step(), th, tlDone))
		}
		other := uint32(1 + r.Intn(threads))
		switch r.Intn(3) {
		case 0:
			evs = append(evs, tlConflict(step(), th, other, logformat.ConflictKind(1+r.Intn(2)), 1, 2),
				tlAbort(step(), th, logformat.AbortConflict))
			aborts++
			conflicts++
		case 1:
			evs = append(evs, tlConflict(step(), th, other, logformat.ConflictInevitable, 2, 3),
				tlWait(step(), th, logformat.WaitInevitable), tlEv(step(), th, tlDone), tlEv(step(), th, tlCommit))
			commits++
			conflicts++
		default:
			evs = append(evs, tlEv(step(), th, tlCommit))
			commits++
		}
	}
	// Interleave the threads the way a native log does: in per-thread
	// batches, not globally sorted.
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time/5000 < evs[j].Time/5000 })
	return evs, commits, aborts, conflicts
}

func TestChromeRandomLogsAreWellFormed(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		evs, commits, aborts, conflicts := tlRandomLog(seed, 1+int(seed%4), 300)
		src := &logtest.Source{Events: evs, Stacks: tlStacks}
		tf, st := tlTrace(t, src, Options{Name: fmt.Sprint("seed ", seed)})
		inev := int64(tlCount(tf, "X", "inevitable"))
		if got := int64(tlCount(tf, "X", "commit")) + inev; got != commits || st.Commits+st.Inevitable != commits {
			t.Errorf("seed %d: %d committed slices (stats %d+%d), want %d", seed, got, st.Commits, st.Inevitable, commits)
		}
		if got := int64(tlCount(tf, "X", "abort")); got != aborts {
			t.Errorf("seed %d: %d abort slices, want %d", seed, got, aborts)
		}
		if got := int64(tlCount(tf, "i", "")) - int64(tlCount(tf, "i", "become inevitable")); got != conflicts {
			t.Errorf("seed %d: %d conflict instants, want %d", seed, got, conflicts)
		}
		if st.Unfinished != 0 {
			t.Errorf("seed %d: %d unfinished", seed, st.Unfinished)
		}
	}
}

func TestChromeCap(t *testing.T) {
	evs, _, _, _ := tlRandomLog(7, 3, 500)
	var buf bytes.Buffer
	st, err := Write(&buf, &logtest.Source{Events: evs, Stacks: tlStacks}, Options{MaxEvents: 100})
	if err != nil {
		t.Fatal(err)
	}
	tf := tlCheckTrace(t, buf.Bytes())
	// A flow's two events are written together or not at all: the cap may
	// stop one short.
	if !st.Capped || st.TraceEvents < 99 || st.TraceEvents > 100 || int64(len(tf.TraceEvents)) != st.TraceEvents || st.CappedAt <= 0 {
		t.Errorf("capped=%v events=%d parsed=%d at=%d; want capped at 100", st.Capped, st.TraceEvents, len(tf.TraceEvents), st.CappedAt)
	}
	if !strings.Contains(string(tf.OtherData), `"capped":true`) {
		t.Errorf("otherData does not say capped: %s", tf.OtherData)
	}
	// Uncapped, the same log is far bigger.
	buf.Reset()
	st, err = Write(&buf, &logtest.Source{Events: evs, Stacks: tlStacks}, Options{MaxEvents: -1})
	if err != nil || st.Capped || st.TraceEvents < 1000 {
		t.Errorf("uncapped: capped=%v events=%d err=%v", st.Capped, st.TraceEvents, err)
	}
}

// A damaged log still yields a complete, valid trace, and the error.
func TestChromeDamagedLogKeepsValidJSON(t *testing.T) {
	damage := errors.New("x.log: byte 1234: bad chunk CRC")
	src := &logtest.Source{Events: []logformat.Event{tlEv(0, 1, tlStart), tlEv(5, 1, tlCommit), tlEv(6, 1, tlStart)}, Err: damage}
	var buf bytes.Buffer
	st, err := Write(&buf, src, Options{})
	if !errors.Is(err, damage) {
		t.Fatalf("err = %v, want the source's error", err)
	}
	tf := tlCheckTrace(t, buf.Bytes())
	if st.Commits != 1 || st.Unfinished != 1 || tlCount(tf, "X", "") != 2 {
		t.Errorf("stats %+v, slices %d", st, tlCount(tf, "X", ""))
	}
}

type tlFailWriter struct{ n int }

func (w *tlFailWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestChromeWriteError(t *testing.T) {
	evs, _, _, _ := tlRandomLog(3, 2, 2000)
	_, err := Write(&tlFailWriter{n: 100000}, &logtest.Source{Events: evs}, Options{})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v, want disk full", err)
	}
}

func TestAppendMicros(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want string
	}{
		{0, "0.000"}, {1, "0.001"}, {999, "0.999"}, {1000, "1.000"}, {1234567, "1234.567"},
		{-1, "-0.001"}, {-1500, "-1.500"}, {1<<63 - 1, "9223372036854775.807"}, {-1 << 63, "-9223372036854775.808"},
	} {
		if got := string(appendMicros(nil, tc.ns)); got != tc.want {
			t.Errorf("appendMicros(%d) = %s, want %s", tc.ns, got, tc.want)
		}
	}
}

// FuzzAppendJSONString checks that any string encodes to valid JSON that
// decodes to the string itself (invalid UTF-8 replaced, as encoding/json does).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\t\r\x00\x1f", "\xff\xfe", "é\u2028\u2029😀", "</script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, enc, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Fatalf("%q round-trips to %q, want %q", s, got, wantS)
		}
		if bytes.ContainsAny(enc, "\u2028\u2029") {
			t.Fatalf("unescaped line separator in %s", enc)
		}
	})
}

// BenchmarkChromeTrace is the whole timeline: read events, track state,
// encode JSON (events/s is log events per second).
func BenchmarkChromeTrace(b *testing.B) {
	evs, _, _, _ := tlRandomLog(11, 4, 20000)
	b.ReportAllocs()
	b.ResetTimer()
	var st Stats
	for i := 0; i < b.N; i++ {
		var err error
		st, err = Write(io.Discard, &logtest.Source{Events: evs, Stacks: tlStacks}, Options{MaxEvents: -1})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(st.TraceEvents), "traceevents/op")
}

// tlJSONEvent is a trace event as the obvious alternative writer would
// encode it: a struct through encoding/json.
type tlJSONEvent struct {
	Ph    string          `json:"ph"`
	Pid   int             `json:"pid"`
	Tid   uint32          `json:"tid"`
	Ts    float64         `json:"ts"`
	Dur   *float64        `json:"dur,omitempty"`
	Name  string          `json:"name,omitempty"`
	Cat   string          `json:"cat,omitempty"`
	Cname string          `json:"cname,omitempty"`
	S     string          `json:"s,omitempty"`
	ID    uint64          `json:"id,omitempty"`
	Bp    string          `json:"bp,omitempty"`
	Args  json.RawMessage `json:"args,omitempty"`
}

// BenchmarkChromeEncode compares the encoders alone on the same trace
// events: the hand-written appender against encoding/json on a struct per
// event (what a json.Encoder-based writer would do).
func BenchmarkChromeEncode(b *testing.B) {
	evs, _, _, _ := tlRandomLog(11, 4, 20000)
	var buf bytes.Buffer
	if _, err := Write(&buf, &logtest.Source{Events: evs, Stacks: tlStacks}, Options{MaxEvents: -1}); err != nil {
		b.Fatal(err)
	}
	var tf struct{ TraceEvents []tlJSONEvent }
	if err := json.Unmarshal(buf.Bytes(), &tf); err != nil {
		b.Fatal(err)
	}
	// The same events in the appender's terms (nanoseconds).
	type rec struct {
		ph               string
		tid              uint32
		ts, dur          int64
		name, cname, cat string
		args             []byte
		id               uint64
	}
	recs := make([]rec, len(tf.TraceEvents))
	for i, e := range tf.TraceEvents {
		r := rec{ph: e.Ph, tid: e.Tid, ts: int64(e.Ts*1000 + 0.5), name: e.Name, cname: e.Cname, cat: e.Cat, args: e.Args, id: e.ID}
		if e.Dur != nil {
			r.dur = int64(*e.Dur*1000 + 0.5)
		}
		recs[i] = r
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			cw := &writer{w: bufio.NewWriterSize(io.Discard, 1<<16), max: -1, first: true}
			for _, r := range recs {
				switch r.ph {
				case "X":
					cw.slice(r.tid, r.ts, r.ts+r.dur, r.name, r.cname, r.cat, r.args)
				case "i":
					cw.instant(r.tid, r.ts, r.name, r.cat, r.args)
				case "s", "f":
					cw.flow(r.ph, r.tid, r.ts, r.id)
				case "M":
					cw.meta(r.tid, r.name, "x")
				}
			}
			cw.w.Flush()
		}
		b.ReportMetric(float64(len(recs)), "traceevents/op")
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			bw := bufio.NewWriterSize(io.Discard, 1<<16)
			enc := json.NewEncoder(bw)
			for j := range tf.TraceEvents {
				if err := enc.Encode(&tf.TraceEvents[j]); err != nil {
					b.Fatal(err)
				}
			}
			bw.Flush()
		}
		b.ReportMetric(float64(len(tf.TraceEvents)), "traceevents/op")
	})
}

// The timeline of a real native log (written and read back by logformat)
// has as many commits, aborts and conflicts as analyze counts in it.
func TestChromeMatchesAnalyze(t *testing.T) {
	logs := map[string][]byte{}
	for _, name := range []string{"primes-naive.stmlog", "primes-fixed.stmlog"} {
		b, err := os.ReadFile(filepath.Join("..", "report", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		logs[name] = b
	}
	for name, log := range logs {
		naive := strings.Contains(name, "naive")
		sum := analyzeLog(t, "x.stmlog", log)
		src, err := anylog.New(bytes.NewReader(log), "x.stmlog", anylog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tf, st := tlTrace(t, src, Options{Name: "x.stmlog"})
		commits := int64(tlCount(tf, "X", "commit") + tlCount(tf, "X", "inevitable"))
		aborts := int64(tlCount(tf, "X", "abort"))
		conflicts := int64(tlCount(tf, "i", "")) - int64(tlCount(tf, "i", "become inevitable"))
		if commits != sum.Commits || aborts != sum.Aborts || conflicts != sum.Conflicts || st.Conflicts != sum.Conflicts {
			t.Errorf("%s: trace has %d commits, %d aborts, %d conflicts; analyze %d, %d, %d",
				name, commits, aborts, conflicts, sum.Commits, sum.Aborts, sum.Conflicts)
		}
		if tlCount(tf, "M", "thread_name") != len(sum.Threads) {
			t.Errorf("%s: %d thread tracks, analyze saw %d threads", name, tlCount(tf, "M", "thread_name"), len(sum.Threads))
		}
		if naive && (st.Pauses == 0 || st.Flows == 0 || st.Inevitable == 0) {
			t.Errorf("%s: no pauses, flows or inevitable slices: %+v", name, st)
		}
	}
}

// PyPy-STM c8 logs draw too: the conformance sample from a real PyPy run.
func TestChromePyPyLog(t *testing.T) {
	path := filepath.Join("..", "testdata", "logs", "pypy", "conformance", "sample3.c8.log")
	src, closer, err := anylog.Open(path, anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	tf, st := tlTrace(t, src, Options{Name: "sample3.c8.log"})

	src2, closer2, err := anylog.Open(path, anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closer2.Close()
	a := analyze.New(analyze.Options{})
	if err := a.Add(src2); err != nil {
		t.Fatal(err)
	}
	sum := a.Summary()
	commits := int64(tlCount(tf, "X", "commit") + tlCount(tf, "X", "inevitable"))
	if st.SourceStats.Format != "pypy-c8" || commits == 0 || st.Conflicts != sum.Conflicts || int64(tlCount(tf, "X", "abort")) != sum.Aborts {
		t.Errorf("format %q: %d committed slices (analyze %d commits), %d aborts (analyze %d), %d conflicts (analyze %d)",
			st.SourceStats.Format, commits, sum.Commits, tlCount(tf, "X", "abort"), sum.Aborts, st.Conflicts, sum.Conflicts)
	}
}

// tlPage loads trace.json the way a trace viewer does (fetch, JSON.parse,
// tracks from thread_name metadata) and renders what it found into the DOM.
// The request is synchronous so the DOM is final when the load event fires,
// which is when --dump-dom prints it.
const tlPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>trace check</title></head>
<body><ul id="tracks"></ul><p id="status">loading</p>
<script>
try {
  var xhr = new XMLHttpRequest();
  xhr.open("GET", "trace.json", false);
  xhr.send();
  var trace = JSON.parse(xhr.responseText);
  var names = {}, slices = {}, bad = 0;
  trace.traceEvents.forEach(function (e) {
    if (e.ph === "M" && e.name === "thread_name") names[e.tid] = e.args.name;
    if (e.ph === "X") {
      if (typeof e.ts !== "number" || typeof e.dur !== "number") bad++;
      slices[e.tid] = (slices[e.tid] || 0) + 1;
    }
  });
  Object.keys(names).sort(function (a, b) { return a - b; }).forEach(function (tid) {
    var li = document.createElement("li");
    li.textContent = "track " + names[tid] + ": " + (slices[tid] || 0) + " slices";
    document.getElementById("tracks").appendChild(li);
  });
  document.getElementById("status").textContent = bad ? "bad slices: " + bad : "parsed " + trace.traceEvents.length + " events";
} catch (err) {
  document.getElementById("status").textContent = "error: " + err;
}
</script></body></html>`

// The trace loads in a real browser: headless Chromium fetches and parses it
// and lists its tracks. Skipped without Chromium unless STMLOG_BROWSER_TEST=1
// (CI), where a missing browser is a failure. $CHROMIUM names another
// browser binary.
func TestChromeTraceInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		chromium, err = "/usr/bin/chromium", nil
		if _, serr := os.Stat(chromium); serr != nil {
			err = serr
		}
	}
	if c := os.Getenv("CHROMIUM"); c != "" { // as for the web UI's browser test
		chromium, err = exec.LookPath(c)
	}
	if err != nil {
		if os.Getenv("STMLOG_BROWSER_TEST") == "1" {
			t.Fatalf("STMLOG_BROWSER_TEST=1 but chromium is not installed (apt-get install chromium): %v", err)
		}
		t.Skip("chromium not installed; set STMLOG_BROWSER_TEST=1 to require it")
	}
	log, err := os.ReadFile(filepath.Join("..", "report", "testdata", "primes-naive.stmlog"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := anylog.New(bytes.NewReader(log), "naive.stmlog", anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	st, err := Write(&trace, src, Options{Name: "naive.stmlog"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, tlPage)
	})
	mux.HandleFunc("/trace.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(trace.Bytes())
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", srv.URL+"/")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	page := string(dom)
	want := []string{fmt.Sprintf(`<p id="status">parsed %d events</p>`, st.TraceEvents)}
	for th := 1; th <= 13; th++ {
		want = append(want, fmt.Sprintf("track thread %d: ", th))
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("rendered page lacks %q:\n%s", w, page)
		}
	}
}

// FuzzChromeTrace feeds arbitrary event sequences (any kind on any thread,
// times going back and forth, caps and windows) and checks that the trace
// is always well formed: valid JSON, slices nest, flows come in pairs.
func FuzzChromeTrace(f *testing.F) {
	f.Add([]byte{1, 0, 10, 2, 1, 0, 5, 3, 2, 4, 3, 1, 7, 9, 0, 2, 2}, uint8(0), uint8(0))
	f.Add([]byte{1, 0, 0, 5, 1, 0, 4, 1, 200, 6, 0, 3, 3, 0, 1, 7, 2, 1, 9, 1, 1, 10, 0, 0}, uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, maxEvents, window uint8) {
		evs := fuzzEvents(data)
		opt := Options{MaxEvents: int(maxEvents)}
		if maxEvents == 0 {
			opt.MaxEvents = -1
		}
		if window%3 == 1 {
			opt.From, opt.To = 500*time.Nanosecond, 2000*time.Nanosecond
		} else if window%3 == 2 {
			opt.Threads = []uint32{1, 3}
		}
		var buf bytes.Buffer
		st, err := Write(&buf, &logtest.Source{Events: evs, Stacks: tlStacks}, opt)
		if err != nil {
			t.Fatal(err)
		}
		tf, err := tlValidateTrace(buf.Bytes())
		if err != nil {
			t.Fatalf("%v\n%s", err, tlHead(buf.Bytes()))
		}
		if int64(len(tf.TraceEvents)) != st.TraceEvents || (opt.MaxEvents > 0 && st.TraceEvents > int64(opt.MaxEvents)) {
			t.Fatalf("%d events, stats %d, cap %d", len(tf.TraceEvents), st.TraceEvents, opt.MaxEvents)
		}
	})
}

// fuzzEvents turns fuzz input into an event sequence: any kind on any of
// four threads, times going back and forth, conflicts with any other
// thread (none, itself, one that never appears).
func fuzzEvents(data []byte) []logformat.Event {
	var evs []logformat.Event
	tm := int64(1000)
	for i := 0; i+2 < len(data); i += 3 {
		k := logformat.Kind(data[i]%uint8(logformat.KindGCMajorDone) + 1)
		th := uint32(data[i+1]%4 + 1)
		tm += int64(int8(data[i+2])) * 10 // may go backwards
		e := logformat.Event{Time: tm, Thread: th, Kind: k}
		switch k {
		case logformat.KindConflict:
			e.Conflict = logformat.ConflictKind(data[i+2]%3 + 1)
			e.OtherThread = uint32(data[i+2] % 5) // 0 (unknown) .. 4, may be itself
			e.Site, e.OtherSite = 1, 3
		case logformat.KindWaitStart:
			e.Reason = logformat.WaitReason(data[i+2] % 9)
		case logformat.KindTxAbort:
			e.Cause = logformat.AbortCause(data[i+2] % 6)
		}
		evs = append(evs, e)
	}
	return evs
}

// --from/--to mean what they mean for stmlog report: native log times count
// from the start of recording (time 0, the trace's own time axis), other
// formats' from their first event.
func TestChromeWindowOrigin(t *testing.T) {
	events := []logformat.Event{
		tlEv(10000, 1, tlStart), tlEv(11000, 1, tlCommit),
		tlEv(20000, 1, tlStart), tlEv(21000, 1, tlCommit),
		tlEv(30000, 1, tlStart), tlEv(31000, 1, tlCommit),
	}
	opt := Options{From: 15 * time.Microsecond, To: 25 * time.Microsecond}
	for _, tc := range []struct {
		format string
		ts     float64 // µs: the one slice kept
	}{
		{"stmlog/1", 20}, // [15µs, 25µs) of log time
		{"pypy-c8", 30},  // [25µs, 35µs): from 15µs after the first event
	} {
		tf, st := tlTrace(t, &logtest.Source{Events: events, Stat: logformat.Stats{Format: tc.format}}, opt)
		if st.Commits != 1 {
			t.Errorf("%s: %d commits in the window, want 1", tc.format, st.Commits)
			continue
		}
		if c := tlFind(t, tf, "X", "commit", 1); *c.Ts != tc.ts {
			t.Errorf("%s: kept the slice at %vµs, want %vµs", tc.format, *c.Ts, tc.ts)
		}
	}
}
