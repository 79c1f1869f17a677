package logformat

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// The benchmarks compare the native format with the obvious alternatives in
// the same run: fixed-size binary records (hand-coded with
// encoding/binary.LittleEndian, the fast way; and binary.Write, the easy
// way) and encoding/gob. All write to / read from memory, so they measure
// encoding, not I/O.

const benchEvents = 100_000

// benchWorkload is a recorder-like event stream: 8 threads, mostly
// start/commit pairs, some conflicts with aborts or waits, times a few
// hundred nanoseconds apart.
func benchWorkload() []Event {
	rng := rand.New(rand.NewPCG(1, 2))
	evs := make([]Event, 0, benchEvents)
	var now [9]int64
	for len(evs) < benchEvents {
		th := uint32(1 + rng.IntN(8))
		add := func(ev Event) {
			now[th] += 50 + rng.Int64N(2000)
			ev.Time, ev.Thread = now[th], th
			evs = append(evs, ev)
		}
		add(Event{Kind: KindTxStart})
		switch rng.IntN(10) {
		case 0:
			add(Event{Kind: KindConflict, Conflict: ConflictWriteWrite, OtherThread: uint32(1 + rng.IntN(8)),
				Var: uint64(rng.IntN(1000)), Site: StackID(1 + rng.IntN(20)), OtherSite: StackID(1 + rng.IntN(20))})
			add(Event{Kind: KindTxAbort, Cause: AbortConflict})
		case 1:
			add(Event{Kind: KindWaitStart, Reason: WaitInevitable})
			add(Event{Kind: KindWaitDone, Reason: WaitInevitable})
			add(Event{Kind: KindTxCommit})
		default:
			add(Event{Kind: KindTxCommit})
		}
	}
	return evs[:benchEvents]
}

// benchStacks registers the 20 stacks the workload refers to.
func benchStacks(w *Writer) {
	for i := 0; i < 20; i++ {
		w.Stack(Stack{Frames: []Frame{
			{Func: "main.f", File: "/src/main.go", Line: 10 + i},
			{Func: "main.worker", File: "/src/main.go", Line: 5},
		}})
	}
}

// encoders, one per format: each returns a function that writes one event.
type benchFormat struct {
	name   string
	writer func(io.Writer) (write func(Event) error, done func() error)
	read   func([]byte) (int, error) // reads a whole log, returns the event count
}

var benchFormats = []benchFormat{
	{
		name: "native",
		writer: func(out io.Writer) (func(Event) error, func() error) {
			w, _ := NewWriter(out)
			benchStacks(w)
			return func(ev Event) error { return w.Write(&ev) }, w.Close
		},
		read: func(data []byte) (int, error) {
			r, err := NewReader(bytes.NewReader(data), ReaderOptions{})
			if err != nil {
				return 0, err
			}
			n := 0
			for {
				_, err := r.Next()
				if err == io.EOF {
					return n, nil
				}
				if err != nil {
					return n, err
				}
				n++
			}
		},
	},
	{
		name: "fixed-binary",
		writer: func(out io.Writer) (func(Event) error, func() error) {
			bw := bufio.NewWriter(out)
			var rec [fixedSize]byte
			return func(ev Event) error {
				putFixed(&rec, &ev)
				_, err := bw.Write(rec[:])
				return err
			}, bw.Flush
		},
		read: func(data []byte) (int, error) {
			br := bufio.NewReader(bytes.NewReader(data))
			var rec [fixedSize]byte
			n := 0
			for {
				if _, err := io.ReadFull(br, rec[:]); err != nil {
					if err == io.EOF {
						return n, nil
					}
					return n, err
				}
				ev := getFixed(&rec)
				if !ev.Kind.Valid() {
					return n, io.ErrUnexpectedEOF
				}
				n++
			}
		},
	},
	{
		name: "binary.Write",
		writer: func(out io.Writer) (func(Event) error, func() error) {
			bw := bufio.NewWriter(out)
			return func(ev Event) error {
				return binary.Write(bw, binary.LittleEndian, ev)
			}, bw.Flush
		},
		read: func(data []byte) (int, error) {
			br := bufio.NewReader(bytes.NewReader(data))
			n := 0
			for {
				var ev Event
				if err := binary.Read(br, binary.LittleEndian, &ev); err != nil {
					if err == io.EOF {
						return n, nil
					}
					return n, err
				}
				n++
			}
		},
	},
	{
		name: "gob",
		writer: func(out io.Writer) (func(Event) error, func() error) {
			bw := bufio.NewWriter(out)
			enc := gob.NewEncoder(bw)
			return func(ev Event) error { return enc.Encode(&ev) }, bw.Flush
		},
		read: func(data []byte) (int, error) {
			dec := gob.NewDecoder(bufio.NewReader(bytes.NewReader(data)))
			n := 0
			for {
				var ev Event
				if err := dec.Decode(&ev); err != nil {
					if err == io.EOF {
						return n, nil
					}
					return n, err
				}
				n++
			}
		},
	},
}

const fixedSize = 40

func putFixed(b *[fixedSize]byte, ev *Event) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(ev.Time))
	le.PutUint32(b[8:], ev.Thread)
	b[12], b[13], b[14], b[15] = byte(ev.Kind), byte(ev.Conflict), byte(ev.Cause), byte(ev.Reason)
	le.PutUint32(b[16:], ev.OtherThread)
	le.PutUint64(b[20:], ev.Var)
	le.PutUint32(b[28:], uint32(ev.Site))
	le.PutUint32(b[32:], uint32(ev.OtherSite))
}

func getFixed(b *[fixedSize]byte) Event {
	le := binary.LittleEndian
	return Event{
		Time: int64(le.Uint64(b[0:])), Thread: le.Uint32(b[8:]),
		Kind: Kind(b[12]), Conflict: ConflictKind(b[13]), Cause: AbortCause(b[14]), Reason: WaitReason(b[15]),
		OtherThread: le.Uint32(b[16:]), Var: le.Uint64(b[20:]), Site: StackID(le.Uint32(b[28:])), OtherSite: StackID(le.Uint32(b[32:])),
	}
}

// reportCPU reports the process CPU time per event since cpu0 (see
// processCPUTime), as cpu-ns/event.
func reportCPU(b *testing.B, cpu0 time.Duration, events int) {
	if cpu0 == 0 || events == 0 {
		return
	}
	b.ReportMetric(float64(processCPUTime()-cpu0)/float64(events), "cpu-ns/event")
}

// countingDiscard counts bytes written, for the bytes/event metric.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkWriter: one op is one event written (ns/event, allocs/event).
func BenchmarkWriter(b *testing.B) {
	evs := benchWorkload()
	var span int64 // shift for each pass, so per-thread time keeps growing
	for _, ev := range evs {
		span = max(span, ev.Time+1)
	}
	// loop-only measures the harness itself (copying and shifting the event,
	// the indirect call), to subtract from the others.
	loopOnly := benchFormat{name: "loop-only", writer: func(io.Writer) (func(Event) error, func() error) {
		var sink int64
		return func(ev Event) error { sink += ev.Time; return nil }, func() error { _ = sink; return nil }
	}}
	for _, f := range append([]benchFormat{loopOnly}, benchFormats...) {
		b.Run(f.name, func(b *testing.B) {
			out := &countingDiscard{}
			write, done := f.writer(out)
			b.ReportAllocs()
			i, pass := 0, int64(0)
			cpu0 := processCPUTime()
			for b.Loop() {
				ev := evs[i]
				ev.Time += pass * span
				if err := write(ev); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(evs) {
					i, pass = 0, pass+1
				}
			}
			if err := done(); err != nil {
				b.Fatal(err)
			}
			reportCPU(b, cpu0, b.N)
			b.ReportMetric(float64(out.n)/float64(b.N), "bytes/event")
		})
	}
}

// BenchmarkReader: one op is reading a whole log of benchEvents events;
// MB/s is input bytes, events/s the decoding rate.
func BenchmarkReader(b *testing.B) {
	evs := benchWorkload()
	for _, f := range benchFormats {
		b.Run(f.name, func(b *testing.B) {
			var buf bytes.Buffer
			write, done := f.writer(&buf)
			for _, ev := range evs {
				if err := write(ev); err != nil {
					b.Fatal(err)
				}
			}
			if err := done(); err != nil {
				b.Fatal(err)
			}
			data := buf.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := processCPUTime()
			for b.Loop() {
				n, err := f.read(data)
				if err != nil || n != len(evs) {
					b.Fatalf("read %d events (%v), want %d", n, err, len(evs))
				}
			}
			b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			reportCPU(b, cpu0, len(evs)*b.N)
			b.ReportMetric(float64(len(data))/float64(len(evs)), "bytes/event")
		})
	}
}
