package pypy

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/stmlog/stmlog/logformat"
)

// The 16-byte headers of the two formats (stmgc c7/stm/prof.c, c8/stm/prof.c).
const (
	MagicC7 = "STMGC-C7-PROF01\n"
	MagicC8 = "STMGC-C8-PROF01\n"
)

// HeaderSize is the length of the magic; records start right after it.
const HeaderSize = 16

// Fixed part of one record, before the marker bytes.
const (
	c8HeadSize = 14 // sec, nsec, thread (uint32 each), event, marker length
	c7HeadSize = 19 // sec, nsec, thread, other thread, event, len1, len2
)

// Format tells the two record layouts apart.
type Format uint8

const (
	C8 Format = iota + 1
	C7
)

func (f Format) String() string {
	switch f {
	case C7:
		return "pypy-c7"
	case C8:
		return "pypy-c8"
	}
	return "pypy-unknown"
}

// IsPyPy reports whether prefix (the first bytes of a file, at least 16 for
// a sure answer) starts with the magic of a PyPy-STM c7 or c8 log.
func IsPyPy(prefix []byte) bool {
	return bytes.HasPrefix(prefix, []byte(MagicC8)) || bytes.HasPrefix(prefix, []byte(MagicC7))
}

// IsMagicPrefix reports whether b, shorter than a header, is how either
// magic begins: a file that short is a PyPy-STM log cut off inside its
// header (ErrCutHeader), not some other file.
func IsMagicPrefix(b []byte) bool {
	return len(b) > 0 && len(b) < HeaderSize &&
		(bytes.HasPrefix([]byte(MagicC8), b) || bytes.HasPrefix([]byte(MagicC7), b))
}

// Record is one record of the log, as written by stmgc. Marker and Marker2
// point into the scanner's buffer and are valid only until the next call of
// Scanner.Next; copy them to keep them.
type Record struct {
	Sec, Nsec uint32 // the writer's monotonic clock
	Thread    uint32 // stmgc's per-thread counter, from 1
	Other     uint32 // c7 only: the other thread of a contention, 0 if none
	Event     uint8  // the event number as written (its meaning depends on the era)
	Marker    []byte // c8: the only marker; c7: marker 1 ("self")
	Marker2   []byte // c7: marker 2 ("other"); always empty in c8
	// Cut is the number of marker bytes missing because the file ends inside
	// this record's markers. print_stm_log.py does not notice such a short
	// read and uses the partial marker; the event reader drops the record.
	Cut int
}

// Nanos is the record's time in nanoseconds.
func (r *Record) Nanos() int64 { return int64(r.Sec)*1e9 + int64(r.Nsec) }

// Size is the record's length in a log of format f: its header and both
// markers, including the Cut bytes the file misses.
func (r *Record) Size(f Format) int {
	n := c8HeadSize
	if f == C7 {
		n = c7HeadSize
	}
	return n + len(r.Marker) + len(r.Marker2) + r.Cut
}

// ErrNotPyPy is wrapped by the error NewScanner returns for a file that does
// not start with either magic.
var ErrNotPyPy = errors.New("not a PyPy-STM log")

// ErrCutHeader is wrapped by the error NewScanner returns for a file that
// ends inside the 16-byte magic of a PyPy-STM log: PyPy died before its
// first flush.
var ErrCutHeader = errors.New("PyPy-STM log cut off inside its 16-byte header")

// ErrEmpty is wrapped by the error Scanner.Next returns when a log holds no
// complete record at all (print_stm_log.py: "empty file").
var ErrEmpty = errors.New("PyPy-STM log holds no record (header only)")

// Scanner reads records one at a time through its own buffer: no
// allocation per record, so a 600 MB log streams at memory speed.
type Scanner struct {
	r      io.Reader
	name   string
	format Format
	era    Era
	nEv    int // events of the era (c8) or of c7

	buf      []byte
	pos, end int   // unread bytes are buf[pos:end]
	base     int64 // file offset of buf[0]
	eof      bool  // r returned io.EOF (or an error, kept in rerr)
	rerr     error
	fills    int
	recOff   int64 // offset of the record last returned
	records  int64
	trunc    int64
	finished bool
	ahead    int64 // LimitReadAhead's bound (0: none)
}

// bufSize holds many records; the largest possible record is 19+255+255
// bytes, so a refill always makes room for a whole one. Long inputs get
// bigBufSize after growAfter refills, for fewer read calls, without making
// every small scanner (tests, fuzzing) allocate it.
const (
	bufSize    = 64 << 10
	bigBufSize = 1 << 20
	growAfter  = 16
)

// NewScanner reads and checks the 16-byte header. name is used in errors.
// era selects the c8 event numbering whose range is checked (0 = EraE);
// it is ignored for c7 logs.
func NewScanner(r io.Reader, name string, era Era) (*Scanner, error) {
	if era == 0 {
		era = EraE
	}
	if era.Events() == 0 {
		return nil, fmt.Errorf("%s: unknown PyPy-STM c8 event numbering %q (want a, b, c, d or e)", name, string(rune(era)))
	}
	s := &Scanner{r: r, name: name, era: era, buf: make([]byte, bufSize)}
	s.fill(HeaderSize)
	head := s.buf[s.pos:s.end]
	if len(head) > HeaderSize {
		head = head[:HeaderSize]
	}
	switch {
	case string(head) == MagicC8:
		s.format = C8
	case string(head) == MagicC7:
		s.format = C7
	case s.rerr != nil:
		return nil, fmt.Errorf("%s: %w", name, s.rerr)
	case len(head) < HeaderSize && IsMagicPrefix(head):
		return nil, fmt.Errorf("%s: %w (%d bytes), no record", name, ErrCutHeader, len(head))
	default:
		return nil, fmt.Errorf("%s: %w: the file starts with %q, want %q or %q", name, ErrNotPyPy, head, MagicC8, MagicC7)
	}
	s.pos += HeaderSize
	s.nEv = era.Events()
	if s.format == C7 {
		s.nEv = c7EventN
	}
	return s, nil
}

// Format is the layout found in the header.
func (s *Scanner) Format() Format { return s.format }

// Era is the c8 event numbering in use.
func (s *Scanner) Era() Era { return s.era }

// Name is the file name used in errors.
func (s *Scanner) Name() string { return s.name }

// Offset is the byte offset of the record last returned by Next.
func (s *Scanner) Offset() int64 { return s.recOff }

// Consumed is the number of bytes consumed so far, header included (after
// io.EOF: the whole input).
func (s *Scanner) Consumed() int64 { return s.base + int64(s.pos) }

// Records counts the records returned so far.
func (s *Scanner) Records() int64 { return s.records }

// Truncated is the number of bytes at the end of the input that do not make
// a complete record (a cut-off tail); valid after Next returned io.EOF.
func (s *Scanner) Truncated() int64 { return s.trunc }

// fill reads until at least n bytes are buffered or the input ends.
func (s *Scanner) fill(n int) {
	if s.end-s.pos >= n || s.eof {
		return
	}
	s.fills++
	if s.fills == growAfter && len(s.buf) < bigBufSize {
		nb := make([]byte, bigBufSize)
		s.end = copy(nb, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.pos = 0
		s.buf = nb
	}
	if s.pos > 0 {
		copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.end -= s.pos
		s.pos = 0
	}
	for empty := 0; s.end < n; {
		dst := s.buf[s.end:]
		if s.ahead > 0 {
			if k := s.ahead - (s.base + int64(s.end)); k < int64(len(dst)) {
				dst = dst[:max(k, int64(n-s.end))]
			}
		}
		m, err := s.r.Read(dst)
		s.end += m
		if m == 0 && err == nil {
			if empty++; empty == 100 { // as bufio: a broken reader must not hang us
				err = io.ErrNoProgress
			}
		}
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.rerr = err
			}
			return
		}
	}
}

// Next decodes the next record into rec. It returns io.EOF at the end of
// the log, including after a cut-off tail (see Truncated), ErrEmpty
// (wrapped) if the log has no record at all, a *logformat.CorruptError for an event
// number out of range, and read errors as they come.
func (s *Scanner) Next(rec *Record) error {
	if s.finished {
		return io.EOF
	}
	if s.format == C8 && s.end-s.pos >= c8HeadSize+255 {
		// Fast path: the longest possible c8 record is buffered.
		b := s.buf[s.pos:s.end]
		n := int(b[13])
		rec.Event = b[12]
		if int(rec.Event) >= s.nEv {
			return s.corrupt(fmt.Sprintf("event %d out of range for c8 numbering %c (%d events)", rec.Event, s.era, s.nEv))
		}
		rec.Sec = le32(b[0:])
		rec.Nsec = le32(b[4:])
		rec.Thread = le32(b[8:])
		rec.Other = 0
		rec.Marker = b[c8HeadSize : c8HeadSize+n : c8HeadSize+n]
		rec.Marker2 = nil
		rec.Cut = 0
		s.recOff = s.base + int64(s.pos)
		s.pos += c8HeadSize + n
		s.records++
		return nil
	}
	head := c8HeadSize
	if s.format == C7 {
		head = c7HeadSize
	}
	if s.end-s.pos < head {
		s.fill(head)
		if s.end-s.pos < head {
			return s.finish()
		}
	}
	b := s.buf[s.pos : s.pos+head]
	rec.Sec = le32(b[0:])
	rec.Nsec = le32(b[4:])
	rec.Thread = le32(b[8:])
	var n1, n2 int
	if s.format == C7 {
		rec.Other = le32(b[12:])
		rec.Event = b[16]
		n1, n2 = int(b[17]), int(b[18])
		if int(rec.Event) >= s.nEv {
			return s.corrupt(fmt.Sprintf("event %d out of range for c7 numbering (%d events)", rec.Event, s.nEv))
		}
	} else {
		rec.Other = 0
		rec.Event = b[12]
		n1 = int(b[13])
		if int(rec.Event) >= s.nEv {
			return s.corrupt(fmt.Sprintf("event %d out of range for c8 numbering %c (%d events)", rec.Event, s.era, s.nEv))
		}
	}
	size := head + n1 + n2
	if s.end-s.pos < size {
		s.fill(size)
	}
	s.recOff = s.base + int64(s.pos)
	avail := s.end - s.pos
	rec.Cut = 0
	if avail < size {
		// The input ends inside the markers: hand out what there is, like
		// print_stm_log.py's unchecked f.read(n), and stop after it.
		rec.Cut = size - avail
		s.trunc = int64(avail)
		s.finished = true
		if s.rerr != nil {
			return fmt.Errorf("%s: byte offset %d: %w", s.name, s.Consumed(), s.rerr)
		}
	} else {
		avail = size
	}
	p := s.pos + head
	lim := s.pos + avail
	rec.Marker = s.buf[p:min(p+n1, lim):min(p+n1, lim)]
	p += n1
	if p > lim {
		p = lim
	}
	rec.Marker2 = s.buf[p:min(p+n2, lim):min(p+n2, lim)]
	s.pos += avail
	s.records++
	return nil
}

// NextBatch decodes up to len(recs) records into recs and returns how
// many; at least one unless err is not nil. err is what Next would have
// returned for the next record (io.EOF at the end, and the same errors);
// a batch stops before a damaged record, so its error comes with the next
// call. Markers point into the scanner's buffer and are valid until the
// next call of NextBatch or Next. Offset is then the offset of the batch's
// last record and Consumed the end of it.
//
// The loop repeats Next's c8 fast path, with the buffer position and the
// counts in locals for the whole batch: a report that calls Next per
// record spends more on the call and on reloading the scanner's fields
// than on decoding (BenchmarkPyPyScannerBatch against BenchmarkPyPyScanner).
func (s *Scanner) NextBatch(recs []Record) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	n := 0
	if s.format == C8 && !s.finished {
		s.fill(c8HeadSize + 255) // does nothing while that much is buffered
		buf, pos, end, nEv := s.buf, s.pos, s.end, s.nEv
		last := pos
		for n < len(recs) && end-pos >= c8HeadSize+255 {
			b := buf[pos : pos+c8HeadSize+255]
			ev := b[12]
			if int(ev) >= nEv {
				break // Next reports it
			}
			m := int(b[13])
			r := &recs[n]
			r.Sec = le32(b[0:])
			r.Nsec = le32(b[4:])
			r.Thread = le32(b[8:])
			r.Other = 0
			r.Event = ev
			r.Marker = b[c8HeadSize : c8HeadSize+m : c8HeadSize+m]
			r.Marker2 = nil
			r.Cut = 0
			last = pos
			pos += c8HeadSize + m
			n++
		}
		if n > 0 {
			s.recOff = s.base + int64(last)
			s.pos = pos
			s.records += int64(n)
			return n, nil
		}
	}
	if err := s.Next(&recs[0]); err != nil {
		return 0, err
	}
	return 1, nil
}

// C8MaxRecord is the length of the longest c8 record: its 14-byte head
// and a 255-byte marker.
const C8MaxRecord = c8HeadSize + 255

// Window is for a caller that decodes c8 records itself, straight from
// the scanner's buffer (pypyreport's analyzer: one pass over the bytes).
// It returns the buffered bytes from the next record on, having read more
// first if fewer than want are buffered (want at most C8MaxRecord), so
// it is shorter than want only at the end of the input. The caller
// decodes whole records from its front and says how far it got with
// Skip; anything else (the last records of the input, damage) it leaves
// to Next, which reports it as always. Window returns nil once Next
// returned an error, and for a c7 log. The bytes are valid until the
// next call of Window, Next or NextBatch.
func (s *Scanner) Window(want int) []byte {
	if s.finished || s.format != C8 {
		return nil
	}
	s.fill(min(want, C8MaxRecord))
	return s.buf[s.pos:s.end]
}

// Skip consumes the first n bytes of the last Window, which the caller
// decoded as records whole c8 records, the last of them starting last
// bytes into it: Offset, Consumed and Records are then as after a Next
// that returned that record.
func (s *Scanner) Skip(n, records, last int) {
	if records <= 0 || last < 0 || n <= last || n > s.end-s.pos {
		panic("pypy: Scanner.Skip outside the window")
	}
	s.recOff = s.base + int64(s.pos+last)
	s.pos += n
	s.records += int64(records)
}

// LimitReadAhead makes the scanner read no byte at or past the offset
// limit, but those it needs to hand out a whole record or a Window of
// the size asked for (0: read as far ahead as its buffer holds). For a
// caller that will Discard the bytes after limit: they are then not read.
func (s *Scanner) LimitReadAhead(limit int64) { s.ahead = limit }

// Discard consumes the n bytes after the last record returned, which the
// caller decoded elsewhere (from its own copy of the same input) as
// records whole c8 records, the last of them starting last bytes into
// them: Offset, Consumed and Records are then as after a Next that
// returned that record. Bytes not buffered yet are skipped by seeking
// when the input is an io.Seeker, else read and dropped. It returns an
// error if the input fails, or ends before n bytes while read (a seek past
// the end is not seen: Next then returns io.EOF).
func (s *Scanner) Discard(n, records, last int64) error {
	if s.finished || records <= 0 || last < 0 || n <= last {
		panic("pypy: Scanner.Discard of no record or after the end")
	}
	start := s.base + int64(s.pos)
	if buffered := int64(s.end - s.pos); n <= buffered {
		s.pos += int(n)
	} else {
		skip := n - buffered
		s.base += int64(s.end)
		s.pos, s.end = 0, 0
		var err error
		if s.eof {
			err = io.ErrUnexpectedEOF
		} else if sk, ok := s.r.(io.Seeker); ok {
			_, err = sk.Seek(skip, io.SeekCurrent)
		} else {
			var m int64
			if m, err = io.CopyN(io.Discard, s.r, skip); m < skip && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
		}
		s.base += skip
		if err != nil {
			s.finished = true
			return fmt.Errorf("%s: byte offset %d: skipping %d bytes: %w", s.name, start, n, err)
		}
	}
	s.recOff = start + last
	s.records += records
	return nil
}

func (s *Scanner) corrupt(reason string) error {
	s.finished = true
	return &logformat.CorruptError{Name: s.name, Offset: s.base + int64(s.pos), Err: errors.New(reason)}
}

// finish is reached when fewer bytes than a record header remain.
func (s *Scanner) finish() error {
	s.finished = true
	if s.rerr != nil {
		return fmt.Errorf("%s: byte offset %d: %w", s.name, s.Consumed(), s.rerr)
	}
	s.trunc = int64(s.end - s.pos)
	s.pos = s.end
	if s.records == 0 {
		if s.trunc > 0 {
			return fmt.Errorf("%s: %w: %d bytes after the header are less than one record", s.name, ErrEmpty, s.trunc)
		}
		return fmt.Errorf("%s: %w", s.name, ErrEmpty)
	}
	return io.EOF
}

func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
