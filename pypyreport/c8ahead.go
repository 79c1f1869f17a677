package pypyreport

import "github.com/stmlog/stmlog/logformat/pypy"

// scanAhead is scan for a part of the log analyzed ahead (c8Ahead): the
// same loop, but for the records that add to a thread's sums (COMMIT,
// ABORT, the end of a collection), whose terms it puts in terms (at most
// limit of them, len(terms.e) or less) instead. A second function and not
// a test in scan's arms: any test there made Go lay out scan's loop with
// more instructions a record on the one-core pass (runBoth checks that the
// two agree).
func (s *c8Summary) scanAhead(win []byte, limit int, prev float64, order bool, terms *c8Terms) (used, n, last int, now float64, heavy bool, ht *c8Thread) {
	events, small, pend := s.events, s.small, s.pend
	now = prev
	// ev is the canonical event of the record at the front of rest
	// (noEvent out of the era's range), found while the record before it
	// was analyzed: the switch on it then does not wait for two loads
	// after a mispredicted jump (most are: the events of interleaved
	// threads are unpredictable). The loop reads span bytes a record, the
	// largest record and the next one's head up to its event, so that
	// finding it needs no check; rest is the window from the record on
	// (no bounds check a record), lastLen its length at the last record.
	const span = pypy.C8MaxRecord + 13
	if len(win) < span {
		return 0, 0, 0, now, false, nil
	}
	ev := events[win[12]]
	rest, lastLen, left := win, len(win), limit
	for ; left > 0 && len(rest) >= span; left-- {
		b := (*[span]byte)(rest)
		t1 := pyTime(le32(b[0:]), le32(b[4:]))
		if t1 < now && order {
			break
		}
		th := le32(b[8:])
		t := small[uint8(th)]
		if th>>8 != 0 || t == nil {
			// A thread not met yet or of a big number: record, but
			// for an event out of range (Next reports it).
			if ev == noEvent {
				break
			}
			return len(win) - len(rest), limit - left, len(win) - lastLen, now, true, nil
		}
		m := int(b[13])
		cur := ev
		ev = events[b[26+m]]
		switch ev := cur; ev {
		case pypy.EvStart:
			t.start(t1)
		case pypy.EvDetach:
			t.progress(t1, stDetached)
		case pypy.EvCommit, pypy.EvAbort:
			// end, its sums' terms kept
			t.progress(t1, stStop)
			k := (ev - pypy.EvCommit) & 1
			terms.e[terms.n&(len(terms.e)-1)] = c8Term{a: t.tx[stRun], p: t.tx[stPause], th: t.index, k: k}
			terms.n++
			t.nEnded[k]++
		// t.wait(ev, t1) by event: a test of the event inside a shared
		// arm is mispredicted as often as the switch.
		case pypy.EvWaitSyncing, pypy.EvWaitSyncPause:
			t.progress(t1, stPause)
		case pypy.EvWaitOtherInev:
			t.progress(t1, stPause)
			if t.inev {
				t.inevWaiting, t.inevWaitStart = true, t1
			}
		case pypy.EvWaitFreeSegment:
			t.freeSegment = true
			t.progress(t1, stPause)
		case pypy.EvWaitDone:
			if t.inev && t.inevWaiting {
				// inevWaitDone: its conflict's part is queued (no call
				// here), done by flush when scan returns, before any
				// other conflict is touched, so in file order.
				if pend.n == len(pend.e) {
					return len(win) - len(rest), limit - left, len(win) - lastLen, now, true, t
				}
				t.waitDone(t1)
				e := &pend.e[pend.n&(len(pend.e)-1)]
				pend.n++
				e.kind, e.event, e.n, e.off = pendInev, t.inevEvent, t.inevLen, uint32(len(win)-len(rest))
				e.sec, e.nsec = t.inevSec, t.inevNsec
				e.marker.copyFrom(&t.inevMarker, t.inevLen)
				e.a, e.p = 0, t1-t.inevWaitStart
				t.inevWaiting = false
				break
			}
			t.waitDone(t1)
		case pypy.EvGCMinorStart:
			t.gcMinorStart(t1)
		case pypy.EvGCMinorDone:
			if t.inMinor {
				terms.e[terms.n&(len(terms.e)-1)] = c8Term{a: t1 - t.minorStart, th: t.index, k: 2}
				terms.n++
				t.inMinor = false
			}
		case pypy.EvGCMajorStart:
			t.gcMajorStart(t1)
		case pypy.EvGCMajorDone:
			if t.inMajor {
				terms.e[terms.n&(len(terms.e)-1)] = c8Term{a: t1 - t.majorStart, th: t.index, k: 3}
				terms.n++
				t.inMajor = false
			}
		case pypy.EvReattach:
			// REATTACH changes state, then is BECOME_INEVITABLE, as in
			// record.
			t.progress(t1, stRun)
			t.becomeInevitable(ev, b[:], t1)
		case pypy.EvBecomeInevitable:
			t.becomeInevitable(ev, b[:], t1)
		default: // CONTENTION_WRITE_READ, or an event out of range
			if ev == noEvent {
				return len(win) - len(rest), limit - left, len(win) - lastLen, now, false, nil
			}
			// writeRead: the conflict's part is queued, as above.
			if pend.n == len(pend.e) {
				return len(win) - len(rest), limit - left, len(win) - lastLen, now, true, t
			}
			e := &pend.e[pend.n&(len(pend.e)-1)]
			pend.n++
			e.off = uint32(len(win) - len(rest))
			if t.aborting {
				e.kind = pendDouble
				break
			}
			t.aborting = true
			t.progress(t1, stRun)
			e.kind, e.event, e.n = pendWriteRead, pypy.EvWriteRead, uint8(m)
			e.sec, e.nsec = le32(b[0:]), le32(b[4:])
			e.a, e.p = t.tx[stRun], t.tx[stPause]
		}
		now = t1
		lastLen = len(rest)
		rest = rest[14+m:]
	}
	return len(win) - len(rest), limit - left, len(win) - lastLen, now, false, nil
}
