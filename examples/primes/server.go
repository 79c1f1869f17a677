package primes

import (
	"fmt"
	"net/http"
	"runtime"
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
	Last      time.Time // start of the latest request
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
	hit  bool
}

// Server answers GET /primes/N. Create it with NewServer and Close it.
type Server struct {
	opt      Options
	mux      *http.ServeMux
	queue    *stm.Queue
	kick     chan struct{}
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
	s.stats = stm.NewVar(Stats{}).Name("primes stats")
	s.shards = make([]*stm.Var[Stats], statShards)
	for i := range s.shards {
		s.shards[i] = stm.NewVar(Stats{})
	}
	s.cache = make([]*stm.Var[*entry], cacheSlots)
	for i := range s.cache {
		s.cache[i] = stm.NewVar[*entry](nil)
	}
	s.queue = stm.NewQueue()
	s.kick = make(chan struct{}, 1)
	s.mux.HandleFunc("GET /primes/{n}", s.serveSTM)
	s.wg.Go(s.dispatch)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the dispatcher. Call it after the HTTP server has stopped:
// a request that arrives later is never answered.
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

// serveSTM answers through the transactional server.
func (s *Server) serveSTM(w http.ResponseWriter, r *http.Request) {
	n, ok := parseN(w, r)
	if !ok {
		return
	}
	body, etag := s.answer(n)
	writeBody(w, r, body, etag)
}

// answer queues the request's handler transaction, wakes the dispatcher,
// waits for the handler to commit and, in the naive version, finishes the
// response in a second transaction.
func (s *Server) answer(n int) (body []byte, etag string) {
	req := &request{n: n, done: make(chan response, 1)}
	if s.opt.Fixed {
		// Fixed: the clock and the request number are read here, outside
		// any transaction, where they cost nothing.
		req.start = time.Now()
		req.id = s.nextID.Add(1)
		s.queue.Add(s.handleFixed(req))
	} else {
		s.queue.Add(s.handle(req))
	}
	select {
	case s.kick <- struct{}{}:
	default: // a kick is pending already
	}
	resp := <-req.done
	if s.opt.Fixed {
		// Fixed: hashing is pure, but it is also not shared state; after
		// commit it cannot make anything inevitable.
		return resp.body, ETag(resp.body)
	}
	return resp.body, s.finish(resp.body, resp.hit)
}

// dispatch is the IO loop. Requests are added to the one Queue as they
// arrive (by serveSTM); Queue.Run returns when the queue runs dry, so the
// loop starts it again at the next kick. A kick sent while Run is running
// makes one more, possibly empty, Run: no request is left behind.
func (s *Server) dispatch() {
	for {
		select {
		case <-s.kick:
		case <-s.quit:
			return
		}
		if err := s.queue.Run(s.opt.Workers); err != nil {
			// The handler transactions return no errors; one that did
			// would leave its client waiting forever, so fail loudly.
			panic(fmt.Sprintf("primes: a handler transaction failed: %v", err))
		}
	}
}

// yieldToIO lets the goroutines of the HTTP side run after a handler has
// handed its answer over. Queue workers are compute-bound: without this,
// two of them keep both Ps of a 2-core machine busy for whole transactions
// (about 10 ms here, the scheduler preempts at 10 ms), and the connection
// goroutines that write the answers and read the next requests, and so
// feed the queue, wait for a P. An event loop does the same thing: it goes
// back to poll between callbacks. Measured on 2 cores: fixed, 2 workers,
// from ~150 to ~270 req/s.
func yieldToIO() { runtime.Gosched() }

// handle is the naive version's handler transaction, Tornado's request
// callback: it numbers the request from the shared counter, takes its start
// time, computes the answer (or finds it in the cache) and hands it back to
// the request's goroutine, which runs finish.
func (s *Server) handle(req *request) func(tx *stm.Tx) error {
	return func(tx *stm.Tx) error {
		s.attempts.Inc()
		st := s.stats.Load(tx) // naive: every request reads the shared counter
		st.Accepted++
		// naive: reading the clock is I/O that cannot be undone, so, as
		// PyPy-STM did for time.time(), it makes the transaction inevitable.
		// One line, so that the log names this line for both.
		start := func() time.Time { tx.Inevitable(); return time.Now() }()
		st.Last = start
		s.stats.Store(tx, st)
		body, hit := s.lookup(tx, req.n)
		if !hit {
			body = Render(req.n, UpTo(req.n))
			s.cache[req.n%cacheSlots].Store(tx, &entry{n: req.n, body: body})
		}
		tx.AfterCommit(func() {
			s.txs.Add(1)
			req.done <- response{body: body, hit: hit}
			yieldToIO()
		})
		return nil
	}
}

// finish is the naive version's second transaction, Tornado's finish(),
// run by the request's goroutine (the connection's side, as Tornado's
// flush was): it computes the ETag and counts the response.
func (s *Server) finish(body []byte, hit bool) (etag string) {
	stm.Atomically(func(tx *stm.Tx) error {
		s.attempts.Inc()
		// naive: hashing inside the transaction, treated as an external
		// call the way PyPy-STM treated Tornado's hashlib call.
		etag = func() string { tx.Inevitable(); return ETag(body) }()
		st := s.stats.Load(tx)
		st.Served++
		st.Bytes += int64(len(body))
		if hit {
			st.CacheHits++
		}
		s.stats.Store(tx, st)
		return nil
	})
	s.txs.Add(1)
	return etag
}

// handleFixed is the fixed version's only transaction: the clock was read
// and the request numbered before it, the ETag is computed after it, and the
// shared state it touches is the cache slot of its N and, at its very end,
// the statistics shard of its number.
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
		st.Accepted++
		st.Served++
		st.Bytes += int64(len(body))
		if hit {
			st.CacheHits++
		}
		if req.start.After(st.Last) {
			st.Last = req.start
		}
		shard.Store(tx, st)
		tx.AfterCommit(func() {
			s.txs.Add(1)
			req.done <- response{body: body, hit: hit}
			yieldToIO()
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
