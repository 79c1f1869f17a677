package primes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stmlog/stmlog/examples/internal/workload"
)

func TestUpToMatchesSieve(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 10, 97, 100, 1000, 2000} {
		got, want := UpTo(n), Sieve(n)
		if !slices.Equal(got, want) {
			t.Errorf("UpTo(%d) = %v, sieve gives %v", n, got, want)
		}
	}
	if got := len(Sieve(10000)); got != 1229 {
		t.Errorf("%d primes up to 10000, want 1229", got)
	}
}

func TestRenderIsJSON(t *testing.T) {
	for _, n := range []int{0, 1, 30} {
		var a Answer
		if err := json.Unmarshal(Render(n, Sieve(n)), &a); err != nil {
			t.Fatalf("Render(%d): %v", n, err)
		}
		if a.N != n || !slices.Equal(a.Primes, Sieve(n)) || a.Primes == nil {
			t.Errorf("Render(%d) decodes to %+v", n, a)
		}
	}
}

var versions = []struct {
	name string
	opt  Options
}{
	{"naive", Options{}},
	{"fixed", Options{Fixed: true}},
	{"baseline", Options{Baseline: true}},
}

func serve(t *testing.T, opt Options) (*Server, string) {
	t.Helper()
	srv := NewServer(opt)
	base, stop, err := Listen(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); srv.Close() })
	return srv, base
}

func TestServerAnswers(t *testing.T) {
	for _, v := range versions {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/workers=%d", v.name, workers), func(t *testing.T) {
				opt := v.opt
				opt.Workers = workers
				srv, base := serve(t, opt)
				const requests = 80
				lr, err := Generate(context.Background(), base, Load{Concurrency: 6, Requests: requests, MinN: 0, MaxN: 400, Verify: true})
				if err != nil {
					t.Fatal(err)
				}
				if lr.Requests != requests {
					t.Errorf("%d answers, want %d", lr.Requests, requests)
				}
				st := srv.Stats()
				if st.Accepted != requests || st.Served != requests {
					t.Errorf("stats %+v, want %d accepted and served", st, requests)
				}
				// 401 values of N over 256 cache slots: most answers came
				// from computing. How many repeats the random load met
				// depends on how the connections shared the requests, so
				// the cache itself is checked with one N asked twice.
				if st.CacheHits > requests/2 {
					t.Errorf("%d cache hits for %d requests", st.CacheHits, requests)
				}
				if !v.opt.Baseline {
					perRequest := int64(2) // handle and finish
					if v.opt.Fixed {
						perRequest = 1
					}
					attempts, txs := srv.Attempts()
					if txs != perRequest*requests || attempts < txs {
						t.Errorf("%d attempts, %d transactions; want %d transactions a request", attempts, txs, perRequest)
					}
				}
				if hits := askTwice(t, srv, base, 401); hits != 1 {
					t.Errorf("asking for N=401 twice in a row: %d cache hits, want 1 (the second)", hits)
				}
			})
		}
	}
}

// askTwice asks for the primes up to n twice, one request after the other,
// and returns how many of the two the server took from its cache.
func askTwice(t *testing.T, srv *Server, base string, n int) int64 {
	t.Helper()
	before := srv.Stats().CacheHits
	for range 2 {
		resp, err := http.Get(fmt.Sprintf("%s/primes/%d", base, n))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /primes/%d: %s", n, resp.Status)
		}
	}
	return srv.Stats().CacheHits - before
}

func TestServerHTTP(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			_, base := serve(t, v.opt)
			tests := []struct {
				path, ifNoneMatch string
				status            int
			}{
				{"/primes/10", "", http.StatusOK},
				{"/primes/10", ETag(Render(10, Sieve(10))), http.StatusNotModified},
				{"/primes/10", `"stale"`, http.StatusOK},
				{"/primes/x", "", http.StatusBadRequest},
				{"/primes/-1", "", http.StatusBadRequest},
				{fmt.Sprintf("/primes/%d", MaxN+1), "", http.StatusBadRequest},
				{"/other", "", http.StatusNotFound},
			}
			for _, tt := range tests {
				req, _ := http.NewRequest("GET", base+tt.path, nil)
				if tt.ifNoneMatch != "" {
					req.Header.Set("If-None-Match", tt.ifNoneMatch)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Errorf("GET %s (If-None-Match %s): %s, want %d", tt.path, tt.ifNoneMatch, resp.Status, tt.status)
				}
			}
		})
	}
}

func TestRun(t *testing.T) {
	for _, cfg := range []workload.Config{
		{Workers: 2, Size: 300},
		{Workers: 2, Size: 300, Fixed: true},
		{Workers: 2, Size: 300, Baseline: true},
	} {
		cfg.Duration = 150 * time.Millisecond
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		if res.Ops == 0 || res.Check == "" {
			t.Errorf("%+v: result %+v", cfg, res)
		}
	}
}

func TestCompare(t *testing.T) {
	var out strings.Builder
	got, err := Compare(context.Background(), 60*time.Millisecond, 300, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Versions {
		if len(got[v.Name]) != 3 {
			t.Fatalf("%s: %d figures, want 3 (1, 2, 4 workers)", v.Name, len(got[v.Name]))
		}
		for i, r := range got[v.Name] {
			if r <= 0 {
				t.Errorf("%s, %d workers: %.1f req/s", v.Name, []int{1, 2, 4}[i], r)
			}
		}
	}
	if lines := strings.Count(out.String(), "\n"); lines != 4 {
		t.Errorf("table has %d lines, want a header and 3 rows:\n%s", lines, out.String())
	}
}
