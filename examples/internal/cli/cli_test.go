package cli

import (
	"testing"
	"time"

	"github.com/stmlog/stmlog/examples/internal/workload"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		res  workload.Result
		want string
	}{
		{workload.Result{Ops: 300, Unit: "requests", Elapsed: 1500 * time.Millisecond, Attempts: 330, Txs: 300, Check: "ok"},
			"300 requests in 1.500s (200.0/s), 1.10 attempts per transaction; ok"},
		{workload.Result{Ops: 10, Unit: "items", Elapsed: time.Second, Check: "fine"},
			"10 items in 1.000s (10.0/s); fine"},
	}
	for _, tt := range tests {
		if got := Format(tt.res); got != tt.want {
			t.Errorf("Format(%+v) =\n  %s\nwant\n  %s", tt.res, got, tt.want)
		}
	}
}
