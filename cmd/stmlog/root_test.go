package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/logtest"
)

func TestIsUsage(t *testing.T) {
	base := errors.New("x")
	tests := []struct {
		err  error
		want bool
	}{
		{base, false},
		{usageError{base}, true},
		{fmt.Errorf("wrapped: %w", usageError{base}), true},
		{errors.Join(base, usageError{base}), true},
		{exitStatus{1, errors.New("x")}, false},
	}
	for i, tc := range tests {
		if got := isUsage(tc.err); got != tc.want {
			t.Errorf("%d: isUsage(%T) = %v", i, tc.err, got)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb\r\n  c  \n", "a; b; c"},
		{"  trailing\n", "trailing"},
	}
	for _, tc := range tests {
		if got := oneLine(tc.in); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// starts is a log of n transaction starts.
func starts(n int) *logtest.Source {
	evs := make([]logformat.Event, n)
	for i := range evs {
		evs[i] = logtest.Start(int64(i), 1)
	}
	return &logtest.Source{Events: evs}
}

func TestProgress(t *testing.T) {
	// Not a terminal: silent, and events pass through unchanged.
	var buf bytes.Buffer
	p := newProgress(starts(1<<19), "x.log", &buf)
	n := 0
	for {
		if _, err := p.Next(); err != nil {
			break
		}
		n++
	}
	p.done()
	if n != 1<<19 || buf.Len() != 0 {
		t.Errorf("%d events, progress output %q", n, buf.String())
	}
	// Enabled (as for a large file on a terminal): percentages, then the
	// line is cleared.
	// (logtest.Source's Offset counts events.)
	p = &progress{Source: starts(1 << 20), name: "x.log", w: &buf, size: 1 << 20, start: time.Now().Add(-time.Hour), enabled: true}
	for {
		if _, err := p.Next(); err != nil {
			break
		}
	}
	p.done()
	out := buf.String()
	if !strings.Contains(out, "\rstmlog: reading x.log: ") || !strings.Contains(out, "%") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output %q", out)
	}
}
