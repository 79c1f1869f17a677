package workload

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want Config
	}{
		{Config{}, Config{Workers: 2, Duration: DefaultDuration, Size: 7}},
		{Config{Workers: 3, Duration: time.Second, Size: 9, Fixed: true, Baseline: true},
			Config{Workers: 3, Duration: time.Second, Size: 9, Fixed: true, Baseline: true}},
		{Config{Workers: -1, Duration: -1, Size: -1}, Config{Workers: 2, Duration: DefaultDuration, Size: 7}},
	}
	for _, tt := range tests {
		if got := tt.in.Normalize(7); got != tt.want {
			t.Errorf("%+v.Normalize(7) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestRepeat(t *testing.T) {
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		d       time.Duration
		failAt  int // round that fails, 0 for none
		wantN   int // exact rounds, or -1 for "more than 1"
		wantErr error
	}{
		{"runs at least once", context.Background(), 0, 0, 1, nil},
		{"stops when canceled", canceled, time.Hour, 0, 1, nil},
		{"repeats until the duration", context.Background(), 20 * time.Millisecond, 0, -1, nil},
		{"stops at the first error", context.Background(), time.Hour, 3, 2, boom},
	}
	for _, tt := range tests {
		calls := 0
		var first time.Time
		var ends []time.Time
		n, elapsed, err := Repeat(tt.ctx, tt.d, func() error {
			if calls++; calls == 1 {
				first = time.Now()
			}
			time.Sleep(time.Millisecond)
			ends = append(ends, time.Now())
			if calls == tt.failAt {
				return boom
			}
			return nil
		})
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.wantErr)
		}
		if tt.wantN >= 0 && n != tt.wantN {
			t.Errorf("%s: %d rounds (%d calls), want %d", tt.name, n, calls, tt.wantN)
		}
		if elapsed <= 0 || (tt.d > 0 && tt.d < time.Hour && elapsed < tt.d) {
			t.Errorf("%s: elapsed %v", tt.name, elapsed)
		}
		// A loaded machine may stretch a 1 ms sleep past d, so the rounds'
		// count is not fixed; what is: no round but the last began after d
		// had passed (the first began after Repeat's clock started).
		if tt.wantN < 0 && n >= 2 && ends[n-2].Sub(first) >= tt.d {
			t.Errorf("%s: round %d began %v after the first, past %v", tt.name, n, ends[n-2].Sub(first), tt.d)
		}
	}
}

func TestOpsPerSec(t *testing.T) {
	if got := (Result{Ops: 50, Elapsed: 2 * time.Second}).OpsPerSec(); got != 25 {
		t.Errorf("50 ops in 2s = %v/s, want 25", got)
	}
	if got := (Result{Ops: 50}).OpsPerSec(); got != 0 {
		t.Errorf("no elapsed time: %v/s, want 0", got)
	}
}
