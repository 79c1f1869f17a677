package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/analyze"
)

// EmptyReason words the facts of an EmptyError as the command prints them.
func TestEmptyReason(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *analyze.Summary
		want string
	}{
		{"no events", &analyze.Summary{Logs: []analyze.Log{{Name: "a"}}}, "the log holds no events"},
		{"thread", &analyze.Summary{Options: analyze.Options{Thread: 7}, Logs: []analyze.Log{{Events: 9}}}, "thread 7 is not in the log"},
		{"window", &analyze.Summary{Options: analyze.Options{From: 5 * time.Second}, Logs: []analyze.Log{{Events: 9, Span: time.Second}}},
			"no transactions from 5.000s to the end after the start (the log spans 1.000s)"},
	} {
		_, err := analyze.CheckFailOver(tc.s, "lost=0%,lost=0s")
		var e *analyze.EmptyError
		if !errors.As(err, &e) || !strings.Contains(EmptyReason(e), tc.want) {
			t.Errorf("%s: err=%v, want an EmptyError saying %q", tc.name, err, tc.want)
		}
	}
}

func TestWriteFailOver(t *testing.T) {
	s := analyzeBytes(t, "naive.stmlog", syntheticLog(t, false, 1), analyze.Options{})
	c, err := analyze.CheckFailOver(s, "lost=5%,aborted=100%,paused=1%wall")
	if err != nil || !c.Failed {
		t.Fatalf("naive synthetic log passes lost=5%%: %v", err)
	}
	var b bytes.Buffer
	if err := WriteFailOver(&b, c.Results, 2); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "gate/naive.txt", b.Bytes())
	out := b.String()
	if !strings.Contains(out, "gate lost=5%: FAILED") || !strings.Contains(out, "gate aborted=100%: ok") ||
		!strings.Contains(out, "this:  server/handler.go:455 in main.(*Handler).serve") ||
		!strings.Contains(out, "... and 2 more groups") {
		t.Errorf("gate output:\n%s", out)
	}
	// The fixed server passes the same gate.
	s = analyzeBytes(t, "fixed.stmlog", syntheticLog(t, true, 1), analyze.Options{})
	if c, err := analyze.CheckFailOver(s, "lost=5%"); err != nil || c.Failed {
		t.Errorf("fixed synthetic log fails lost=5%%: %v", err)
	}
}
