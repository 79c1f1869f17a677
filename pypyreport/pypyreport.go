package pypyreport

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// Options tune Write.
type Options struct {
	// Top is how many conflicts to print (print_stm_log.py's second
	// argument); 0 means the original's default: 5 for c8, 15 for c7,
	// unless TopGiven. A negative Top drops that many from the end, as a
	// Python slice does.
	Top int
	// TopGiven says Top was given explicitly, so that 0 prints no
	// conflicts, as "print_stm_log.py LOG 0" does.
	TopGiven bool
	// Era is the c8 event numbering, 'a'..'e' (0 = 'e', final). The report
	// layout is always the final one.
	Era byte
	// Name is the file name used in messages.
	Name string
	// SourceRoot is the directory that relative file names in markers are
	// resolved against to print source lines ("" = working directory, like
	// the original's linecache).
	SourceRoot string
	// Jobs is how many cores a c8 log's pass may use: 2 or more analyzes
	// an input read at offsets (a file) in parts on two goroutines; other
	// inputs take one. The output is the same for every Jobs.
	Jobs int
}

// timestampBudget bounds the bytes of compact conflict timestamps kept
// for a seekable input before switching to a second pass.
const timestampBudget = 64 << 20

// progressEvery is the original's progress interval (0x80000 records).
const progressEvery = 0x80000

// Write reads a PyPy-STM c7 or c8 log from r and writes the report of
// print_stm_log.py to stdout and its messages to stderr. Errors (not a
// PyPy-STM log, no record, an event number out of range, decreasing
// timestamps in an era-d/e log) name the file and byte offset; nothing is
// written to stdout then.
func Write(stdout, stderr io.Writer, r io.Reader, opt Options) error {
	return run(stdout, stderr, r, opt, timestampBudget)
}

func run(stdout, stderr io.Writer, r io.Reader, opt Options, budget int) error {
	name := opt.Name
	if name == "" {
		name = "PyPy-STM log"
	}
	// The size gives the progress percentages; seekability the second pass.
	var size int64 = -1
	var base int64
	seeker, _ := r.(io.Seeker)
	if seeker != nil {
		b, err1 := seeker.Seek(0, io.SeekCurrent)
		e, err2 := seeker.Seek(0, io.SeekEnd)
		_, err3 := seeker.Seek(b, io.SeekStart)
		if err1 != nil || err2 != nil || err3 != nil {
			seeker = nil // a pipe behind *os.File
		} else {
			base, size = b, e-b
		}
	}
	sc, err := pypy.NewScanner(r, name, pypy.Era(opt.Era))
	if err != nil {
		return err
	}
	errw := bufio.NewWriter(stderr)
	defer errw.Flush()
	if seeker == nil {
		budget = math.MaxInt
	}
	var rep analyzer
	if sc.Format() == pypy.C7 {
		rep = &c7Summary{}
	} else {
		c8 := newC8Summary(sc.Era())
		c8.jobs = opt.Jobs
		if ra, ok := r.(io.ReaderAt); ok && seeker != nil {
			c8.ra, c8.raBase, c8.raLen = ra, base, size
		}
		rep = c8
	}
	py := &pyStderr{w: errw}
	res, err := rep.summarize(sc, py, size, budget)
	if err != nil {
		return err
	}
	if res.overBudget {
		if _, err := seeker.Seek(base, io.SeekStart); err != nil {
			return fmt.Errorf("%s: second pass: %w", name, err)
		}
		sc2, err := pypy.NewScanner(r, name, pypy.Era(opt.Era))
		if err != nil {
			return fmt.Errorf("%s: second pass: %w", name, err)
		}
		rep.reset()
		rep.setCells(res.start, res.stop)
		if _, err := rep.summarize(sc2, &pyStderr{w: io.Discard}, -1, math.MaxInt); err != nil {
			return fmt.Errorf("%s: second pass: %w", name, err)
		}
	}
	py.newline() // the original's closing "print >> sys.stderr"
	if n := sc.Truncated(); n > 0 {
		if res.cut > 0 {
			fmt.Fprintf(errw, "note: %s: the log ends in the middle of a record: the record at byte offset %d misses %d marker bytes; its partial marker was used, as print_stm_log.py does\n",
				name, sc.Offset(), res.cut)
		} else {
			fmt.Fprintf(errw, "note: %s: the log ends in the middle of a record: the last %d bytes (from byte offset %d) were ignored, as print_stm_log.py does\n",
				name, n, sc.Consumed()-n)
		}
	}
	out := bufio.NewWriter(stdout)
	src := &sourceCache{root: opt.SourceRoot, files: map[string][][]byte{}}
	top := opt.Top
	if top == 0 && !opt.TopGiven {
		top = 5
		if _, c7 := rep.(*c7Summary); c7 {
			top = 15
		}
	}
	rep.write(out, src, top, res)
	if err := out.Flush(); err != nil {
		return err
	}
	return errw.Flush()
}

// analyzer is one of the two analyzers (c8 final, c7).
type analyzer interface {
	// dropTimestamps drops the kept conflict timestamps and reports true
	// if they exceed budget bytes.
	dropTimestamps(budget int) bool
	// reset forgets everything, for a second pass.
	reset()
	// setCells makes the conflicts count time-line cells directly.
	setCells(start, stop float64)
	// summarize is a pass over the records of sc: it analyzes them and
	// writes the progress percentages (size is the input's, -1 if not
	// known) and the notes to errw.
	summarize(sc *pypy.Scanner, errw *pyStderr, size int64, budget int) (passResult, error)
	// write prints the report.
	write(w *bufio.Writer, src *sourceCache, top int, res passResult)
}

type passResult struct {
	start, stop float64
	cut         int  // marker bytes missing in a cut last record
	overBudget  bool // timestamps were dropped: a second pass is needed
}

// pyTime is print_stm_log.py's timestamp, sec + 0.000000001 * nsec. The
// conversion of the product keeps the compiler from fusing it into an FMA,
// which would round once instead of twice and change the last bit.
func pyTime(sec, nsec uint32) float64 {
	return float64(sec) + float64(0.000000001*float64(nsec))
}

// batchSize is how many records summarize takes from the scanner at a
// time: enough that the per-batch work vanishes, few enough (256 records
// of 72 bytes) for the batch to stay in the L1 cache.
const batchSize = 256

// summarize is c7's pass: records in batches from Scanner.NextBatch (c7
// logs have no timestamp order to check: MonotonicClock is of c8 eras).
func (s *c7Summary) summarize(sc *pypy.Scanner, errw *pyStderr, size int64, budget int) (passResult, error) {
	return summarize(sc, s, errw, size, budget)
}

func summarize(sc *pypy.Scanner, rep *c7Summary, errw *pyStderr, size int64, budget int) (passResult, error) {
	var res passResult
	recs := make([]pypy.Record, batchSize)
	times := make([]float64, batchSize)
	frac := 1.0 / float64(size)
	var cnt int64 // records before the batch
	for {
		// A batch ends at each record that prints a progress percentage
		// (record number cnt with cnt%progressEvery == 0, from 0), which
		// needs sc.Consumed() right after that record.
		want := int64(batchSize)
		if next := (cnt + progressEvery - 1) &^ (progressEvery - 1); next-cnt+1 < want {
			want = next - cnt + 1
		}
		n, err := sc.NextBatch(recs[:want])
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		batch, ts := recs[:n], times[:n]
		for i := range batch {
			ts[i] = pyTime(batch[i].Sec, batch[i].Nsec)
		}
		if len(batch) > 0 && (cnt+int64(len(batch))-1)&(progressEvery-1) == 0 {
			// The last record prints the percentage before it is analyzed.
			last := len(batch) - 1
			rep.records(batch[:last], ts[:last], errw)
			if c := cnt + int64(last); c == 0 {
				res.start = ts[last]
			} else {
				if size > 0 {
					errw.item(pyFloat(float64(sc.Consumed())*frac*100.0, 0) + "%")
				}
				if !res.overBudget && rep.dropTimestamps(budget) {
					res.overBudget = true
				}
			}
			rep.records(batch[last:], ts[last:], errw)
		} else {
			rep.records(batch, ts, errw)
		}
		cnt += int64(n)
		res.cut = batch[n-1].Cut
		res.stop = ts[n-1]
	}
	if rep.stopSet {
		res.stop = rep.stopAt
	}
	if !res.overBudget && rep.dropTimestamps(budget) {
		res.overBudget = true
	}
	return res, nil
}

// pyStderr writes stderr the way the original's Python 2 print statements
// do. "print >>f, x," (a trailing comma, used for the progress
// percentages) writes x and leaves a pending space, the file's softspace,
// which the next print writes before its first item; ending a print with
// a newline clears it. So the percentages come out as "12% 25% 37%" and a
// newline, with no space before the newline, and a "note:" line printed
// right after a percentage starts with a space.
type pyStderr struct {
	w         io.Writer
	softspace bool
}

// item is "print >>f, s,".
func (p *pyStderr) item(s string) {
	if p.softspace {
		io.WriteString(p.w, " ")
	}
	io.WriteString(p.w, s)
	p.softspace = true
}

// line is "print >>f, s".
func (p *pyStderr) line(s string) {
	if p.softspace {
		io.WriteString(p.w, " ")
	}
	io.WriteString(p.w, s)
	io.WriteString(p.w, "\n") // not s+"\n": a log can have millions of notes
	p.softspace = false
}

// newline is "print >>f".
func (p *pyStderr) newline() {
	io.WriteString(p.w, "\n")
	p.softspace = false
}
