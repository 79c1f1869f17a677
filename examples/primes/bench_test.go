package primes

import (
	"context"
	"fmt"
	"testing"

	"github.com/stmlog/stmlog/examples/internal/benchmode"
)

// BenchmarkServer: one op is one request for the primes up to N in
// [5000, 10000] (the seed's /10000), from 8 loopback clients; req/s is the
// seed's figure of merit.
func BenchmarkServer(b *testing.B) {
	for _, v := range []struct {
		name string
		opt  Options
		mode benchmode.Mode
	}{
		{"naive", Options{}, benchmode.Modes[0]},
		{"naive-log", Options{}, benchmode.Modes[1]},
		{"naive-full", Options{}, benchmode.Modes[3]},
		{"fixed", Options{Fixed: true}, benchmode.Modes[0]},
		{"fixed-log", Options{Fixed: true}, benchmode.Modes[1]},
		{"baseline", Options{Baseline: true}, benchmode.Modes[2]},
	} {
		for _, w := range benchmode.Workers {
			b.Run(fmt.Sprintf("%s/workers=%d", v.name, w), func(b *testing.B) {
				opt := v.opt
				opt.Workers = w
				srv := NewServer(opt)
				base, stop, err := Listen(srv)
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				defer stop()
				v.mode.Start(b)
				b.ResetTimer()
				cpu := benchmode.StartCPU()
				lr, err := Generate(context.Background(), base, Load{Concurrency: Concurrency, Requests: int64(b.N), MinN: DefaultSize / 2, MaxN: DefaultSize})
				b.StopTimer()
				cpu.Report(b)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(lr.ReqPerSec(), "req/s")
				if attempts, txs := srv.Attempts(); txs > 0 {
					b.ReportMetric(float64(attempts)/float64(txs), "attempts/tx")
				}
			})
		}
	}
}
