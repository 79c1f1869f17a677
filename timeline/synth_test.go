package timeline

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/stmlog/stmlog/analyze"
	"github.com/stmlog/stmlog/logformat"
	"github.com/stmlog/stmlog/logformat/anylog"
)

// Sites of the synthetic primes-like server (leaf first).
var (
	wlNow     = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Handler).serve", File: "server/handler.go", Line: 455}, {Func: "net/http.serverHandler.ServeHTTP", File: "net/http/server.go", Line: 3210}}}
	wlETag    = logformat.Stack{Frames: []logformat.Frame{{Func: "main.etag", File: "server/etag.go", Line: 31}, {Func: "main.(*Handler).serve", File: "server/handler.go", Line: 470}}}
	wlHitsR   = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Stats).hit", File: "server/stats.go", Line: 18}}}
	wlHitsW   = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Stats).hit", File: "server/stats.go", Line: 19}}}
	wlCacheW  = logformat.Stack{Frames: []logformat.Frame{{Func: "main.(*Cache).put", File: "server/cache.go", Line: 57}}}
	wlPrimesR = logformat.Stack{Frames: []logformat.Frame{{Func: "main.isPrime", File: "server/primes.go", Line: 12}}}
)

// syntheticLog writes a native log of a primes-server-like workload: four
// worker threads handling requests, each as one transaction. The naive
// version becomes inevitable for time.Now() and for ETag hashing (so workers
// pause for each other) and bumps a shared hit counter (write-read aborts);
// the fixed one has only rare counter conflicts and a new, small cache
// conflict. Deterministic for a given seed.
func syntheticLog(t testing.TB, fixed bool, seed int64) []byte {
	var buf bytes.Buffer
	w, err := logformat.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	now, etag := w.Stack(wlNow), w.Stack(wlETag)
	hitsR, hitsW := w.Stack(wlHitsR), w.Stack(wlHitsW)
	cacheW, primesR := w.Stack(wlCacheW), w.Stack(wlPrimesR)
	w.NameVar(1, "stats.hits")
	w.NameVar(2, "cache")
	r := rand.New(rand.NewSource(seed))
	const threads, requests = 4, 150
	write := func(e logformat.Event) {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	for th := uint32(1); th <= threads; th++ {
		// Thread 1 starts first: analyze counts from the first event read.
		tm := int64(th-1) * 40_000
		step := func(mean int) int64 { tm += int64(mean/2 + r.Intn(mean)); return tm }
		other := func() uint32 { return 1 + (th+uint32(r.Intn(threads-1)))%threads }
		for req := 0; req < requests; req++ {
			for attempt := 0; ; attempt++ {
				write(logformat.Event{Time: step(20_000), Thread: th, Kind: logformat.KindTxStart})
				if !fixed {
					if r.Intn(3) == 0 { // another worker is inevitable: wait for it
						write(logformat.Event{Time: step(5_000), Thread: th, Kind: logformat.KindConflict,
							Conflict: logformat.ConflictInevitable, Other: other(), Site: now, OtherSite: now})
						write(logformat.Event{Time: tm, Thread: th, Kind: logformat.KindWaitStart, Reason: logformat.WaitInevitable})
						write(logformat.Event{Time: step(80_000), Thread: th, Kind: logformat.KindWaitDone, Reason: logformat.WaitInevitable})
					}
					write(logformat.Event{Time: step(2_000), Thread: th, Kind: logformat.KindBecomeInevitable, Site: now})
					if r.Intn(8) == 0 {
						write(logformat.Event{Time: step(5_000), Thread: th, Kind: logformat.KindConflict,
							Conflict: logformat.ConflictInevitable, Other: other(), Site: etag, OtherSite: now})
						write(logformat.Event{Time: tm, Thread: th, Kind: logformat.KindWaitStart, Reason: logformat.WaitInevitable})
						write(logformat.Event{Time: step(40_000), Thread: th, Kind: logformat.KindWaitDone, Reason: logformat.WaitInevitable})
					}
				}
				abortEvery := 3
				if fixed {
					abortEvery = 50
				}
				if attempt < 3 && r.Intn(abortEvery) == 0 {
					write(logformat.Event{Time: step(30_000), Thread: th, Kind: logformat.KindConflict,
						Conflict: logformat.ConflictWriteRead, Other: other(), Var: 1, Site: hitsR, OtherSite: hitsW})
					write(logformat.Event{Time: step(1_000), Thread: th, Kind: logformat.KindTxAbort, Cause: logformat.AbortConflict})
					continue
				}
				if fixed && attempt < 3 && r.Intn(50) == 0 {
					write(logformat.Event{Time: step(25_000), Thread: th, Kind: logformat.KindConflict,
						Conflict: logformat.ConflictWriteWrite, Other: other(), Var: 2, Site: cacheW, OtherSite: cacheW})
					write(logformat.Event{Time: step(1_000), Thread: th, Kind: logformat.KindTxAbort, Cause: logformat.AbortConflict})
					continue
				}
				if !fixed && r.Intn(40) == 0 {
					// A rare conflict that the fix does not touch.
					write(logformat.Event{Time: step(10_000), Thread: th, Kind: logformat.KindConflict,
						Conflict: logformat.ConflictWriteRead, Other: other(), Site: primesR, OtherSite: cacheW})
					write(logformat.Event{Time: step(1_000), Thread: th, Kind: logformat.KindTxAbort, Cause: logformat.AbortConflict})
					continue
				}
				write(logformat.Event{Time: step(30_000), Thread: th, Kind: logformat.KindTxCommit})
				break
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// analyzeLog analyzes a log held in memory, to compare the trace's counts
// with analyze's.
func analyzeLog(t testing.TB, name string, log []byte) *analyze.Summary {
	t.Helper()
	src, err := anylog.New(bytes.NewReader(log), name, anylog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(analyze.Options{})
	if err := a.AddNamed(name, src); err != nil {
		t.Fatal(err)
	}
	return a.Summary()
}
