package analyze

import (
	"bytes"
	"reflect"
	"testing"

	lf "github.com/stmlog/stmlog/logformat"
)

// eventsOnly is a Reader without its batches: a Schedule reading it takes
// event for every event, past its Limit too.
type eventsOnly struct{ r *lf.Reader }

func (e eventsOnly) Next() (lf.Event, error)       { return e.r.Next() }
func (e eventsOnly) Stack(id lf.StackID) *lf.Stack { return e.r.Stack(id) }
func (e eventsOnly) VarName(id uint64) string      { return e.r.VarName(id) }
func (e eventsOnly) Offset() int64                 { return e.r.Offset() }
func (e eventsOnly) Stats() lf.Stats               { return e.r.Stats() }
func (e eventsOnly) Meta() lf.Meta                 { return e.r.Meta() }
func (e eventsOnly) Aggregate() lf.Aggregate       { return e.r.Aggregate() }

// Past its Limit a Schedule reading batches takes boundEvents, which must
// keep what event keeps for the bound: the same WhatIf, for any Limit,
// from batches as from single events.
func TestScheduleLimitBatchesSame(t *testing.T) {
	for name, data := range testLogs(t) {
		for _, limit := range []int{1, 5, 40, 300, 0} {
			var got [2]*WhatIf
			for i := range got {
				r, err := lf.NewReader(bytes.NewReader(data), lf.ReaderOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var src lf.Source = r
				if i == 1 {
					src = eventsOnly{r}
				}
				a := New(Options{})
				s := NewSchedule(Options{})
				s.Limit = limit
				if err := a.Add(s.Tee("log", src)); err != nil {
					t.Fatal(err)
				}
				w, err := s.WhatIf(a.Summary(), WhatIfOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got[i] = w
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Errorf("%s, Limit %d: batches %+v, events %+v", name, limit, got[0], got[1])
			}
		}
	}
}

// A schedule's segments in chunks (addSeg) give the same WhatIf, replay
// included, whatever the chunks' length.
func TestScheduleChunksSame(t *testing.T) {
	defer func(n int) { segShift = n }(segShift)
	for name, data := range testLogs(t) {
		var got [3]*WhatIf
		for i, n := range []int{30, 1, 6} {
			segShift = n
			_, got[i] = whatIfOf(t, data, WhatIfOptions{})
		}
		if !got[0].Replayed {
			t.Errorf("%s: not replayed: %s", name, got[0].Reason)
		}
		for i := 1; i < len(got); i++ {
			if !reflect.DeepEqual(got[0], got[i]) {
				t.Errorf("%s: chunks of %d: %+v, in one slice %+v", name, 1<<[]int{30, 1, 6}[i], got[i], got[0])
			}
		}
	}
}
