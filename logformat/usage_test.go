package logformat

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// Processor-usage records go through a write and a read: Meta.Usage is
// the last one read, from the moment it is read, and a usage chunk does
// not disturb the events around it.
func TestUsageRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriterMeta(&buf, Meta{Level: LevelFull, GOMAXPROCS: 2, NumCPU: 2})
	if err != nil {
		t.Fatal(err)
	}
	first := Usage{Time: 100, ProcessCPU: 150, Idle: 30, CPUs: 2}
	last := Usage{Time: 1_000_000_000, ProcessCPU: 1_100_000_000, Idle: 300_000_000, CPUs: 2}
	w.Write(&Event{Time: 10, Kind: KindTxStart, Thread: 1})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Usage(first); err != nil {
		t.Fatal(err)
	}
	w.Write(&Event{Time: 20, Kind: KindTxCommit, Thread: 1})
	w.Flush()
	if err := w.Usage(last); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := r.Meta().Usage; u != (Usage{}) {
		t.Errorf("Usage before any record read: %+v", u)
	}
	var kinds []Kind
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, ev.Kind)
		if ev.Kind == KindTxCommit && r.Meta().Usage != first {
			t.Errorf("after the second batch: Usage %+v, want %+v", r.Meta().Usage, first)
		}
	}
	if len(kinds) != 2 || kinds[0] != KindTxStart || kinds[1] != KindTxCommit {
		t.Errorf("events %v, want start and commit", kinds)
	}
	if u := r.Meta().Usage; u != last {
		t.Errorf("at the end: Usage %+v, want %+v", u, last)
	}
	if a := last.Available(); a != 1.4 {
		t.Errorf("Available() = %v, want 1.4 (1.1 s CPU + 0.3 s idle in 1 s)", a)
	}
	if a := (Usage{Time: 5, ProcessCPU: 5}).Available(); a != 0 {
		t.Errorf("Available() without the machine's idle time = %v, want 0 (unknown)", a)
	}
	if st := r.Stats(); !st.CleanEnd || len(st.Warnings) > 0 {
		t.Errorf("stats %+v", st)
	}
}

// The writer refuses records the format cannot carry, and a reader calls
// a bad record corruption at its offset.
func TestUsageBad(t *testing.T) {
	w, _ := NewWriter(io.Discard)
	for _, u := range []Usage{{}, {Time: -1}, {Time: 1, ProcessCPU: -1}, {Time: 1, Idle: -1}, {Time: 1, CPUs: -1}} {
		if err := w.Usage(u); err == nil {
			t.Errorf("Usage(%+v) accepted", u)
		}
	}
	var buf bytes.Buffer
	w, _ = NewWriterMeta(&buf, Meta{Level: LevelFull})
	at := buf.Len()
	w.writeChunk(chunkUsage, appendUsage(nil, Usage{}), nil) // time 0
	w.Close()
	r, err := NewReader(bytes.NewReader(buf.Bytes()), ReaderOptions{Name: "bad.log"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("a usage record at time 0 read without error (%v)", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "processor usage") || !strings.Contains(msg, "bad.log") {
		t.Errorf("error %q does not name the file and the record", msg)
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != int64(at+chunkHeaderSize) {
		t.Errorf("error %v, want a CorruptError at the record, offset %d", err, at+chunkHeaderSize)
	}
}
