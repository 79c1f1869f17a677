package pypyreport

import (
	"bufio"
	"fmt"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// c7Summary is the c7 analyzer (pypy c2125c949c7): threads exist from their
// first START, conflicts are keyed by (event, marker 1, marker 2) and
// charged to the thread that pays for them.
type c7Summary struct {
	threads   []*c7Thread
	byNum     map[uint32]*c7Thread
	conflicts map[string]*conflictSummary
	list      []*conflictSummary
	key       []byte
	cells     timeCells
	// stopAt, when stopSet, is the stop time the original reads after its
	// loop when the last record is an ABORTING_OTHER_CONTENTION that moved
	// a conflict: its handler rebinds the loop variable to the contention
	// record (docs/pypy-log-format.md §6).
	stopAt  float64
	stopSet bool
}

type c7Thread struct {
	cpu        float64
	inTx       bool
	start      float64
	pausedTime float64
	pausing    bool
	pauseStart float64
	conflict   *conflictSummary
	remote     bool    // the conflict was moved here by ABORTING_OTHER
	other      uint32  // the other thread of the pending local conflict
	conflictAt float64 // time of the contention record of the pending conflict
}

func (s *c7Summary) reset() {
	s.threads = nil
	s.byNum = make(map[uint32]*c7Thread)
	s.conflicts = make(map[string]*conflictSummary)
	s.list = nil
}

func (s *c7Summary) setCells(start, stop float64) {
	s.cells = timeCells{on: true, start: start, span: stop - start, n: 48}
}

func (s *c7Summary) dropTimestamps(budget int) bool { return dropKept(s.list, s.cells.on, budget) }

func (s *c7Summary) records(recs []pypy.Record, ts []float64, note *pyStderr) {
	ts = ts[:len(recs)]
	for i := range recs {
		s.record(&recs[i], ts[i], note)
	}
}

func (s *c7Summary) record(rec *pypy.Record, now float64, _ *pyStderr) {
	if s.byNum == nil {
		s.reset()
	}
	t := s.byNum[rec.Thread]
	s.stopSet = false
	switch rec.Event {
	case pypy.C7Start:
		if t == nil {
			t = &c7Thread{}
			s.byNum[rec.Thread] = t
			s.threads = append(s.threads, t)
		}
		t.inTx, t.start, t.conflict, t.pausing, t.pausedTime = true, now, nil, false, 0
	case pypy.C7Commit, pypy.C7Abort:
		if t == nil || !t.inTx {
			return
		}
		tx := now - t.start
		tx -= t.pausedTime
		t.cpu += tx
		t.inTx, t.pausing = false, false
		if t.conflict != nil && rec.Event == pypy.C7Abort {
			t.conflict.aborted += tx
			t.conflict.paused += 0.000001 // PAUSE_AFTER_ABORT, the usleep(1) after an abort
			t.conflict = nil
		}
	case pypy.C7WriteWrite, pypy.C7WriteRead, pypy.C7Inevitable:
		s.key = append(s.key[:0], rec.Event, byte(len(rec.Marker)))
		s.key = append(append(s.key, rec.Marker...), rec.Marker2...)
		c := s.conflicts[string(s.key)]
		if c == nil {
			c = &conflictSummary{event: rec.Event, marker: string(rec.Marker), marker2: string(rec.Marker2), order: len(s.list)}
			if s.cells.on {
				c.cells = make([]int64, s.cells.n)
			}
			s.conflicts[string(s.key)] = c
			s.list = append(s.list, c)
		}
		c.n++
		c.addTime(rec.Sec, rec.Nsec, &s.cells)
		if t != nil && t.inTx {
			t.conflict, t.remote, t.other, t.conflictAt = c, false, rec.Other, now
		}
	case pypy.C7AbortingOther:
		if t != nil && t.conflict != nil && !t.remote {
			c, other := t.conflict, t.other
			t.conflict = nil
			s.stopAt, s.stopSet = t.conflictAt, true
			if t2 := s.byNum[other]; t2 != nil && t2.inTx {
				t2.conflict, t2.remote = c, true
			}
		}
	case pypy.C7WaitSyncPause, pypy.C7WaitContention, pypy.C7WaitFreeSegment:
		if t != nil && t.inTx {
			t.pausing, t.pauseStart = true, now
		}
	case pypy.C7WaitDone:
		if t == nil || !t.inTx || !t.pausing {
			return
		}
		p := now - t.pauseStart
		t.pausedTime += p
		t.pausing = false
		if t.conflict != nil && !t.remote {
			t.conflict.paused += p
			t.conflict = nil
		}
	}
}

func (s *c7Summary) write(w *bufio.Writer, src *sourceCache, top int, res passResult) {
	total := res.stop - res.start
	var cpu float64
	for _, t := range s.threads {
		cpu += t.cpu
	}
	w.WriteString("\n")
	fmt.Fprintf(w, "Total real time:             %ss\n", pyFloat(total, 3))
	fmt.Fprintf(w, "Total CPU time in STM mode:  %ss (%s)\n", pyFloat(cpu, 3), pyPercent(cpu, total))
	w.WriteString("\n")
	cells := timeCells{start: res.start, span: total, n: 48}
	for _, c := range sortedConflicts(s.list, top) {
		counts := c.cellCounts(cells)
		fmt.Fprintf(w, "%ss lost in aborts, %ss paused (%dx %s)\n", pyFloat(c.aborted, 3), pyFloat(c.paused, 3),
			c.n, pypy.C7Name(c.event))
		src.marker(w, c.marker, true)
		if c.marker2 != "" {
			w.WriteString("\n")
			src.marker(w, c.marker2, true)
		}
		w.WriteString("\ntime line: ")
		for _, n := range counts {
			if n != 0 {
				w.WriteByte('x')
			} else {
				w.WriteByte('.')
			}
		}
		w.WriteString("\n\n")
	}
}
