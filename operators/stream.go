package operators

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrBackpressure means a stream's bounded queue is full; the caller should
// retry later (ingest answers 429 with Retry-After).
var ErrBackpressure = errors.New("stream queue is full")

// stream is a named event stream: a bounded queue of batches and one
// goroutine that hands every batch to each statement reading the stream.
type stream struct {
	name    string
	queue   chan []*Record
	pending atomic.Int64 // records queued, not yet handed on
	in      atomic.Uint64
	tail    *ring   // a sample of recent records: the first of each batch
	layouts Layouts // the records' key layouts; used by run only
	// eventTimeOnly: the statements reading the stream see a stopped wall clock.
	eventTimeOnly atomic.Bool

	// subs are the readers. Only run changes them, applying the requests
	// on swaps between hand-offs or while one waits for a reader's queue,
	// so that a reader that is stuck never blocks a change of readers.
	// mu lets other goroutines read subs.
	swaps chan swapRequest
	mu    sync.RWMutex
	subs  []*Query
}

// swapRequest replaces old with q among the readers; either may be nil.
type swapRequest struct {
	old, q *Query
	done   chan struct{}
}

// StreamStats is a stream's state for the API and metrics.
type StreamStats struct {
	Name       string   `json:"name"`
	Ingested   uint64   `json:"ingested"`
	QueueDepth int64    `json:"queue_depth"`
	QueueCap   int      `json:"queue_capacity_batches"`
	Readers    []string `json:"readers"`
}

func newStream(name string, queueSize int) *stream {
	s := &stream{name: name, queue: make(chan []*Record, queueSize), tail: newRing(tailSize), swaps: make(chan swapRequest)}
	go s.run()
	return s
}

// offer queues a batch without blocking.
func (s *stream) offer(batch []*Record) error {
	s.pending.Add(int64(len(batch)))
	select {
	case s.queue <- batch:
		s.in.Add(uint64(len(batch)))
		return nil
	default:
		s.pending.Add(-int64(len(batch)))
		return ErrBackpressure
	}
}

// put queues a batch, waiting for room until stop closes (statement-to-
// stream chaining). Room wins over a closed stop.
func (s *stream) put(batch []*Record, stop <-chan struct{}) bool {
	s.pending.Add(int64(len(batch)))
	select {
	case s.queue <- batch:
		s.in.Add(uint64(len(batch)))
		return true
	default:
	}
	select {
	case s.queue <- batch:
		s.in.Add(uint64(len(batch)))
		return true
	case <-stop:
		s.pending.Add(-int64(len(batch)))
		return false
	}
}

// tailSize is how many sampled records a stream keeps for the live tail.
const tailSize = 50

func (s *stream) run() {
	for {
		select {
		case batch := <-s.queue:
			s.handOn(batch)
		case r := <-s.swaps:
			s.apply(r)
		}
	}
}

// handOn gives the batch to every reader. While it waits for room in a
// reader's queue, it applies changes of readers: a reader removed then
// does not get the batch, and one replaced leaves it to its successor, so
// each batch reaches exactly one of a replaced statement and its new
// version.
func (s *stream) handOn(batch []*Record) {
	// Index each event's JSON once, before any statement reads it.
	for _, r := range batch {
		if r.Raw != nil && r.Index == nil {
			r.Index = IndexRaw(r.Raw, &s.layouts)
		}
	}
	s.tail.add([]*Record{sample(batch[0])})
	for i := 0; i < len(s.subs); {
		q := s.subs[i]
		q.inflight.Add(1)
		select {
		case q.in <- batch: // the common case, without the wait below
			i++
			continue
		default:
		}
		select {
		case q.in <- batch:
			i++
		case r := <-s.swaps:
			s.apply(r)
			q.inflight.Add(-1)
			// One reader changed. If q is still one, it may have moved
			// up; if not, its successor, or the reader after it, is at i.
			if at := slices.Index(s.subs, q); at >= 0 {
				i = at
			}
		}
	}
	s.pending.Add(-int64(len(batch)))
}

// apply changes the readers as r asks.
func (s *stream) apply(r swapRequest) {
	defer close(r.done)
	subs := slices.Clone(s.subs)
	at := slices.Index(subs, r.old)
	switch {
	case r.old != nil && at >= 0 && r.q != nil:
		subs[at] = r.q
	case r.old != nil && at >= 0:
		subs = slices.Delete(subs, at, at+1)
	case r.q != nil:
		subs = append(subs, r.q)
	}
	s.mu.Lock()
	s.subs = subs
	s.mu.Unlock()
}

func (s *stream) stats() StreamStats {
	s.mu.RLock()
	readers := make([]string, len(s.subs))
	for i, q := range s.subs {
		readers[i] = q.spec.Name
	}
	s.mu.RUnlock()
	return StreamStats{Name: s.name, Ingested: s.in.Load(), QueueDepth: s.pending.Load(), QueueCap: cap(s.queue), Readers: readers}
}

// swap replaces old with q (either may be nil) among the readers. Once it
// returns, no batch reaches old; it never waits for a reader to take one.
func (s *stream) swap(old, q *Query) {
	done := make(chan struct{})
	s.swaps <- swapRequest{old: old, q: q, done: done}
	<-done
}
