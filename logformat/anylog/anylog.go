// Package anylog opens a conflict log of any format stmlog reads — its own
// native logs and PyPy-STM's c7/c8 logs — by looking at the first bytes, so
// every command accepts every log without a format flag.
//
// It lives apart from logformat because it needs both logformat and
// logformat/pypy, and pypy already depends on logformat.
package anylog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// Options tune how a log is read.
type Options struct {
	// Salvage skips damaged chunks of a native log (counted in Stats)
	// instead of stopping at the first one.
	Salvage bool
	// PyPyEra selects the event numbering of a PyPy-STM c8 log: 'a'..'e'
	// (0 means 'e', the final one). See package pypy.
	PyPyEra byte
	// Jobs is how many goroutines decode a native log
	// (logformat.ReaderOptions.Jobs): 0 or 1 decode in the goroutine that
	// reads. The events are the same either way.
	Jobs int
}

// prefixLen is enough bytes to tell every known format apart.
const prefixLen = 16

// Open opens path and returns a reader of the matching format. The closer
// stops the source (see Close) and closes the file; call it when done with
// the source.
func Open(path string, opt Options) (logformat.Source, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err // *PathError already names the file
	}
	src, err := New(f, path, opt)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return src, closers{src, f}, nil
}

// Close stops src's goroutines if it has any (a native log read with
// Options.Jobs > 1 reads ahead): call it when done with a source of New
// that was not read to its end.
func Close(src logformat.Source) {
	if c, ok := src.(io.Closer); ok {
		c.Close()
	}
}

// closers stops a source, then closes its file.
type closers struct {
	src logformat.Source
	f   io.Closer
}

func (c closers) Close() error {
	Close(c.src)
	return c.f.Close()
}

// New reads a log of any known format from r; name is used in errors.
func New(r io.Reader, name string, opt Options) (logformat.Source, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	prefix, err := br.Peek(prefixLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case len(prefix) == 0:
		return nil, fmt.Errorf("%s: empty file, not a log", name)
	case logformat.IsNative(prefix):
		rd, err := logformat.NewReader(br, logformat.ReaderOptions{Name: name, Salvage: opt.Salvage, Jobs: opt.Jobs})
		if err != nil {
			return nil, err
		}
		return &nativeSource{Reader: rd, name: name}, nil
	case pypy.IsPyPy(prefix), pypy.IsMagicPrefix(prefix):
		return pypy.NewReader(br, pypy.Options{Name: name, Era: opt.PyPyEra})
	}
	return nil, fmt.Errorf("%s: not an stmlog or PyPy-STM log (starts with %q)", name, prefix)
}

// ErrNoChunk is wrapped by the error a native source returns, instead of
// io.EOF, for a log cut inside its 10-byte header. logformat reads such a
// file as an empty, truncated log, which is true of the bytes; but for the
// commands it is a file whose writer died while writing its first bytes,
// not a recording without conflicts, so they exit 1 instead of reporting
// "No conflicts." A complete header with nothing after it is different: it
// is what a program that exits without stm.StopLog leaves behind when it
// ran for less than one flush interval, and it reads as a log without
// events, with the reader's warnings.
var ErrNoChunk = errors.New("log truncated before the first chunk")

// nativeHeaderSize is the native file header: the magic and a 2-byte
// version (see the logformat package doc).
const nativeHeaderSize = int64(len(logformat.Magic) + 2)

// nativeSource is a logformat.Reader whose end says ErrNoChunk when the
// log was cut inside its header.
type nativeSource struct {
	*logformat.Reader
	name string
}

func (s *nativeSource) Next() (logformat.Event, error) {
	ev, err := s.Reader.Next()
	return ev, s.end(err)
}

// NextBatch is Next a batch at a time (logformat.BatchSource).
func (s *nativeSource) NextBatch() ([]logformat.Event, error) {
	evs, err := s.Reader.NextBatch()
	return evs, s.end(err)
}

// end turns the io.EOF of a log cut inside its header into ErrNoChunk.
func (s *nativeSource) end(err error) error {
	if err != io.EOF {
		return err
	}
	if st := s.Reader.Stats(); st.Bytes < nativeHeaderSize {
		return fmt.Errorf("%s: %w (cut inside its %d-byte header: %d bytes)", s.name, ErrNoChunk, nativeHeaderSize, st.Bytes)
	}
	return err
}
