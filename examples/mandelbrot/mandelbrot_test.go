package mandelbrot

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stmlog/stmlog/examples/internal/benchmode"
	"github.com/stmlog/stmlog/examples/internal/workload"
)

func TestBandsCoverImage(t *testing.T) {
	for _, size := range []int{1, 15, 16, 17, 100} {
		im := NewImage(size)
		n := 0
		for b := range im.Bands {
			n += len(im.Band(b))
		}
		if n != size*size {
			t.Errorf("size %d: bands hold %d pixels, want %d", size, n, size*size)
		}
	}
}

func TestParallelMatchesSequential(t *testing.T) {
	for _, size := range []int{16, 48, 100} {
		im := NewImage(size)
		want := im.Sequential()
		for _, workers := range []int{1, 2, 4} {
			var attempts workload.Counter
			got, err := im.STM(workers, &attempts)
			if err != nil {
				t.Fatalf("size %d, %d workers: %v", size, workers, err)
			}
			if got != want {
				t.Errorf("size %d, %d workers: STM checksum %#x, sequential %#x", size, workers, got, want)
			}
			// Bands share nothing, so no band is ever re-run.
			if attempts.Load() != int64(im.Bands) {
				t.Errorf("size %d, %d workers: %d attempts for %d bands", size, workers, attempts.Load(), im.Bands)
			}
			if got := im.Channels(workers); got != want {
				t.Errorf("size %d, %d workers: channel checksum %#x, sequential %#x", size, workers, got, want)
			}
		}
	}
}

func TestChecksumDependsOnEveryBand(t *testing.T) {
	im := NewImage(64)
	bands := make([][]uint16, im.Bands)
	for b := range bands {
		bands[b] = im.Band(b)
	}
	base := checksum(bands)
	bands[3], bands[4] = bands[4], bands[3]
	if checksum(bands) == base {
		t.Error("swapping two bands does not change the checksum")
	}
	if im.Sequential() == NewImage(65).Sequential() {
		t.Error("images of different sizes have the same checksum")
	}
}

func TestRun(t *testing.T) {
	for _, baseline := range []bool{false, true} {
		res, err := Run(context.Background(), workload.Config{Workers: 2, Duration: 50 * time.Millisecond, Size: 48, Baseline: baseline})
		if err != nil {
			t.Fatalf("baseline=%v: %v", baseline, err)
		}
		if res.Ops == 0 || res.Ops%16 != 0 {
			t.Errorf("baseline=%v: %d bands, want a positive multiple of 16", baseline, res.Ops)
		}
		if !baseline && res.Attempts != res.Ops {
			t.Errorf("%d attempts for %d band transactions", res.Attempts, res.Ops)
		}
	}
}

// BenchmarkMandelbrot: one op is one 128x128 image in 16 bands.
func BenchmarkMandelbrot(b *testing.B) {
	im := NewImage(128)
	want := im.Sequential()
	for _, m := range benchmode.Modes {
		for _, w := range benchmode.Workers {
			b.Run(fmt.Sprintf("%s/workers=%d", m.Name, w), func(b *testing.B) {
				m.Start(b)
				cpu := benchmode.StartCPU()
				for b.Loop() {
					var got uint64
					if m.STM {
						var err error
						if got, err = im.STM(w, nil); err != nil {
							b.Fatal(err)
						}
					} else {
						got = im.Channels(w)
					}
					if got != want {
						b.Fatalf("checksum %#x, want %#x", got, want)
					}
				}
				cpu.Report(b)
			})
		}
	}
}
