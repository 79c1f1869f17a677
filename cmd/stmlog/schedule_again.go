package main

// A report of a long log keeps only the what-if bound from the start
// (analyze.Schedule.BoundFirst): the schedule it would otherwise build up
// to its Limit (about 30 MB of segments) is dropped at the Limit anyway.
// When the logs turn out short enough, they are read again, each up to
// the bytes the first pass read, into the schedule that replays them.

import (
	"errors"
	"io"
	"os"
	"sync/atomic"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
)

// rereadable reports whether every path is a regular file holding a native
// log (PyPy logs would always be read twice: the segment count needs the
// native batch path), so that the logs can be read a second time.
func rereadable(paths []string) bool {
	for _, path := range paths {
		if path == "-" {
			return false
		}
		f, err := os.Open(path)
		if err != nil {
			return false
		}
		var b [16]byte
		n, _ := io.ReadFull(f, b[:])
		st, err := f.Stat()
		f.Close()
		if err != nil || !st.Mode().IsRegular() || !logformat.IsNative(b[:n]) || n < len(logformat.Magic) {
			return false
		}
	}
	return true
}

// countingReader counts the bytes read through it (by a parallel Reader's
// goroutine, too).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// openCounted is openLog for a file whose bytes read are counted in c.
func openCounted(path string, lo anylog.Options, c *countingReader) (logformat.Source, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	c.r = f
	src, err := anylog.New(c, path, lo)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return src, fileStopper{src, f}, nil
}

// fileStopper stops a source, then closes its file (anylog.Open's closer).
type fileStopper struct {
	src logformat.Source
	f   *os.File
}

func (s fileStopper) Close() error {
	anylog.Close(s.src)
	return s.f.Close()
}

// scheduleAgain reads each log, up to the bytes the first pass read of it,
// into a new schedule of the same options and limit.
func scheduleAgain(paths []string, sizes []int64, ao analyze.Options, lo anylog.Options, limit int) (*analyze.Schedule, error) {
	s := analyze.NewSchedule(ao)
	s.Limit = limit
	for i, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		src, err := anylog.New(io.LimitReader(f, sizes[i]), path, lo)
		if err != nil {
			f.Close()
			return nil, err
		}
		tee := s.Tee(logName(path), src)
		if bs, ok := tee.(logformat.BatchSource); ok {
			for err == nil {
				_, err = bs.NextBatch()
			}
		} else {
			for err == nil {
				_, err = tee.Next()
			}
		}
		anylog.Close(src)
		f.Close()
		if !errors.Is(err, io.EOF) {
			return nil, inputError(err, lo.Salvage)
		}
	}
	return s, nil
}
