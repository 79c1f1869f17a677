package analyze

import "github.com/stmlog/stmlog/logformat"

// addEvents feeds every event of src to the analysis, a batch at a time
// when src can (logformat.BatchSource): per event, the batch path costs a
// loop step where Next costs a call through the interface and a copy.
func (a *Analyzer) addEvents(l *logState, src logformat.Source) error {
	as, _ := src.(logformat.AggregateSource)
	if bs, ok := src.(logformat.BatchSource); ok {
		for {
			evs, err := bs.NextBatch()
			if err != nil {
				return err
			}
			for i := range evs {
				ev := &evs[i]
				if ev.Kind == logformat.KindAggregate {
					if as != nil {
						a.aggregate(l, as.Aggregate())
					}
					continue
				}
				a.event(l, ev)
			}
		}
	}
	for {
		ev, err := src.Next()
		if err != nil {
			return err
		}
		if ev.Kind == logformat.KindAggregate {
			if as != nil {
				a.aggregate(l, as.Aggregate())
			}
			continue
		}
		a.event(l, &ev)
	}
}

// groupCache maps the event fields that choose a conflict's group to the
// group, direct-mapped: a log's conflicts come from few sites and Vars, and
// a hit skips groupOf's stack interning and two map lookups (one of them
// hashes a string). Hits are exact (the whole key is compared).
type groupCache [64]struct {
	k      cacheKey
	thread uint32 // ByThread only: the group is the thread's
	g      *group
}

// cachedGroup is groupOf through l's groupCache. groupOf's result and its
// effect on the group (the "mixed" flags) depend only on these fields
// within a log (and on the thread, under ByThread), so a hit can skip it.
func (a *Analyzer) cachedGroup(l *logState, ev *logformat.Event) *group {
	if l.groups == nil {
		l.groups = new(groupCache)
	}
	k := cacheKey{ev.Site, ev.OtherSite, ev.Conflict, ev.Var}
	var thread uint32
	if a.opt.By == ByThread {
		thread = ev.Thread
	}
	h := (uint64(k.site)*0x9e3779b97f4a7c15 ^ uint64(k.other)*0xc2b2ae3d27d4eb4f ^
		k.v*0x165667b19e3779f9 ^ uint64(thread)*0x27d4eb2f165667c5 ^ uint64(k.kind)) >> 58
	e := &l.groups[h]
	if e.g == nil || e.k != k || e.thread != thread {
		e.k, e.thread, e.g = k, thread, a.groupOf(l, ev)
	}
	return e.g
}
