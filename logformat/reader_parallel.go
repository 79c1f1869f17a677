package logformat

// This file is the parallel reader (ReaderOptions.Jobs > 1): a goroutine
// reads the chunks ahead (chunkSource, which needs nothing of the tables),
// workers check their payload checksums and decode event batches whole,
// and the Reader takes the chunks in file order and applies them
// (Reader.apply) exactly as it does without workers: tables, the checks
// that need what came before (a thread going back in time, stack ids), the
// errors, salvage and Stats. So the events, errors and warnings are the
// same whatever the number of workers.
//
// A batch decoded by a worker is used as is when every stack id it names is
// defined by then (the usual case: stacks are written before the events
// that use them) and salvage has not filled in lost stack ids; otherwise
// the Reader decodes it again as the sequential reader does.

import (
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
)

// maxJobs caps the decoding workers: the one goroutine that consumes the
// events is the bottleneck well before, and every worker costs buffers.
const maxJobs = 8

// decodedBatch is an event batch decoded by a worker.
type decodedBatch struct {
	done   bool // decoded (the header is good if hdrMsg is empty)
	hdr    batchHeader
	hdrMsg string
	events []Event // [:k] decoded, the buffer is reused
	k      int     // events decoded before a problem, or all
	at     int     // a problem's payload offset
	msg    string  // the problem, or ""
	maxRef uint64  // the largest stack id named

	// walked: not decoded (done is false) but walked (walk): events[:wk]
	// and runs are what RawBatch.Fields returns at the batch's start,
	// which leaves it at offset wi, time wt, wleft events left.
	walked bool
	runs   []PlainRun
	wk, wi int
	wleft  int
	wt     int64
}

// decode checks c's payload checksum and decodes an event batch, or with
// raw walks it for a consumer of raw batches (walk) (in a worker: it
// touches only c).
func (c *chunk) decode(raw bool) {
	if !c.checked {
		c.checked, c.crcOK = true, crc32.Checksum(c.p, castagnoli) == c.crc
	}
	if !c.crcOK || c.typ != chunkEvents {
		return
	}
	b := &c.batch
	if b.hdr, b.hdrMsg = readBatchHeader(c.p); b.hdrMsg != "" {
		b.done = true
		return
	}
	if raw {
		b.walk(c.p)
		return
	}
	b.done = true
	if cap(b.events) < b.hdr.n {
		b.events = make([]Event, b.hdr.n)
	}
	d := eventDecoder{deferRefs: true}
	b.k, _, _, b.at, b.msg = d.decode(b.events[:b.hdr.n], c.p, b.hdr.i, b.hdr.base, b.hdr.thread)
	b.maxRef = d.maxRef
}

// decodedUsable reports whether a worker's decoding of a batch is what the
// Reader's own would be at this point of the log.
func (r *Reader) decodedUsable(b *decodedBatch) bool {
	return b.hdrMsg == "" && b.maxRef < uint64(len(r.stacks)) && !r.stackGaps
}

// useBatch hands out the events a worker decoded (see readEvents and
// badBatch, which do the same a slice at a time).
func (r *Reader) useBatch(c *chunk, size int64) (int, string) {
	b := &c.batch
	if msg := r.backInTime(&b.hdr); msg != "" {
		return 0, msg
	}
	r.evOff = c.start
	r.batch = batchState{thread: b.hdr.thread, start: c.start, size: size}
	r.setEvents(b.events[:b.k])
	if b.k > 0 {
		r.lastTime[b.hdr.thread] = b.events[b.k-1].Time
	}
	if b.msg != "" {
		msg := fmt.Sprintf("thread %d event %d: %s", b.hdr.thread, b.k, b.msg)
		r.corrupt(c.start, c.start+chunkHeaderSize+int64(b.at), size, msg)
	}
	return 0, ""
}

// pipeline runs the chunk source and the workers of a parallel Reader.
type pipeline struct {
	free  chan *chunk // items to read into
	work  chan *chunk // to the workers
	order chan *chunk // to the Reader, in file order
	quit  chan struct{}
	once  sync.Once
	cur   *chunk // the item the Reader is using
	// raw: the consumer takes event batches raw (Reader.Raw), so the
	// workers walk them for it (walk) instead of decoding them whole.
	raw atomic.Bool
}

func startPipeline(cs *chunkSource, jobs int) *pipeline {
	jobs = min(jobs, maxJobs)
	n := 2*jobs + 2 // items: one being read, one per worker, one used, some queued
	p := &pipeline{
		free:  make(chan *chunk, n),
		work:  make(chan *chunk, n),
		order: make(chan *chunk, n),
		quit:  make(chan struct{}),
	}
	for range n {
		p.free <- &chunk{done: make(chan struct{}, 1)}
	}
	for range jobs {
		go p.worker()
	}
	go p.produce(cs)
	return p
}

// produce reads chunk items until one that ends the log, or until stopped.
// Neither channel send blocks: there are no more items than room in them.
func (p *pipeline) produce(cs *chunkSource) {
	defer close(p.work)
	for {
		var c *chunk
		select {
		case c = <-p.free:
		case <-p.quit:
			return
		}
		cs.next(c)
		p.order <- c
		if c.what == itemChunk && !c.checked {
			p.work <- c
		} else {
			c.done <- struct{}{}
		}
		if c.stops(cs.salvage) {
			return
		}
	}
}

func (p *pipeline) worker() {
	for c := range p.work {
		c.decode(p.raw.Load())
		c.done <- struct{}{}
	}
}

func (p *pipeline) stop() { p.once.Do(func() { close(p.quit) }) }

// readParallel is readChunk with a pipeline: the next chunk in file order,
// once its worker is done with it.
func (r *Reader) readParallel() {
	if r.pipe == nil {
		r.pipe = startPipeline(&r.cs, r.jobs)
		r.pipe.raw.Store(r.wantRaw)
	}
	p := r.pipe
	if p.cur != nil {
		p.free <- p.cur
		p.cur = nil
	}
	c := <-p.order
	<-c.done
	p.cur = c
	r.apply(c)
	if r.err != nil {
		p.stop()
	}
}

// Close stops a parallel Reader's goroutines (ReaderOptions.Jobs > 1),
// which read ahead of the events handed out: call it when done with a
// Reader that was not read to its end. Reading to io.EOF, or to an error,
// stops them too. After Close, Next and NextBatch return ErrClosed (or the
// error that ended reading before). Close does not close the underlying
// reader, and always returns nil.
func (r *Reader) Close() error {
	if r.pipe != nil {
		r.pipe.stop()
	}
	if r.err == nil {
		r.err = ErrClosed
	}
	r.batch.left = 0
	r.setEvents(nil)
	return nil
}

// ErrClosed is what a Reader returns after Close.
var ErrClosed = errors.New("logformat: Reader closed")
