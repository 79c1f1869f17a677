// Package primes is the seed's first Tornado-on-PyPy-STM benchmark in Go: an
// HTTP server on the loopback interface that answers GET /primes/N with the
// JSON list of the primes up to N, computed by naive trial division (the
// seed's is_prime), whose handlers run as transactions.
//
// The server is shaped like the seed's modified Tornado IO loop: HTTP
// goroutines turn requests into queued transactions (stm.Queue.Add) and a
// dispatcher keeps the queue running on N workers (stm.Queue.Run), the way
// Tornado's loop called transaction.add and transaction.run. In the naive
// version a request is two transactions, as it was two callbacks in
// Tornado: "handle", queued, numbers the request, takes its start time
// (Tornado's HTTPRequest took time.time()) and computes the answer through
// a shared response cache; "finish", run by the request's own goroutine
// once the answer is there, computes the ETag (Tornado's compute_etag) and
// counts the response in the shared statistics.
//
// The naive version (Options.Fixed false) keeps the seed's mistakes, and the
// log of a run shows them, as print_stm_log.py did for the seed:
//   - time.Now() inside a transaction: reading the clock cannot be undone,
//     so (like time.time() on PyPy-STM) it makes the transaction inevitable,
//     and only one transaction can be inevitable at a time;
//   - the ETag hash inside the transaction: the same, for the same reason
//     PyPy treated hashlib as an external call;
//   - one shared statistics Var that every transaction reads and writes: the
//     write-read conflict the seed found in transaction.py's counter. Here a
//     handler reads it, then waits to become inevitable while others commit
//     to it, and must start again.
//
// The fixed version is one transaction per request: it takes the time and
// numbers the request in the HTTP goroutine before the transaction, computes
// the ETag after commit, and shards the statistics by request number. The
// baseline (Options.Baseline) is the same server written the ordinary way:
// net/http handlers, at most Workers at a time, state under one sync.Mutex.
//
// On 2 cores with N up to 10000 the naive server stays at one core's
// throughput whatever the workers, the fixed one doubles like the baseline
// (BENCHMARKS.md (workloads section)), and the naive one's log names the time.Now()
// line, then the ETag line, then the counter.
package primes

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
)

// IsPrime is the seed's is_prime: trial division by every number below n.
// It is deliberately slow: the benchmark needs CPU-bound handlers.
func IsPrime(n int) bool {
	if n < 2 {
		return false
	}
	for i := 2; i < n; i++ {
		if n%i == 0 {
			return false
		}
	}
	return true
}

// UpTo returns the primes p with 2 <= p <= n, in order.
func UpTo(n int) []int {
	var out []int
	for i := 2; i <= n; i++ {
		if IsPrime(i) {
			out = append(out, i)
		}
	}
	return out
}

// Sieve returns the primes up to n by the sieve of Eratosthenes; tests and
// the load generator check the server's answers against it.
func Sieve(n int) []int {
	if n < 2 {
		return nil
	}
	composite := make([]bool, n+1)
	var out []int
	for i := 2; i <= n; i++ {
		if composite[i] {
			continue
		}
		out = append(out, i)
		for j := i * i; j <= n; j += i {
			composite[j] = true
		}
	}
	return out
}

// Answer is the JSON body of a response.
type Answer struct {
	N      int   `json:"n"`
	Primes []int `json:"primes"`
}

// Render returns the response body for n and the given primes.
func Render(n int, primes []int) []byte {
	if primes == nil {
		primes = []int{}
	}
	b, err := json.Marshal(Answer{N: n, Primes: primes})
	if err != nil {
		panic(err) // an Answer always marshals
	}
	return b
}

// ETag is the entity tag of a body: its SHA-1, quoted.
func ETag(body []byte) string {
	sum := sha1.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}
