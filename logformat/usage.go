package logformat

import (
	"fmt"
	"math"
)

// Usage says how much processor time a recording had, from the start of
// recording to Time (ns, the clock of Event.Time): the recording process's
// own CPU time (user and system), and the machine's idle time summed over
// its CPUs processors. A what-if replay needs it because GOMAXPROCS says
// how many processors the program could use, not how many it got: on a
// machine busy with other processes, a thread's recorded run is long
// partly because it was off its processor.
//
// The figures are totals since recording started, so the last record a
// reader sees covers the whole log, and a lost record costs nothing but
// its own period.
type Usage struct {
	Time       int64 // ns since recording started (> 0 in a record)
	ProcessCPU int64 // ns of CPU time the recording process used
	Idle       int64 // ns the machine's processors were idle, summed over them
	CPUs       int   // processors Idle counts; 0: the machine's idle time is not known
}

// Available returns how many processors the recording process could have
// used on average over the period: its own CPU time plus the machine's
// idle time, per unit of wall time (what other processes used was not
// available to it). It returns 0 when that is not known.
func (u Usage) Available() float64 {
	if u.Time <= 0 || u.CPUs <= 0 {
		return 0
	}
	return float64(u.ProcessCPU+u.Idle) / float64(u.Time)
}

func appendUsage(b []byte, u Usage) []byte {
	b = appendUvarint(b, uint64(max(u.Time, 0)))
	b = appendUvarint(b, uint64(max(u.ProcessCPU, 0)))
	b = appendUvarint(b, uint64(max(u.Idle, 0)))
	return appendUvarint(b, uint64(max(u.CPUs, 0)))
}

// readUsage decodes a usage chunk's payload into u, returning the offset
// of a problem and what it is ("" if none).
func readUsage(p []byte, u *Usage) (int, string) {
	t, i := uvarint(p, 0)
	cpu, i := uvarint(p, i)
	idle, i := uvarint(p, i)
	n, i := uvarint(p, i)
	switch {
	case i < 0:
		return 0, "bad processor-usage chunk"
	case t == 0 || t > math.MaxInt64 || cpu > math.MaxInt64 || idle > math.MaxInt64:
		return 0, fmt.Sprintf("processor usage: bad times (at %d ns: %d ns CPU, %d ns idle)", t, cpu, idle)
	case n > math.MaxInt32:
		return 0, fmt.Sprintf("processor usage: bad processor count %d", n)
	}
	*u = Usage{Time: int64(t), ProcessCPU: int64(cpu), Idle: int64(idle), CPUs: int(n)}
	return 0, ""
}

// Usage adds a processor-usage record (see Usage), written at once into
// the Writer's buffer. It rejects a record with no time or negative
// figures.
func (w *Writer) Usage(u Usage) error {
	if w.err != nil {
		return w.err
	}
	if u.Time <= 0 || u.ProcessCPU < 0 || u.Idle < 0 || u.CPUs < 0 {
		return fmt.Errorf("stmlog: bad processor-usage record %+v", u)
	}
	w.scratch = appendUsage(w.scratch[:0], u)
	w.writeChunk(chunkUsage, w.scratch, nil)
	return w.err
}
