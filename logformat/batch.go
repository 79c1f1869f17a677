package logformat

// BatchSource is implemented by sources that can hand out their events a
// batch at a time. A consumer that handles every event the same way (the
// analyzer) saves the call and the copy of a 64-byte Event that Next costs
// per event, which is most of what reading costs beyond decoding.
type BatchSource interface {
	Source
	// NextBatch returns the next events in the order Next would return
	// them, at least one, or the error Next would return. The slice is
	// valid until the next call of Next or NextBatch. Stack, VarName,
	// Offset (and, for an aggregate event, Aggregate) answer for the last
	// event of the batch as they would after Next returned it; a batch
	// therefore holds at most one KindAggregate event, which is its last.
	NextBatch() ([]Event, error)
}

// NextBatch returns the rest of the event batch being decoded (see
// BatchSource). Mixing it with Next is allowed.
func (r *Reader) NextBatch() ([]Event, error) {
	if err := r.refill(); err != nil {
		return nil, err
	}
	evs := r.events[r.pos:]
	if evs[0].Kind == KindAggregate {
		// Aggregate answers for r.pos-1: one record at a time.
		evs = evs[:1]
	}
	r.pos += len(evs)
	return evs, nil
}

var _ BatchSource = (*Reader)(nil)
