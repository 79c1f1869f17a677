// Package mandelbrot computes the Mandelbrot set divided in horizontal bands,
// one transaction per band, as in the seed's "mandelbrot divided in 16-18
// bands" benchmark (PyPy-STM: 27.5 s with one thread, 8.71 s with four).
//
// Bands share nothing: each transaction computes its rows and stores them in
// its own stm.Var, so there are no conflicts and the work scales with the
// workers. It is the example that shows what STM costs when it is not in the
// way. The baseline hands band numbers to goroutines over a channel and
// writes into one shared slice.
package mandelbrot

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// DefaultSize is the image side in pixels for `stmlog demo mandelbrot`.
const DefaultSize = 256

// Image describes the picture: Size x Size pixels of the plane
// [-2, 1] x [-1.5, 1.5], MaxIter iterations at most, split in Bands bands.
type Image struct {
	Size, MaxIter, Bands int
}

// NewImage returns the image of side size with the seed's band count.
func NewImage(size int) Image { return Image{Size: size, MaxIter: 200, Bands: 16} }

// bandRows returns the rows [lo, hi) of band b; the bands cover all rows.
func (im Image) bandRows(b int) (lo, hi int) {
	return b * im.Size / im.Bands, (b + 1) * im.Size / im.Bands
}

// Band computes the escape counts of the rows of band b, row after row.
func (im Image) Band(b int) []uint16 {
	lo, hi := im.bandRows(b)
	out := make([]uint16, 0, (hi-lo)*im.Size)
	for y := lo; y < hi; y++ {
		ci := -1.5 + 3*float64(y)/float64(im.Size)
		for x := 0; x < im.Size; x++ {
			cr := -2 + 3*float64(x)/float64(im.Size)
			out = append(out, escape(cr, ci, im.MaxIter))
		}
	}
	return out
}

func escape(cr, ci float64, maxIter int) uint16 {
	zr, zi := 0.0, 0.0
	n := 0
	for ; n < maxIter && zr*zr+zi*zi <= 4; n++ {
		zr, zi = zr*zr-zi*zi+cr, 2*zr*zi+ci
	}
	return uint16(n)
}

// checksum is FNV-1a over the counts of all bands in order, so that a band
// computed twice, lost, or stored in the wrong place changes it.
func checksum(bands [][]uint16) uint64 {
	h := fnv.New64a()
	var buf [2]byte
	for _, band := range bands {
		for _, c := range band {
			buf[0], buf[1] = byte(c), byte(c>>8)
			h.Write(buf[:])
		}
	}
	return h.Sum64()
}

// Sequential computes the image on the calling goroutine; it is the
// reference the parallel versions are checked against.
func (im Image) Sequential() uint64 {
	bands := make([][]uint16, im.Bands)
	for b := range bands {
		bands[b] = im.Band(b)
	}
	return checksum(bands)
}

// STM computes the image with one transaction per band run by a stm.Queue of
// workers, and returns its checksum. attempts, if not nil, counts executions
// of the band transactions.
func (im Image) STM(workers int, attempts *workload.Counter) (uint64, error) {
	vars := make([]*stm.Var[[]uint16], im.Bands)
	q := stm.NewQueue()
	for b := range vars {
		vars[b] = stm.NewVar[[]uint16](nil)
		v := vars[b]
		q.Add(func(tx *stm.Tx) error {
			if attempts != nil {
				attempts.Inc()
			}
			v.Store(tx, im.Band(b))
			return nil
		})
	}
	if err := q.Run(workers); err != nil {
		return 0, err
	}
	bands := make([][]uint16, im.Bands)
	for b, v := range vars {
		bands[b] = v.Peek()
	}
	return checksum(bands), nil
}

// Channels is the baseline: workers take band numbers from a channel and
// write their rows into one slice (disjoint parts, so no lock is needed).
func (im Image) Channels(workers int) uint64 {
	bands := make([][]uint16, im.Bands)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range next {
				bands[b] = im.Band(b)
			}
		})
	}
	for b := range bands {
		next <- b
	}
	close(next)
	wg.Wait()
	return checksum(bands)
}

// Run computes the image again and again for cfg.Duration and checks every
// checksum against the sequential one. Ops counts bands.
func Run(ctx context.Context, cfg workload.Config) (workload.Result, error) {
	cfg = cfg.Normalize(DefaultSize)
	im := NewImage(cfg.Size)
	want := im.Sequential()
	var attempts workload.Counter
	rounds, elapsed, err := workload.Repeat(ctx, cfg.Duration, func() error {
		var got uint64
		if cfg.Baseline {
			got = im.Channels(cfg.Workers)
		} else {
			var err error
			if got, err = im.STM(cfg.Workers, &attempts); err != nil {
				return err
			}
		}
		if got != want {
			return fmt.Errorf("mandelbrot: checksum %#x, sequential computation gives %#x", got, want)
		}
		return nil
	})
	res := workload.Result{
		Ops:      int64(rounds * im.Bands),
		Unit:     "bands",
		Elapsed:  elapsed,
		Attempts: attempts.Load(),
		Check:    fmt.Sprintf("checksum %#016x = sequential, %d images", want, rounds),
	}
	if !cfg.Baseline {
		res.Txs = res.Ops
	}
	return res, err
}
