package analyze

// Warnings about the input, one sentence each, prefixed by the log name.

import (
	"fmt"
	"strings"
	"time"

	"github.com/stmlog/stmlog/internal/durfmt"
)

func (a *Analyzer) logWarnings(s *Summary, l *logState) {
	w := func(format string, args ...any) {
		s.Warnings = append(s.Warnings, l.name+": "+fmt.Sprintf(format, args...))
	}
	st := l.stats
	// Readers describe truncation, the missing end marker and salvage in
	// their own warnings; say it here only for readers that do not, in the
	// words of the judgement stmlog check gives.
	if len(st.Warnings) == 0 {
		for _, p := range st.Problems(nil) {
			w("%s", p)
		}
	}
	if st.Dropped > 0 {
		w("%d events were dropped by the recorder (buffers full)", st.Dropped)
	}
	for _, x := range st.Warnings {
		if strings.HasPrefix(x, l.name+": ") {
			s.Warnings = append(s.Warnings, x)
		} else {
			w("%s", x)
		}
	}
	switch {
	case l.events == 0 && a.opt.Thread != 0 && st.Events > 0:
		w("no events of thread %d (the log has %d)", a.opt.Thread, st.Events)
	case l.events == 0:
		w("no events")
	case a.windowed && (l.max < a.from || l.min >= a.to):
		to := "the end"
		if a.opt.To > 0 {
			to = durfmt.Dur(a.opt.To)
		}
		w("nothing in the window (%s to %s): the log's events run from %s to %s",
			durfmt.Dur(a.opt.From), to, durfmt.Dur(time.Duration(l.min)), durfmt.Dur(time.Duration(l.max)))
	}
	if l.outOfOrder > 0 {
		w("%d events out of time order within their thread (treated as simultaneous)", l.outOfOrder)
	}
	if l.openPauses > 0 {
		w("%d pauses without end (charged up to the last event)", l.openPauses)
	}
	if l.unfinished > 0 {
		w("%d transactions without commit or abort (not counted)", l.unfinished)
	}
	if l.orphanDone > 0 {
		w("%d unmatched pause starts/ends", l.orphanDone)
	}
	if l.orphanEnd > 0 {
		w("%d commits/aborts without a start", l.orphanEnd)
	}
	if l.badThread > 0 {
		w("%d events with thread 0 or an unknown kind ignored", l.badThread)
	}
}
