package stm

import (
	"testing"
	"time"

	"github.com/stmlog/stmlog/logformat"
)

// TestRecordSiteWanted: a counted call's Store of a contended Var, and a
// full-level call's, captures its site only while its thread is wanted
// (storeSite). F, a goroutine nobody conflicted with, commits without a
// site; the first conflict with it names its thread alone, and the next
// one its site too. The victim's own write site, which its first attempt
// did not capture, comes from its re-run's Store (awaitSite), not from
// the re-run's Load before it. The flusher counts the want down.
func TestRecordSiteWanted(t *testing.T) {
	for _, level := range []Level{LevelProfile, LevelFull} {
		t.Run(level.String(), func(t *testing.T) { testRecordSiteWanted(t, level) })
	}
}

func testRecordSiteWanted(t *testing.T, level Level) {
	v := NewVar(0)
	v.h.contended.Store(true)
	req, done := make(chan struct{}), make(chan struct{})
	defer close(req)
	go func() {
		for range req {
			Atomically(func(tx *Tx) error {
				v.Store(tx, 10) // SITE:want-f-write
				return nil
			})
			done <- struct{}{}
		}
	}()
	var fID uint32
	var fSite uint32
	data := recordAt(t, level, func() {
		req <- struct{}{}
		<-done
		fID, fSite = v.h.loadBox().writerSite()
		for range 2 {
			first := true
			Atomically(func(tx *Tx) error {
				x := v.Load(tx)
				if first {
					first = false
					req <- struct{}{}
					<-done
				}
				v.Store(tx, x+1) // SITE:want-e-write
				return nil
			})
		}
		if _, s := v.h.loadBox().writerSite(); s == 0 {
			t.Error("the victim's last commit, wanted, named no site")
		}
		// Both sides' threads are wanted now (F's, and E's own), and the
		// flusher counts each down.
		p := cur.Load().byID.Load()
		if p == nil {
			t.Fatal("no threads")
		}
		wanted := map[*threadRec]uint32{}
		for _, th := range *p {
			if w := th.siteWant.Load(); w != 0 {
				if w > siteWantFlushes {
					t.Fatalf("thread %d siteWant %d, want at most %d", th.id, w, siteWantFlushes)
				}
				wanted[th] = w
			}
		}
		if len(wanted) < 2 {
			t.Fatalf("%d threads wanted after two conflicts, want both sides'", len(wanted))
		}
		for th, w0 := range wanted {
			for deadline := time.Now().Add(5 * time.Second); th.siteWant.Load() >= w0; {
				if time.Now().After(deadline) {
					t.Fatalf("thread %d siteWant still %d after 5 s of flushes", th.id, th.siteWant.Load())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	})
	if fID == 0 || fSite != 0 {
		t.Fatalf("F's first commit, nobody conflicting with it, named thread %d site %d; want a thread and no site", fID, fSite)
	}
	evs, r := readLog(t, data)
	leaf := func(id logformat.StackID) (string, int) {
		if s := r.Stack(id); s != nil && len(s.Frames) > 0 {
			return s.Frames[0].File, s.Frames[0].Line
		}
		return "", 0
	}
	ef, el := markerLine(t, "want-e-write")
	ff, fl := markerLine(t, "want-f-write")
	var got []logformat.Event
	for _, ev := range evs {
		if ev.Kind == logformat.KindConflict && ev.Var == v.ID() {
			got = append(got, ev)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d conflicts on v, want 2", len(got))
	}
	for i, ev := range got {
		// Without curg (curg_other.go) a thread is a context, and F runs
		// on another one while E holds the P's first: F's thread is then
		// not the one of its first commit.
		if ev.Conflict != logformat.ConflictWriteWrite || ev.OtherThread == 0 || ev.OtherThread == ev.Thread || (haveCurg && ev.OtherThread != fID) {
			t.Errorf("conflict %d: %v on thread %d with thread %d, want write-write with F's (%d)", i, ev.Conflict, ev.Thread, ev.OtherThread, fID)
		}
		if f, l := leaf(ev.Site); f != ef || l != el {
			t.Errorf("conflict %d: this side at %s:%d, want %s:%d", i, f, l, ef, el)
		}
		f, l := leaf(ev.OtherSite)
		if i == 0 && l != 0 {
			t.Errorf("first conflict with F: other side at %s:%d, want none (F was not wanted when it wrote)", f, l)
		}
		if i == 1 && (f != ff || l != fl) {
			t.Errorf("second conflict with F: other side at %s:%d, want %s:%d", f, l, ff, fl)
		}
	}
}

// TestRecordFullReadSite: at the full level a first attempt captures no
// read site (readSiteOn), while its thread is wanted too, and every
// write-read conflict's read site comes from the re-run (awaitSite): each
// of three conflicts on v, the second and third with both threads
// wanted, names the line of the victim's Load.
func TestRecordFullReadSite(t *testing.T) {
	v, w := NewVar(0), NewVar(0)
	data := recordAt(t, LevelFull, func() {
		for range 3 {
			readDone, bDone := make(chan struct{}), make(chan struct{})
			go func() {
				<-readDone
				Atomically(func(tx *Tx) error {
					v.Store(tx, 1)
					return nil
				})
				close(bDone)
			}()
			first := true
			Atomically(func(tx *Tx) error {
				x := v.Load(tx) // SITE:full-read
				if first {
					first = false
					close(readDone)
					<-bDone
				}
				w.Store(tx, x)
				return nil
			})
		}
	})
	evs, r := readLog(t, data)
	rf, rl := markerLine(t, "full-read")
	n := 0
	for _, ev := range evs {
		if ev.Kind != logformat.KindConflict || ev.Var != v.ID() {
			continue
		}
		n++
		s := r.Stack(ev.Site)
		if ev.Conflict != logformat.ConflictWriteRead || s == nil || len(s.Frames) == 0 || s.Frames[0].File != rf || s.Frames[0].Line != rl {
			t.Errorf("conflict %d: %v, this side at %v, want write-read at %s:%d", n, ev.Conflict, s, rf, rl)
		}
	}
	if n != 3 {
		t.Fatalf("%d conflicts on v, want 3", n)
	}
}
