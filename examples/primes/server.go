package primes

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stmlog/stmlog/examples/internal/workload"
	"github.com/stmlog/stmlog/runtime/stm"
)

// MaxN bounds the N a request may ask for, so one request cannot take the
// server down.
const MaxN = 100000

// Options choose the server's version.
type Options struct {
	Workers  int  // queue workers (or concurrent handlers for the baseline); 0 means 2
	Fixed    bool // the version with the seed's conflicts removed
	Baseline bool // plain net/http + sync.Mutex, no STM
}

// Stats are the server's shared request statistics.
type Stats struct {
	Accepted  int64     // requests that entered the server
	Served    int64     // responses produced
	CacheHits int64     // responses taken from the cache
	Bytes     int64     // body bytes produced
	Last      time.Time // start of the latest request (naive version only)
}

func (s Stats) add(o Stats) Stats {
	s.Accepted += o.Accepted
	s.Served += o.Served
	s.CacheHits += o.CacheHits
	s.Bytes += o.Bytes
	if o.Last.After(s.Last) {
		s.Last = o.Last
	}
	return s
}

// cacheSlots is the size of the direct-mapped response cache: N goes to slot
// N % cacheSlots, one entry per slot. One Var per slot keeps requests for
// different N from conflicting on the cache.
const cacheSlots = 256

type entry struct {
	n    int
	body []byte
}

// statShards is the fixed version's number of statistics Vars; a request
// updates shard id % statShards, so concurrent requests (consecutive ids)
// never share one.
const statShards = 16

type request struct {
	n     int
	id    int64     // fixed version: numbered by the HTTP goroutine
	start time.Time // fixed version: taken by the HTTP goroutine
	done  chan response
}

type response struct {
	body []byte
	etag string // naive version: computed inside the transaction
	hit  bool
	err  error
}

// Server answers GET /primes/N. Create it with NewServer and Close it.
type Server struct {
	opt      Options
	mux      *http.ServeMux
	incoming chan *request
	quit     chan struct{}
	wg       sync.WaitGroup
	nextID   atomic.Int64
	attempts workload.Counter
	txs      atomic.Int64

	// STM versions.
	stats  *stm.Var[Stats]   // naive: one Var for everything
	shards []*stm.Var[Stats] // fixed
	cache  []*stm.Var[*entry]

	// Baseline.
	mu         sync.Mutex
	plainStats Stats
	plainCache []*entry
	sem        chan struct{}
}

// NewServer returns a server; for the STM versions it starts the dispatcher.
func NewServer(opt Options) *Server {
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	s := &Server{opt: opt, mux: http.NewServeMux(), quit: make(chan struct{})}
	if opt.Baseline {
		s.plainCache = make([]*entry, cacheSlots)
		s.sem = make(chan struct{}, opt.Workers)
		s.mux.HandleFunc("GET /primes/{n}", s.servePlain)
		return s
	}
	s.stats = stm.NewVar(Stats{})
	s.shards = make([]*stm.Var[Stats], statShards)
	for i := range s.shards {
		s.shards[i] = stm.NewVar(Stats{})
	}
	s.cache = make([]*stm.Var[*entry], cacheSlots)
	for i := range s.cache {
		s.cache[i] = stm.NewVar[*entry](nil)
	}
	s.incoming = make(chan *request)
	s.mux.HandleFunc("GET /primes/{n}", s.serveSTM)
	s.wg.Go(s.dispatch)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the dispatcher. Requests still arriving get 503.
func (s *Server) Close() {
	close(s.quit)
	s.wg.Wait()
}

// Stats returns the committed statistics.
func (s *Server) Stats() Stats {
	if s.opt.Baseline {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.plainStats
	}
	st := s.stats.Peek()
	for _, sh := range s.shards {
		st = st.add(sh.Peek())
	}
	return st
}

// Attempts returns how many transaction bodies ran and how many
// transactions committed.
func (s *Server) Attempts() (attempts, txs int64) { return s.attempts.Load(), s.txs.Load() }

func parseN(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n > MaxN {
		http.Error(w, fmt.Sprintf("N must be an integer from 0 to %d", MaxN), http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

func writeBody(w http.ResponseWriter, r *http.Request, body []byte, etag string) {
	w.Header().Set("Etag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// serveSTM hands the request to the dispatcher and waits for its handler
// transaction to commit.
func (s *Server) serveSTM(w http.ResponseWriter, r *http.Request) {
	n, ok := parseN(w, r)
	if !ok {
		return
	}
	req := &request{n: n, done: make(chan response, 1)}
	if s.opt.Fixed {
		// Fixed: the clock and the request number are read here, outside
		// any transaction, where they cost nothing.
		req.start = time.Now()
		req.id = s.nextID.Add(1)
	}
	select {
	case s.incoming <- req:
	case <-s.quit:
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		return
	}
	resp := <-req.done
	if resp.err != nil {
		http.Error(w, resp.err.Error(), http.StatusInternalServerError)
		return
	}
	etag := resp.etag
	if s.opt.Fixed {
		// Fixed: hashing is pure, but it is also not shared state; after
		// commit it cannot make anything inevitable.
		etag = ETag(resp.body)
	}
	writeBody(w, r, resp.body, etag)
}

// maxBatch bounds how many pending requests one queue run takes.
const maxBatch = 64

// dispatch is the IO loop: take what is pending, queue one transaction per
// request, run the queue on the workers, repeat.
func (s *Server) dispatch() {
	batch := make([]*request, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case req := <-s.incoming:
			batch = append(batch, req)
		case <-s.quit:
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case req := <-s.incoming:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		q := stm.NewQueue()
		for _, req := range batch {
			if s.opt.Fixed {
				q.Add(s.acceptFixed(q, req))
			} else {
				q.Add(s.accept(q, req))
			}
		}
		if err := q.Run(s.opt.Workers); err != nil {
			// A failed transaction answers nobody; answer its request with
			// the error (requests already answered keep their answer).
			for _, req := range batch {
				select {
				case req.done <- response{err: err}:
				default:
				}
			}
		}
	}
}

// accept is the naive version's first transaction: it records when the
// request started, counts it, and queues its handler.
func (s *Server) accept(q *stm.Queue, req *request) func(tx *stm.Tx) error {
	return func(tx *stm.Tx) error {
		s.attempts.Inc()
		start := now(tx) // naive: time.Now() makes the transaction inevitable
		st := s.stats.Load(tx)
		st.Accepted++
		st.Last = start
		s.stats.Store(tx, st)
		tx.AfterCommit(func() {
			s.txs.Add(1)
			q.Add(s.handle(req))
		})
		return nil
	}
}

// handle is the naive version's handler transaction.
func (s *Server) handle(req *request) func(tx *stm.Tx) error {
	return func(tx *stm.Tx) error {
		s.attempts.Inc()
		st := s.stats.Load(tx) // naive: every handler reads the shared counter
		body, hit := s.lookup(tx, req.n)
		if !hit {
			body = Render(req.n, UpTo(req.n))
			s.cache[req.n%cacheSlots].Store(tx, &entry{n: req.n, body: body})
		}
		etag := etagInTx(tx, body) // naive: hashing inside the transaction
		st.Served++
		st.Bytes += int64(len(body))
		if hit {
			st.CacheHits++
		}
		s.stats.Store(tx, st)
		tx.AfterCommit(func() {
			s.txs.Add(1)
			req.done <- response{body: body, etag: etag, hit: hit}
		})
		return nil
	}
}

// acceptFixed counts the request in its own statistics shard.
func (s *Server) acceptFixed(q *stm.Queue, req *request) func(tx *stm.Tx) error {
	shard := s.shards[req.id%statShards]
	return func(tx *stm.Tx) error {
		s.attempts.Inc()
		st := shard.Load(tx)
		st.Accepted++
		shard.Store(tx, st)
		tx.AfterCommit(func() {
			s.txs.Add(1)
			q.Add(s.handleFixed(req))
		})
		return nil
	}
}

// handleFixed computes the answer; the only shared state it touches early is
// the cache slot of its N, and its statistics shard only at the end.
func (s *Server) handleFixed(req *request) func(tx *stm.Tx) error {
	shard := s.shards[req.id%statShards]
	return func(tx *stm.Tx) error {
		s.attempts.Inc()
		body, hit := s.lookup(tx, req.n)
		if !hit {
			body = Render(req.n, UpTo(req.n))
			s.cache[req.n%cacheSlots].Store(tx, &entry{n: req.n, body: body})
		}
		st := shard.Load(tx)
		st.Served++
		st.Bytes += int64(len(body))
		if hit {
			st.CacheHits++
		}
		shard.Store(tx, st)
		tx.AfterCommit(func() {
			s.txs.Add(1)
			req.done <- response{body: body, hit: hit}
		})
		return nil
	}
}

func (s *Server) lookup(tx *stm.Tx, n int) ([]byte, bool) {
	if e := s.cache[n%cacheSlots].Load(tx); e != nil && e.n == n {
		return e.body, true
	}
	return nil, false
}

// servePlain is the baseline: an ordinary net/http handler, at most
// Options.Workers at a time, shared state under one mutex, the prime
// computation outside it.
func (s *Server) servePlain(w http.ResponseWriter, r *http.Request) {
	n, ok := parseN(w, r)
	if !ok {
		return
	}
	select {
	case s.sem <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	start := time.Now()
	s.mu.Lock()
	s.plainStats.Accepted++
	s.plainStats.Last = start
	e := s.plainCache[n%cacheSlots]
	s.mu.Unlock()
	hit := e != nil && e.n == n
	var body []byte
	if hit {
		body = e.body
	} else {
		body = Render(n, UpTo(n))
	}
	s.mu.Lock()
	if !hit {
		s.plainCache[n%cacheSlots] = &entry{n: n, body: body}
	}
	s.plainStats.Served++
	s.plainStats.Bytes += int64(len(body))
	if hit {
		s.plainStats.CacheHits++
	}
	s.mu.Unlock()
	<-s.sem
	writeBody(w, r, body, ETag(body))
}
