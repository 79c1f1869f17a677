package logformat

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stmlog/stmlog/internal/golden"
)

const goldenDir = "../testdata/logs"

// writeSmallLog writes the golden log: a scripted bank-transfer-like run on
// three threads with every event kind the Go runtime records, two flushes
// (so a thread has several batches), var names, drops and the end marker.
func writeSmallLog(w io.Writer) error {
	lw, err := NewWriter(w)
	if err != nil {
		return err
	}
	st := func(frames ...Frame) StackID { return lw.Stack(Stack{Frames: frames}) }
	worker := Frame{Func: "main.worker", File: "/src/bank/main.go", Line: 30}
	transferLoad := st(Frame{Func: "main.transfer", File: "/src/bank/main.go", Line: 51}, worker)
	transferStore := st(Frame{Func: "main.transfer", File: "/src/bank/main.go", Line: 54}, worker)
	audit := st(Frame{Func: "main.audit", File: "/src/bank/audit.go", Line: 12},
		Frame{Func: "main.auditor", File: "/src/bank/audit.go", Line: 5})
	logLine := st(Frame{Func: "main.logTransfer", File: "/src/bank/main.go", Line: 70}, worker)
	lw.NameVar(7, "accounts[0]")
	lw.NameVar(8, "accounts[1]")

	evs := []Event{
		{Time: 1000, Kind: KindTxStart, Thread: 1},
		{Time: 1010, Kind: KindTxStart, Thread: 2},
		{Time: 1200, Kind: KindTxCommit, Thread: 1},
		{Time: 1250, Kind: KindConflict, Thread: 2, Conflict: ConflictWriteWrite, OtherThread: 1, Var: 7,
			Site: transferStore, OtherSite: transferStore},
		{Time: 1250, Kind: KindTxAbort, Thread: 2, Cause: AbortConflict},
		{Time: 1260, Kind: KindWaitStart, Thread: 2, Reason: WaitBackoff},
		{Time: 1400, Kind: KindWaitDone, Thread: 2, Reason: WaitBackoff},
		{Time: 1400, Kind: KindTxStart, Thread: 2},
		{Time: 1500, Kind: KindTxStart, Thread: 3},
		{Time: 1600, Kind: KindTxCommit, Thread: 2},
		{Time: 1700, Kind: KindConflict, Thread: 3, Conflict: ConflictWriteRead, OtherThread: 2, Var: 8,
			Site: audit, OtherSite: transferLoad},
		{Time: 1700, Kind: KindTxAbort, Thread: 3, Cause: AbortConflict},
		{Time: 1710, Kind: KindTxStart, Thread: 3},
		{Time: 1800, Kind: KindTxCommit, Thread: 3},
		{Time: 2000, Kind: KindTxStart, Thread: 1},
		{Time: 2050, Kind: KindBecomeInevitable, Thread: 1, Site: logLine},
		{Time: 2060, Kind: KindTxStart, Thread: 2},
		{Time: 2070, Kind: KindConflict, Thread: 2, Conflict: ConflictInevitable, OtherThread: 1,
			Site: logLine, OtherSite: logLine},
		{Time: 2070, Kind: KindWaitStart, Thread: 2, Reason: WaitInevitable},
		{Time: 2300, Kind: KindTxCommit, Thread: 1},
		{Time: 2300, Kind: KindWaitDone, Thread: 2, Reason: WaitInevitable},
		{Time: 2310, Kind: KindBecomeInevitable, Thread: 2, Site: logLine},
		{Time: 1 << 33, Kind: KindTxCommit, Thread: 2}, // a long pause: multi-byte delta
		{Time: 1<<33 + 5, Kind: KindTxStart, Thread: 3},
		{Time: 1<<33 + 9, Kind: KindTxAbort, Thread: 3, Cause: AbortError},
	}
	for i, ev := range evs {
		if i == 10 || i == 20 {
			if err := lw.Flush(); err != nil {
				return err
			}
		}
		if i == 15 {
			lw.Dropped(3)
		}
		if err := lw.Write(&ev); err != nil {
			return err
		}
	}
	return lw.Close()
}

// dumpText renders a log as text, one event per line as stmlog dump prints
// it (DumpEvent), then the tables and stats: a reviewable picture of what
// the reader makes of a file.
func dumpText(r *Reader) (string, error) {
	var b strings.Builder
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b.String(), err
		}
		d := NewDumpEvent(r, ev)
		b.Write(d.AppendText(nil))
	}
	b.WriteString("stacks:\n")
	for id := StackID(1); r.Stack(id) != nil; id++ {
		s := r.Stack(id)
		fmt.Fprintf(&b, "  %d:", id)
		if s.Label != "" {
			fmt.Fprintf(&b, " %q", s.Label)
		}
		for _, f := range s.Frames {
			fmt.Fprintf(&b, " [%s]", f)
		}
		b.WriteByte('\n')
	}
	b.WriteString("vars:\n")
	vars := make([]uint64, 0, len(r.vars))
	for v := range r.vars {
		vars = append(vars, v)
	}
	slices.Sort(vars)
	for _, v := range vars {
		fmt.Fprintf(&b, "  %d: %s\n", v, r.VarName(v))
	}
	st := r.Stats()
	fmt.Fprintf(&b, "stats: format=%s bytes=%d chunks=%d events=%d dropped=%d clean-end=%v truncated=%d skipped=%d warnings=%q\n",
		st.Format, st.Bytes, st.Chunks, st.Events, st.Dropped, st.CleanEnd, st.TruncatedBytes, st.Skipped, st.Warnings)
	return b.String(), nil
}

// TestGolden pins the format: the writer must produce small.stmlog byte for
// byte, and the reader must read the committed file as small.events.txt says.
// Run with -update after an intended format change (and bump Version if old
// readers cannot read the new file).
func TestGolden(t *testing.T) {
	logPath := filepath.Join(goldenDir, "small.stmlog")
	txtPath := filepath.Join(goldenDir, "small.events.txt")
	var buf bytes.Buffer
	if err := writeSmallLog(&buf); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, logPath, buf.Bytes()) // the format changed on purpose? -update, and bump Version if old readers cannot read the new file
	committed, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(committed), ReaderOptions{Name: "small.stmlog"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := dumpText(r)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, txtPath, []byte(got))
}
