package logformat_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/stmlog/stmlog/logformat"
)

// Writing a log: stacks and var names first (they are written lazily, before
// the first batch that needs them), then events; Close adds the end marker.
func ExampleWriter() {
	var buf bytes.Buffer
	w, err := logformat.NewWriter(&buf)
	if err != nil {
		log.Fatal(err)
	}
	site := w.Stack(logformat.Stack{Frames: []logformat.Frame{
		{Func: "main.transfer", File: "/src/bank/main.go", Line: 54},
	}})
	w.NameVar(7, "balance")
	for _, ev := range []logformat.Event{
		{Time: 1000, Kind: logformat.KindTxStart, Thread: 1},
		{Time: 1200, Kind: logformat.KindConflict, Thread: 1, Conflict: logformat.ConflictWriteWrite,
			OtherThread: 2, Var: 7, Site: site, OtherSite: site},
		{Time: 1200, Kind: logformat.KindTxAbort, Thread: 1, Cause: logformat.AbortConflict},
	} {
		if err := w.Write(&ev); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(logformat.IsNative(buf.Bytes()), buf.Len(), "bytes")
	// Output: true 145 bytes
}

// Reading a log: Next until io.EOF, resolving stacks and var names through
// the reader; Stats says whether the log ended cleanly.
func ExampleReader() {
	var buf bytes.Buffer
	w, _ := logformat.NewWriter(&buf)
	site := w.Stack(logformat.Stack{Frames: []logformat.Frame{{Func: "main.f", File: "/src/f.go", Line: 3}}})
	w.NameVar(7, "balance")
	w.Write(&logformat.Event{Time: 5, Kind: logformat.KindConflict, Thread: 1,
		Conflict: logformat.ConflictWriteRead, OtherThread: 2, Var: 7, Site: site})
	w.Close()

	r, err := logformat.NewReader(&buf, logformat.ReaderOptions{Name: "stm.log"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err) // e.g. stm.log: byte offset 123: chunk payload checksum mismatch ...
		}
		fmt.Printf("t=%d thread %d %s %s on %s at %s\n", ev.Time, ev.Thread, ev.Kind, ev.Conflict,
			r.VarName(ev.Var), r.Stack(ev.Site).Leaf())
	}
	st := r.Stats()
	fmt.Println(st.Events, "events, clean end:", st.CleanEnd)
	// Output:
	// t=5 thread 1 conflict write-read on balance at /src/f.go:3 in main.f
	// 1 events, clean end: true
}
