package analyze

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze/analyzetest"
	lf "github.com/stmlog/stmlog/logformat"
	lt "github.com/stmlog/stmlog/logformat/logtest"
)

// batchSource is a logtest.Source that also hands out its events in
// batches of random sizes (logformat.BatchSource), so the analyzer takes
// its batch path.
type batchSource struct {
	*lt.Source
	r *rand.Rand
}

func (b batchSource) NextBatch() ([]lf.Event, error) { return b.NextN(1 + b.r.IntN(50)) }

// The batch path (batch) computes what the event-at-a-time path computes,
// on random streams of every kind (bad threads, invalid kinds, times going
// back) under every option.
func TestBatchSameAsEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	stacks := map[lf.StackID]*lf.Stack{1: stack("f", 1), 2: stack("g", 2), 3: stack("h", 3)}
	for iter := range 400 {
		evs := randomStream(r, r.IntN(600), true)
		opt := randomOptions(r, iter)
		format := randomStats(iter)
		one := New(opt)
		if err := one.Add(&lt.Source{Events: evs, Stacks: stacks, Stat: format}); err != nil {
			t.Fatal(err)
		}
		batched := New(opt)
		src := batchSource{&lt.Source{Events: evs, Stacks: stacks, Stat: format}, rand.New(rand.NewPCG(uint64(iter), 1))}
		if err := batched.Add(src); err != nil {
			t.Fatal(err)
		}
		if got, want := batched.Summary(), one.Summary(); !reflect.DeepEqual(got, want) {
			t.Fatalf("iter %d: batched\n%+v\nwant\n%+v", iter, got, want)
		}
	}
}

// Reading a generated log event by event, a batch at a time and in
// parallel (ReaderOptions.Jobs) gives the same analysis.
func TestReaderPathsSameSummary(t *testing.T) {
	var buf bytes.Buffer
	if _, err := analyzetest.Generate(&buf, analyzetest.Config{Threads: 5, Tx: 3000, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{}, {By: ByThread}, {From: 100 * time.Microsecond, To: 3 * time.Millisecond}, {Thread: 2}} {
		var want *Summary
		for _, jobs := range []int{0, 1, 2, 4} {
			r, err := lf.NewReader(bytes.NewReader(buf.Bytes()), lf.ReaderOptions{Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			var src lf.Source = r
			if jobs == 0 {
				src = struct{ lf.Source }{r} // Next only
			}
			a := New(opt)
			if err := a.Add(src); err != nil {
				t.Fatal(err)
			}
			s := a.Summary()
			if want == nil {
				want = s
			} else if !reflect.DeepEqual(s, want) {
				t.Fatalf("%+v, jobs %d: summary differs from the one read event by event", opt, jobs)
			}
		}
	}
}
