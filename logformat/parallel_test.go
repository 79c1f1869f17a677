package logformat

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"testing"
)

// readTrace is everything a consumer can see of a read: each event with the
// answers of Offset, Stack, VarName and Aggregate right after it, then the
// error that ended reading, Stats and Meta.
type readTrace struct {
	events []Event
	seen   []string // per event: offset, stacks, var name, aggregate
	err    string
	stats  Stats
	meta   Meta
}

// traceRead reads data with opt, through NextBatch if batch, else Next.
func traceRead(data []byte, opt ReaderOptions, batch bool) (readTrace, error) {
	var tr readTrace
	r, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		return tr, err
	}
	defer r.Close()
	see := func(ev Event) {
		s := fmt.Sprintf("%d %v %v %q", r.Offset(), r.Stack(ev.Site), r.Stack(ev.OtherSite), r.VarName(ev.Var))
		if ev.Kind == KindAggregate {
			s += fmt.Sprintf(" %+v", r.Aggregate())
		}
		tr.events = append(tr.events, ev)
		tr.seen = append(tr.seen, s)
	}
	for {
		if batch {
			evs, err := r.NextBatch()
			if err != nil {
				tr.err = err.Error()
				break
			}
			// Only the last event's answers are defined: see BatchSource.
			tr.events = append(tr.events, evs[:len(evs)-1]...)
			tr.seen = append(tr.seen, make([]string, len(evs)-1)...)
			see(evs[len(evs)-1])
			continue
		}
		ev, err := r.Next()
		if err != nil {
			tr.err = err.Error()
			break
		}
		see(ev)
	}
	tr.stats, tr.meta = r.Stats(), r.Meta()
	return tr, nil
}

// sameParallel checks that reading data in parallel (Jobs 3) gives
// exactly what reading it in the calling goroutine gives, through Next and
// through NextBatch; "" if so, else what differs.
func sameParallel(data []byte, opt ReaderOptions) string {
	for _, batch := range []bool{false, true} {
		opt.Jobs = 1
		want, err := traceRead(data, opt, batch)
		for _, jobs := range []int{3} {
			opt.Jobs = jobs
			got, err2 := traceRead(data, opt, batch)
			if fmt.Sprint(err) != fmt.Sprint(err2) {
				return fmt.Sprintf("jobs %d: NewReader: %v, want %v", jobs, err2, err)
			}
			if batch {
				// Answers after the events of a batch but its last are
				// not defined, and batches are cut differently.
				keepLast(&want, &got)
			}
			if !reflect.DeepEqual(got, want) {
				return fmt.Sprintf("jobs %d (batch %v): read\n%s\nwant\n%s", jobs, batch, traceText(got), traceText(want))
			}
		}
	}
	return ""
}

// keepLast blanks the answers of events that both traces did not see last
// in a batch.
func keepLast(a, b *readTrace) {
	for i := range a.seen {
		if i >= len(b.seen) || a.seen[i] == "" || b.seen[i] == "" {
			a.seen[i] = ""
			if i < len(b.seen) {
				b.seen[i] = ""
			}
		}
	}
}

func traceText(tr readTrace) string {
	var b bytes.Buffer
	for i, ev := range tr.events {
		fmt.Fprintf(&b, "%+v %s\n", ev, tr.seen[i])
	}
	fmt.Fprintf(&b, "err %s\nstats %+v\nmeta %+v\n", tr.err, tr.stats, tr.meta)
	return b.String()
}

// sameLogs are the generated logs the readers' paths are compared on:
// several threads, few (stacks) and many flushes, one left unclosed and one
// at the profile level.
var sameLogs = []genOpts{
	{seed: 1, threads: 4, events: 1500, stacks: 20, flushes: 10},
	{seed: 2, threads: 3, events: 1000, stacks: 5, flushes: 3, noClose: true},
	{seed: 3, threads: 2, events: 1500, stacks: 8, flushes: 4, profile: true},
}

// The parallel reader on whole, cut, damaged and salvaged logs: the same as
// the sequential one (the damage tests and fuzzers check it too, through
// readAll and checkedRead).
func TestParallelSame(t *testing.T) {
	for _, o := range sameLogs {
		g := makeLog(t, o)
		spans := chunksOf(t, g.data)
		for _, salvage := range []bool{false, true} {
			opt := ReaderOptions{Name: "p.log", Salvage: salvage}
			if d := sameParallel(g.data, opt); d != "" {
				t.Fatalf("seed %d whole: %s", o.seed, d)
			}
			for ci, c := range spans {
				for _, at := range []int64{c.start + 1, (c.start + c.end) / 2} {
					if at >= int64(len(g.data)) {
						continue
					}
					data := bytes.Clone(g.data)
					data[at] ^= 0x10
					if d := sameParallel(data, opt); d != "" {
						t.Fatalf("seed %d chunk %d flipped at %d, salvage %v: %s", o.seed, ci, at, salvage, d)
					}
					if d := sameParallel(g.data[:at], opt); d != "" {
						t.Fatalf("seed %d cut at %d, salvage %v: %s", o.seed, at, salvage, d)
					}
				}
			}
		}
	}
}

// A parallel Reader closed before its end stops, and says so.
func TestParallelClose(t *testing.T) {
	g := makeLog(t, genOpts{seed: 7, threads: 4, events: 20000, stacks: 10, flushes: 20})
	r, err := NewReader(bytes.NewReader(g.data), ReaderOptions{Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := r.Next(); err != ErrClosed {
		t.Fatalf("Next after Close: %v, want ErrClosed", err)
	}
	if _, err := r.NextBatch(); err != ErrClosed {
		t.Fatalf("NextBatch after Close: %v, want ErrClosed", err)
	}
	// Read to the end, Close is a no-op.
	r, _ = NewReader(bytes.NewReader(g.data), ReaderOptions{Jobs: 3})
	for {
		if _, err := r.NextBatch(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	r.Close()
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next after EOF and Close: %v, want io.EOF", err)
	}
}
