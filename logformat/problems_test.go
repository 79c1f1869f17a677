package logformat

import (
	"errors"
	"slices"
	"testing"
)

func TestProblems(t *testing.T) {
	bad := errors.New("bad chunk")
	for _, tc := range []struct {
		st   Stats
		err  error
		want []string
	}{
		{Stats{Format: "stmlog/2", CleanEnd: true, Dropped: 5}, nil, nil},
		{Stats{Format: "pypy-c8"}, nil, nil},
		{Stats{Format: "stmlog/2"}, nil, []string{"no end marker: recording was not stopped cleanly (StopLog not called, or the program was killed)"}},
		{Stats{Format: "stmlog/2"}, bad, []string{"damaged"}},
		{Stats{Format: "stmlog", Bytes: 5, TruncatedBytes: 5}, nil, []string{"cut off inside its header: 5 bytes, no chunk"}},
		{Stats{Format: "stmlog/2", Bytes: 40, Chunks: 2, TruncatedBytes: 7}, nil, []string{"cut off: the last 7 bytes are an incomplete chunk (ignored)"}},
		{Stats{Format: "pypy-c7", Bytes: 90, Chunks: 4, TruncatedBytes: 3}, nil, []string{"cut off: the last 3 bytes are an incomplete record (ignored)"}},
		{Stats{Format: "stmlog/2", CleanEnd: true, Skipped: 2, SkippedBytes: 90}, nil, []string{"2 damaged chunks (90 bytes) skipped"}},
	} {
		if got := tc.st.Problems(tc.err); !slices.Equal(got, tc.want) {
			t.Errorf("%+v, %v: %q, want %q", tc.st, tc.err, got, tc.want)
		}
	}
}
