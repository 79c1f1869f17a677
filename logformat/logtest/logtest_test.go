package logtest

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	lf "github.com/stmlog/stmlog/logformat"
)

// Encode writes what the Source holds: read back, the log has each
// thread's events in order, naming stacks of the same content, and the
// Vars' names.
func TestEncode(t *testing.T) {
	src := &Source{
		Stacks: map[lf.StackID]*lf.Stack{7: Stack(Frame("main.a", "a.go", 3)), 9: Label("marker")},
		Vars:   map[uint64]string{4: "hits"},
		Events: []lf.Event{
			Start(0, 1), Start(1, 2),
			Conflict(5, 1, lf.ConflictWriteWrite, 7, 9, 2, 4),
			Abort(6, 1, lf.AbortConflict), Commit(8, 2),
			Inevitable(9, 2, 7),
		},
	}
	var buf bytes.Buffer
	if err := src.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := lf.NewReader(&buf, lf.ReaderOptions{Name: "t.log"})
	if err != nil {
		t.Fatal(err)
	}
	// Sites as their stacks' content, so that ids do not matter.
	type ev struct {
		lf.Event
		site, other *lf.Stack
	}
	strip := func(e lf.Event, stack func(lf.StackID) *lf.Stack) ev {
		x := ev{e, stack(e.Site), stack(e.OtherSite)}
		x.Site, x.OtherSite = 0, 0
		return x
	}
	want, got := map[uint32][]ev{}, map[uint32][]ev{}
	for _, e := range src.Events {
		want[e.Thread] = append(want[e.Thread], strip(e, src.Stack))
	}
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[e.Thread] = append(got[e.Thread], strip(e, r.Stack))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read\n%+v\nwant\n%+v", got, want)
	}
	if r.VarName(4) != "hits" || !r.Stats().CleanEnd {
		t.Errorf("var 4 %q, stats %+v", r.VarName(4), r.Stats())
	}
}
