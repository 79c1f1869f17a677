package pypy_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/stmlog/stmlog/internal/pypygen/pypybench"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// BenchmarkPyPyScanner: the zero-allocation record scanner alone.
func BenchmarkPyPyScanner(b *testing.B) { pypybench.Scan(b, pypybench.Log(), 0) }

// BenchmarkPyPyScannerBatch: the same through NextBatch, 256 at a time.
func BenchmarkPyPyScannerBatch(b *testing.B) { pypybench.Scan(b, pypybench.Log(), 256) }

// BenchmarkPyPyScannerNaive is the obvious alternative: bufio.Reader,
// binary.Read of the header struct and a fresh slice per marker.
func BenchmarkPyPyScannerNaive(b *testing.B) {
	data := pypybench.Log()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	cpu0 := pypybench.CPUSeconds()
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
	if n != pypybench.LogRecords() {
		b.Fatalf("%d records, want %d", n, pypybench.LogRecords())
	}
	pypybench.Report(b, n, cpu0)
}

// BenchmarkPyPyReader: records mapped to logformat events.
func BenchmarkPyPyReader(b *testing.B) {
	data := pypybench.Log()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	cpu0 := pypybench.CPUSeconds()
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
	pypybench.Report(b, n, cpu0)
}
