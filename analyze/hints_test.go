package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

func frameStack(file string, line int, fn string) *logformat.Stack {
	return &logformat.Stack{Frames: []logformat.Frame{{Func: fn, File: file, Line: line}}}
}

// TestHints runs each rule of docs/hints.md on the example that triggers
// it, and the near misses that must not.
func TestHints(t *testing.T) {
	src := map[string]string{
		"server.go:251": `start := func() time.Time { tx.Inevitable(); return time.Now() }()`,
		"server.go:276": `etag = func() string { tx.Inevitable(); return ETag(body) }()`,
		"bank.go:186":   `_ = stm.Atomically(func(tx *stm.Tx) error {`,
		"io.go:10":      `fmt.Println(n)`,
		"bank.go:19":    `tx.Inevitable() // the auditor must not abort`,
	}
	text := func(f logformat.Frame) string { return src[siteName(f)] }
	twoThreads := []Thread{{ID: 1, Commits: 10}, {ID: 2, Commits: 10}}
	queue := &logformat.Stack{Frames: []logformat.Frame{
		{Func: "btree.insert", File: "/x/btree.go", Line: 90},
		{Func: "github.com/stmlog/stmlog/runtime/stm.(*Queue).runOne", File: "/x/queue.go", Line: 170},
	}}
	tests := []struct {
		name string
		s    Summary
		want string // hint ID of group 0 ("" none)
		has  string // a part of its text
	}{
		{"clock", Summary{Groups: []Group{{Kind: logformat.ConflictInevitable, Site: frameStack("/p/server.go", 251, "h"), OtherSite: frameStack("/p/server.go", 251, "h")}}},
			HintInevitableIO, "time.Now at server.go:251"},
		{"io", Summary{Groups: []Group{{Kind: logformat.ConflictInevitable, Site: frameStack("/p/server.go", 276, "f"), OtherSite: frameStack("/p/io.go", 10, "g")}}},
			HintInevitableIO, "fmt.Println at io.go:10"},
		{"pure", Summary{Groups: []Group{{Kind: logformat.ConflictInevitable, Site: frameStack("/p/server.go", 276, "f"), OtherSite: frameStack("/p/server.go", 276, "f")}}},
			HintInevitablePure, "drop tx.Inevitable()"},
		{"explicit", Summary{Groups: []Group{{Kind: logformat.ConflictInevitable, Site: frameStack("/p/bank.go", 19, "a"), OtherSite: frameStack("/p/bank.go", 19, "a")}}},
			HintInevitableExplicit, "ask as late as possible"},
		{"an element of a collection", Summary{Threads: twoThreads, Groups: []Group{{Kind: logformat.ConflictWriteRead, VarName: "accounts[0]", Site: frameStack("/p/s.go", 1, "a"), OtherSite: frameStack("/p/s.go", 2, "b"), Threads: []uint32{1}, OtherThreads: []uint32{2}}}},
			"", ""},
		{"no source", Summary{Groups: []Group{{Kind: logformat.ConflictInevitable, Site: frameStack("/p/server.go", 276, "f"), OtherSite: frameStack("/p/server.go", 276, "f")}}},
			"", ""},
		{"forced ?", Summary{Groups: []Group{
			{Kind: logformat.ConflictInevitable, Site: frameStack("/p/a.go", 3, "a"), OtherSite: nil},
			{Kind: logformat.ConflictWriteRead, Site: frameStack("/p/bank.go", 40, "t"), OtherSite: frameStack("/p/bank.go", 41, "t"), Aborts: 5}}},
			HintInevitableForced, "group #2 (bank.go:40)"},
		{"forced at Atomically", Summary{Groups: []Group{{Kind: logformat.ConflictInevitable, Site: frameStack("/p/bank.go", 186, "a"), OtherSite: frameStack("/p/bank.go", 186, "a")}}},
			HintInevitableForced, "aborted again and again"},
		{"hot var", Summary{Threads: twoThreads, Groups: []Group{{Kind: logformat.ConflictWriteRead, VarName: "stats", Site: frameStack("/p/s.go", 1, "a"), OtherSite: frameStack("/p/s.go", 2, "b"), Threads: []uint32{1}, OtherThreads: []uint32{2}}}},
			HintHotVar, "every thread writes stats"},
		{"not every thread", Summary{Threads: append(twoThreads, Thread{ID: 3, Commits: 1}), Groups: []Group{{Kind: logformat.ConflictWriteRead, VarName: "stats", Site: frameStack("/p/s.go", 1, "a"), OtherSite: frameStack("/p/s.go", 2, "b"), Threads: []uint32{1}, OtherThreads: []uint32{2}}}},
			"", ""},
		{"queue", Summary{Threads: twoThreads, Groups: []Group{{Kind: logformat.ConflictWriteWrite, Site: queue, OtherSite: queue, Threads: []uint32{1, 2}, OtherThreads: []uint32{1, 2}}}},
			HintPartition, "queued transactions on 2 threads write the same Vars at btree.go:90"},
		{"partition", Summary{Threads: twoThreads, Groups: []Group{{Kind: logformat.ConflictWriteRead, Site: frameStack("/p/astar.go", 219, "Move"), OtherSite: frameStack("/p/astar.go", 222, "Move"), Threads: []uint32{1, 2}, OtherThreads: []uint32{1, 2}}}},
			HintPartition, "transactions on 2 threads write the same Vars at astar.go:222"},
		{"batch", Summary{Threads: append(twoThreads, Thread{ID: 3, Commits: 5}), Paused: 9 * time.Second, PauseReasons: []ReasonStat{{Reason: logformat.WaitRetry, Time: 8 * time.Second}},
			Groups: []Group{{Kind: logformat.ConflictWriteWrite, VarName: "items put", Site: frameStack("/p/pc.go", 54, "Put"), OtherSite: frameStack("/p/pc.go", 54, "Put"), Threads: []uint32{1, 2}, OtherThreads: []uint32{1, 2}}}},
			HintBatchHandoff, "several threads take turns writing items put"},
		{"named, not every thread, no Retry", Summary{Threads: append(twoThreads, Thread{ID: 3, Commits: 5}),
			Groups: []Group{{Kind: logformat.ConflictWriteWrite, VarName: "items put", Site: frameStack("/p/pc.go", 54, "Put"), OtherSite: frameStack("/p/pc.go", 54, "Put"), Threads: []uint32{1, 2}, OtherThreads: []uint32{1, 2}}}},
			"", ""},
		{"long reader", Summary{Threads: append(twoThreads, Thread{ID: 3, Commits: 1}), Commits: 100, Committed: 100 * time.Microsecond,
			Groups: []Group{{Kind: logformat.ConflictWriteRead, Site: frameStack("/p/bank.go", 80, "audit"), OtherSite: frameStack("/p/bank.go", 60, "transfer"), Aborts: 10, Aborted: 10 * time.Millisecond, Threads: []uint32{3}, OtherThreads: []uint32{1}}}},
			HintLongReader, "long transaction at bank.go:80"},
		{"short reader", Summary{Threads: append(twoThreads, Thread{ID: 3, Commits: 1}), Commits: 100, Committed: 100 * time.Millisecond,
			Groups: []Group{{Kind: logformat.ConflictWriteRead, Site: frameStack("/p/bank.go", 80, "audit"), OtherSite: frameStack("/p/bank.go", 60, "transfer"), Aborts: 10, Aborted: time.Millisecond, Threads: []uint32{3}, OtherThreads: []uint32{1}}}},
			"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lt := text
			if tc.name == "no source" {
				lt = nil
			}
			hs, _ := Hints(&tc.s, lt)
			if len(hs) != len(tc.s.Groups) {
				t.Fatalf("%d hints for %d groups", len(hs), len(tc.s.Groups))
			}
			if hs[0].ID != tc.want || !strings.Contains(hs[0].Text, tc.has) {
				t.Errorf("hint %+v, want id %q with %q", hs[0], tc.want, tc.has)
			}
		})
	}
}

func TestRunHintRetryWaits(t *testing.T) {
	s := Summary{Paused: 9 * time.Second, Aborted: time.Second,
		PauseReasons: []ReasonStat{{Reason: logformat.WaitRetry, Time: 8 * time.Second}, {Reason: logformat.WaitInevitable, Time: time.Second}}}
	_, run := Hints(&s, nil)
	if run.ID != HintRetryWaits || !strings.Contains(run.Text, "80%") {
		t.Errorf("run hint %+v", run)
	}
	s.PauseReasons[0].Time = 4 * time.Second
	if _, run := Hints(&s, nil); run.ID != "" {
		t.Errorf("Retry waits under half the lost time got %+v", run)
	}
}
