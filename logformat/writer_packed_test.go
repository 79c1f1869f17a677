package logformat

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestWritePackedSameBytes writes one sequence of events twice: through
// Write only, and with WritePacked over runs of one thread's events, Write
// for those it stops at (as runtime/stm's recorder does); and compares the
// logs byte for byte: several threads interleaved, batches started by
// either method, times that repeat or jump, and events WritePacked must
// leave to Write (invalid kinds, times that go back).
func TestWritePackedSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type step struct{ ev Event }
	var steps []step
	times := map[uint32]int64{}
	for i := range 20000 {
		th := uint32(1 + rng.IntN(3))
		if rng.IntN(4) != 0 && i > 0 {
			th = steps[i-1].ev.Thread // runs of one thread, as the recorder hands them over
		}
		times[th] += int64(rng.IntN(3)) * int64(1+rng.IntN(1<<uint(rng.IntN(40))))
		ev := Event{Thread: th, Time: times[th]}
		switch rng.IntN(6) {
		case 0:
			ev.Kind = KindTxStart
		case 1:
			ev.Kind = KindTxCommit
		case 2:
			ev.Kind, ev.Cause = KindTxAbort, AbortCause(rng.IntN(int(numAbortCauses)))
		case 3:
			ev.Kind, ev.Reason = KindWaitStart, WaitReason(rng.IntN(int(numWaitReasons)))
		case 4:
			ev.Kind, ev.Reason = KindWaitDone, WaitReason(rng.IntN(int(numWaitReasons)))
		default:
			ev.Kind, ev.Conflict, ev.OtherThread, ev.Var = KindConflict, ConflictWriteRead, th+1, uint64(i)
		}
		if rng.IntN(500) == 0 {
			ev.Time -= 5 // refused by both
		}
		if rng.IntN(700) == 0 {
			ev.Kind = numKinds // refused by both
		}
		steps = append(steps, step{ev})
	}
	write := func(mode int) []byte {
		var buf bytes.Buffer
		w, err := NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		var refused int
		var run []PackedEvent
		for i := 0; i < len(steps); i++ {
			ev := steps[i].ev
			switch {
			case mode == 2:
				// The run of this thread's events up to the next flush.
				run = run[:0]
				for j := i; j < len(steps) && steps[j].ev.Thread == ev.Thread && (j == i || j%3000 != 0); j++ {
					e := steps[j].ev
					run = append(run, PackedEvent{Time: e.Time, A: PackKind(e.Kind, e.Conflict, e.Cause, e.Reason)})
					if e.OtherThread != 0 || e.Var != 0 || j%53 == 7 {
						run[len(run)-1].B = 1 // has fields (or says so): Write's
					}
				}
				n, werr := w.WritePacked(ev.Thread, run)
				if werr != nil {
					t.Fatal(werr)
				}
				if n > 0 {
					i += n - 1
					if i%3000 == 2999 || (i+1 < len(steps) && (i+1)%3000 == 0) {
						w.Flush()
					}
					continue
				}
				err = w.Write(&ev)
			default:
				err = w.Write(&ev)
			}
			if err != nil {
				refused++
			}
			if i%3000 == 2999 {
				w.Flush()
			}
		}
		if refused == 0 {
			t.Fatal("no event refused: the test does not cover WriteKind's fallback")
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, c := write(0), write(2)
	if !bytes.Equal(a, c) {
		t.Fatalf("Write and WritePacked logs differ (%d and %d bytes)", len(a), len(c))
	}
	if _, _, err := readAll(c, ReaderOptions{Name: "kind.stmlog"}); err != nil {
		t.Fatal(err)
	}
}
