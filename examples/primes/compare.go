package primes

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/stmlog/stmlog/examples/internal/workload"
)

// Versions are the three servers Compare measures, in column order.
var Versions = []struct {
	Name string
	Opt  Options
}{
	{"naive", Options{}},
	{"fixed", Options{Fixed: true}},
	{"baseline", Options{Baseline: true}},
}

// Compare measures requests per second of every version at 1, 2 and 4
// workers, each for d, and writes the table to w: the seed's table (PyPy
// 14.4 req/s; PyPy-STM 9.3, 16.4, 20.4, 24.2 at 1-4 threads) for this
// server. It returns the figures by version name, one per worker count.
func Compare(ctx context.Context, d time.Duration, size int, w io.Writer) (map[string][]float64, error) {
	workers := []int{1, 2, 4}
	out := map[string][]float64{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "workers\t")
	for _, v := range Versions {
		fmt.Fprintf(tw, "%s req/s\t", v.Name)
	}
	fmt.Fprintln(tw, "fixed/naive\tfixed/baseline\t")
	for _, n := range workers {
		fmt.Fprintf(tw, "%d\t", n)
		for _, v := range Versions {
			res, err := Run(ctx, workload.Config{Workers: n, Duration: d, Size: size, Fixed: v.Opt.Fixed, Baseline: v.Opt.Baseline})
			if err != nil {
				return out, err
			}
			out[v.Name] = append(out[v.Name], res.OpsPerSec())
			fmt.Fprintf(tw, "%.1f\t", res.OpsPerSec())
		}
		last := len(out["naive"]) - 1
		fmt.Fprintf(tw, "%.2fx\t%.2fx\t\n", out["fixed"][last]/out["naive"][last], out["fixed"][last]/out["baseline"][last])
	}
	return out, tw.Flush()
}
