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
