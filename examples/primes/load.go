package primes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Load describes the in-process load generator: Concurrency clients on
// keep-alive loopback connections, each asking for primes up to a random N
// in [MinN, MaxN] as fast as it gets answers, until Duration has passed or
// Requests requests have been made (whichever is set; both bound the run;
// one of them must be). Under a Duration alone every client asks at least
// once.
type Load struct {
	Concurrency int
	Duration    time.Duration
	Requests    int64
	MinN, MaxN  int
	// Verify checks every body against the sieve.
	Verify bool
}

// LoadResult is what the clients saw.
type LoadResult struct {
	Requests int64 // successful responses
	Elapsed  time.Duration
}

// ReqPerSec is requests per second of wall time.
func (r LoadResult) ReqPerSec() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Generate runs the load against the server at base (e.g.
// "http://127.0.0.1:1234"). It returns the first error a client met:
// a transport error, a status other than 200, or (with Verify) a wrong body.
func Generate(ctx context.Context, base string, l Load) (LoadResult, error) {
	if l.Concurrency <= 0 {
		l.Concurrency = 8
	}
	if l.Duration <= 0 && l.Requests <= 0 {
		return LoadResult{}, fmt.Errorf("primes: load without a duration or a request count would not end")
	}
	if l.MinN > l.MaxN || l.MinN < 0 {
		return LoadResult{}, fmt.Errorf("primes: load range [%d, %d] is empty", l.MinN, l.MaxN)
	}
	var want [][]byte
	if l.Verify {
		all := Sieve(l.MaxN)
		want = make([][]byte, l.MaxN-l.MinN+1)
		k := 0
		for n := l.MinN; n <= l.MaxN; n++ {
			for k < len(all) && all[k] <= n {
				k++
			}
			want[n-l.MinN] = Render(n, all[:k])
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: l.Concurrency, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		issued, ok atomic.Int64
		errOnce    sync.Once
		firstErr   error
		wg         sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	start := time.Now()
	// At the deadline clients stop asking but wait for the answers they are
	// owed, so every request started is counted and none is cut off. Each
	// client asks once whatever the time: on a loaded machine a client may
	// first run after a short window has passed, and a load that sent
	// nothing measures nothing.
	more := func(first bool) bool {
		return ctx.Err() == nil && (first || l.Duration <= 0 || time.Since(start) < l.Duration) &&
			(l.Requests == 0 || issued.Add(1) <= l.Requests)
	}
	for c := range l.Concurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 11))
			buf := new(bytes.Buffer)
			for first := true; more(first); first = false {
				n := l.MinN + rng.IntN(l.MaxN-l.MinN+1)
				req, err := http.NewRequestWithContext(ctx, "GET", base+"/primes/"+strconv.Itoa(n), nil)
				if err != nil {
					fail(err)
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						fail(fmt.Errorf("primes: GET /primes/%d: %w", n, err))
					}
					return
				}
				buf.Reset()
				_, err = io.Copy(buf, resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					if ctx.Err() == nil {
						fail(fmt.Errorf("primes: reading /primes/%d: %w", n, err))
					}
					return
				case resp.StatusCode != http.StatusOK:
					fail(fmt.Errorf("primes: GET /primes/%d: status %s: %s", n, resp.Status, buf.Bytes()))
					return
				case l.Verify && !bytes.Equal(buf.Bytes(), want[n-l.MinN]):
					fail(fmt.Errorf("primes: GET /primes/%d: body %.80q..., want %.80q...", n, buf.Bytes(), want[n-l.MinN]))
					return
				case l.Verify && resp.Header.Get("Etag") != ETag(want[n-l.MinN]):
					fail(fmt.Errorf("primes: GET /primes/%d: ETag %s, want %s", n, resp.Header.Get("Etag"), ETag(want[n-l.MinN])))
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return LoadResult{Requests: ok.Load(), Elapsed: time.Since(start)}, firstErr
}

// Listen serves h on a fresh loopback port until the returned stop function
// is called, and returns the base URL.
func Listen(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("primes: listening on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), func() {
		// Shutdown lets running handlers finish, so the server's statistics
		// are final when stop returns.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}
