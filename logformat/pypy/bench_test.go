package pypy_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/stmlog/stmlog/internal/pypygen"
	"github.com/stmlog/stmlog/logformat/pypy"
)

var benchLog = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if _, err := pypygen.Write(&b, pypygen.Config{Seed: 1, Threads: 4, Records: 1_000_000}); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// records reports records per wall second and per CPU second of the
// process (cpu0 = pypyCPUSeconds() when the timed loop began).
func records(b *testing.B, n int64, cpu0 float64) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
	if cpu := pypyCPUSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/cpu/1e6, "Mrecords/cpu-s")
	}
}

// BenchmarkPyPyScanner: the zero-allocation record scanner alone.
func BenchmarkPyPyScanner(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	cpu0 := pypyCPUSeconds()
	for b.Loop() {
		sc, err := pypy.NewScanner(bytes.NewReader(data), "bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		var rec pypy.Record
		for sc.Next(&rec) == nil {
		}
		n = sc.Records()
	}
	records(b, n, cpu0)
}

// BenchmarkPyPyScannerBatch: the same through NextBatch, 256 at a time.
func BenchmarkPyPyScannerBatch(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	recs := make([]pypy.Record, 256)
	var n int64
	cpu0 := pypyCPUSeconds()
	for b.Loop() {
		sc, err := pypy.NewScanner(bytes.NewReader(data), "bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := sc.NextBatch(recs); err != nil {
				break
			}
		}
		n = sc.Records()
	}
	records(b, n, cpu0)
}

// BenchmarkPyPyScannerNaive is the obvious alternative: bufio.Reader,
// binary.Read of the header struct and a fresh slice per marker.
func BenchmarkPyPyScannerNaive(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	cpu0 := pypyCPUSeconds()
	for b.Loop() {
		n = 0
		br := bufio.NewReader(bytes.NewReader(data))
		br.Discard(pypy.HeaderSize)
		var h struct {
			Sec, Nsec, Thread uint32
			Event, Len        uint8
		}
		for {
			if err := binary.Read(br, binary.LittleEndian, &h); err != nil {
				break
			}
			m := make([]byte, h.Len)
			if _, err := io.ReadFull(br, m); err != nil {
				break
			}
			n++
		}
	}
	records(b, n, cpu0)
}

// BenchmarkPyPyReader: records mapped to logformat events.
func BenchmarkPyPyReader(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	cpu0 := pypyCPUSeconds()
	for b.Loop() {
		rd, err := pypy.NewReader(bytes.NewReader(data), pypy.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := rd.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
		}
		n = rd.Stats().Chunks
	}
	records(b, n, cpu0)
}
