package pypy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stmlog/stmlog/internal/pypygen"
	"github.com/stmlog/stmlog/logformat/pypy"
)

// scanTrace renders everything a scanner says about an input: each record
// with the offset and consumed count Next gives after it, then the error
// and the truncated count. batch > 0 reads through NextBatch with batches
// of that size (offset and consumed only after a batch's last record,
// where NextBatch defines them).
func scanTrace(data []byte, era pypy.Era, batch int, chunked bool) string {
	var r io.Reader = bytes.NewReader(data)
	if chunked {
		r = iotest.HalfReader(r) // short reads: every refill path
	}
	sc, err := pypy.NewScanner(r, "f.log", era)
	if err != nil {
		return "new: " + err.Error()
	}
	var b strings.Builder
	put := func(rec *pypy.Record, last bool) {
		fmt.Fprintf(&b, "%d.%09d t%d o%d e%d %q %q cut%d", rec.Sec, rec.Nsec, rec.Thread, rec.Other, rec.Event, rec.Marker, rec.Marker2, rec.Cut)
		if last {
			fmt.Fprintf(&b, " @%d/%d", sc.Offset(), sc.Consumed())
		}
		b.WriteByte('\n')
	}
	if batch < 0 {
		// Window and Skip, records decoded here as a caller does; Next
		// for what no window holds whole.
		var rec pypy.Record
		for err == nil {
			win := sc.Window(pypy.C8MaxRecord)
			pos, n, last := 0, 0, 0
			var recs []pypy.Record
			for n < -batch && len(win)-pos >= 14 && len(win)-pos >= 14+int(win[pos+13]) && int(win[pos+12]) < era.Events() {
				b := win[pos:]
				m := int(b[13])
				recs = append(recs, pypy.Record{Sec: le32(b), Nsec: le32(b[4:]), Thread: le32(b[8:]), Event: b[12], Marker: b[14 : 14+m : 14+m]})
				last = pos
				pos += 14 + m
				n++
			}
			if n > 0 {
				sc.Skip(pos, n, last)
				for i := range recs {
					put(&recs[i], i == n-1)
				}
				continue
			}
			if err = sc.Next(&rec); err == nil {
				put(&rec, true)
			}
		}
	} else if batch == 0 {
		var rec pypy.Record
		for err = sc.Next(&rec); err == nil; err = sc.Next(&rec) {
			put(&rec, true)
		}
	} else {
		recs := make([]pypy.Record, batch)
		for {
			var n int
			n, err = sc.NextBatch(recs)
			if err != nil {
				break
			}
			if n == 0 || n > batch {
				return fmt.Sprintf("NextBatch returned %d records and no error", n)
			}
			for i := range recs[:n] {
				put(&recs[i], i == n-1)
			}
		}
	}
	fmt.Fprintf(&b, "err %v truncated %d records %d consumed %d", err, sc.Truncated(), sc.Records(), sc.Consumed())
	return b.String()
}

// sameRecords ignores the offsets of records that are not last in their
// batch, so that a trace from Next compares with one from NextBatch.
func sameRecords(next, batched string) bool {
	a, b := strings.Split(next, "\n"), strings.Split(batched, "\n")
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !strings.HasPrefix(a[i], b[i]+" @") {
			return false
		}
	}
	return true
}

func checkBatchAgrees(t *testing.T, name string, data []byte, era pypy.Era) {
	t.Helper()
	for _, chunked := range []bool{false, true} {
		want := scanTrace(data, era, 0, chunked)
		for _, batch := range []int{1, 3, 256, -1, -5, -1000} {
			if got := scanTrace(data, era, batch, chunked); !sameRecords(want, got) {
				t.Fatalf("%s (era %c, batch %d, short reads %v): NextBatch or Window (batch < 0) differs from Next:\n%s\nwant\n%s",
					name, era, batch, chunked, tail(got), tail(want))
			}
		}
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// TestNextBatchAgrees: NextBatch, and records decoded from Window and
// consumed with Skip, give the records, offsets, errors and counts of Next, on generated c8 and c7 logs, the conformance samples,
// every cut of a sample and damaged event numbers.
func TestNextBatchAgrees(t *testing.T) {
	inputs := map[string][]byte{}
	for _, f := range []pypy.Format{pypy.C8, pypy.C7} {
		var b bytes.Buffer
		if _, err := pypygen.Write(&b, pypygen.Config{Format: f, Seed: 3, Records: 40_000}); err != nil {
			t.Fatal(err)
		}
		inputs[f.String()] = b.Bytes()
	}
	for _, name := range []string{"sample3.c8.log", "cut.c8.log"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "logs", "pypy", "conformance", name))
		if err != nil {
			t.Fatal(err)
		}
		inputs[name] = data
	}
	for name, data := range inputs {
		checkBatchAgrees(t, name, data, pypy.EraE)
		checkBatchAgrees(t, name, data, pypy.EraA) // events 11-15 out of range
	}
	cut := inputs["cut.c8.log"][:2000]
	for n := 0; n <= len(cut); n += 7 {
		checkBatchAgrees(t, fmt.Sprintf("cut.c8.log[:%d]", n), cut[:n], pypy.EraE)
	}
}

func TestNextBatchReadError(t *testing.T) {
	var b bytes.Buffer
	if _, err := pypygen.Write(&b, pypygen.Config{Seed: 1, Records: 5000}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	for _, n := range []int{30, 1000, 70_000} {
		r := io.MultiReader(bytes.NewReader(b.Bytes()[:n]), iotest.ErrReader(boom))
		sc, err := pypy.NewScanner(r, "f.log", 0)
		if err != nil {
			t.Fatal(err)
		}
		recs := make([]pypy.Record, 64)
		for err == nil {
			_, err = sc.NextBatch(recs)
		}
		if !errors.Is(err, boom) {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
}

func FuzzNextBatch(f *testing.F) {
	f.Add([]byte(pypy.MagicC8+"\x01\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x06\x03abc"), byte(4), uint8(2))
	f.Add([]byte(pypy.MagicC7+"\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x01\x00x"), byte(0), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, era byte, batch uint8) {
		e := pypy.Era('a' + era%5)
		want := scanTrace(data, e, 0, false)
		if got := scanTrace(data, e, 1+int(batch%16), false); !sameRecords(want, got) {
			t.Fatalf("NextBatch differs from Next:\n%s\nwant\n%s", got, want)
		}
		if got := scanTrace(data, e, -1-int(batch%16), batch&16 != 0); !sameRecords(want, got) {
			t.Fatalf("Window differs from Next:\n%s\nwant\n%s", got, want)
		}
	})
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// TestDiscard: after Discard skips records (inside the buffer, past it by
// seeking, past it on a reader that cannot seek), Next returns the record
// after them, and Offset, Consumed and Records are what Next would have
// left; a Discard past the end of an input read to skip is an error
// naming the file.
func TestDiscard(t *testing.T) {
	var b bytes.Buffer
	if _, err := pypygen.Write(&b, pypygen.Config{Seed: 3, Records: 60_000}); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	// The records' offsets, by Next.
	sc, _ := pypy.NewScanner(bytes.NewReader(data), "f.log", 0)
	var offs []int64
	var rec pypy.Record
	for sc.Next(&rec) == nil {
		offs = append(offs, sc.Offset())
	}
	offs = append(offs, int64(len(data)))
	for _, c := range []struct {
		name     string
		from, to int // skip records from..to-1 after reading from-1
		seek     bool
	}{{"in the buffer", 10, 20, true}, {"past it, seeking", 5, 40_000, true}, {"past it, reading", 5, 40_000, false}, {"to the end", 100, len(offs) - 1, true}} {
		var r io.Reader = bytes.NewReader(data)
		if !c.seek {
			r = iotest.OneByteReader(r) // no Seek method
		}
		sc, _ := pypy.NewScanner(r, "f.log", 0)
		for range c.from {
			if err := sc.Next(&rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := sc.Discard(offs[c.to]-offs[c.from], int64(c.to-c.from), offs[c.to-1]-offs[c.from]); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if sc.Offset() != offs[c.to-1] || sc.Consumed() != offs[c.to] || sc.Records() != int64(c.to) {
			t.Errorf("%s: offset %d consumed %d records %d, want %d %d %d", c.name, sc.Offset(), sc.Consumed(), sc.Records(), offs[c.to-1], offs[c.to], c.to)
		}
		err := sc.Next(&rec)
		if c.to == len(offs)-1 {
			if err != io.EOF {
				t.Errorf("%s: Next after the last record: %v, want io.EOF", c.name, err)
			}
			continue
		}
		if err != nil || sc.Offset() != offs[c.to] {
			t.Errorf("%s: Next: %v at offset %d, want the record at %d", c.name, err, sc.Offset(), offs[c.to])
		}
	}
	sc, _ = pypy.NewScanner(iotest.OneByteReader(bytes.NewReader(data[:5000])), "f.log", 0)
	if err := sc.Discard(6000, 300, 5900); err == nil || !strings.Contains(err.Error(), "f.log") {
		t.Errorf("Discard past the end: %v, want an error naming f.log", err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestLimitReadAhead: under LimitReadAhead the scanner reads no more than
// a record's length past the bound, and returns the same records as
// without it.
func TestLimitReadAhead(t *testing.T) {
	var b bytes.Buffer
	if _, err := pypygen.Write(&b, pypygen.Config{Seed: 4, Records: 20_000}); err != nil {
		t.Fatal(err)
	}
	const limit = 100_000
	scan := func(bound int64) string {
		cr := &countingReader{r: bytes.NewReader(b.Bytes())}
		sc, _ := pypy.NewScanner(cr, "f.log", 0)
		sc.LimitReadAhead(bound)
		var got strings.Builder
		var rec pypy.Record
		for sc.Consumed() < limit-pypy.C8MaxRecord {
			if err := sc.Next(&rec); err != nil {
				t.Fatal(err)
			}
			if bound > 0 && cr.n > bound+pypy.C8MaxRecord {
				t.Fatalf("read %d bytes with the bound at %d", cr.n, bound)
			}
			fmt.Fprintf(&got, "%d.%09d t%d e%d %q @%d/%d\n", rec.Sec, rec.Nsec, rec.Thread, rec.Event, rec.Marker, sc.Offset(), sc.Consumed())
		}
		return got.String()
	}
	if got, want := scan(limit), scan(0); got != want {
		t.Fatalf("records under the bound differ from those without it")
	}
}
