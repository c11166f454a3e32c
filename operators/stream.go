package operators

import (
	"errors"
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

	mu   sync.RWMutex // held for reading while a batch is handed on
	subs []*Query
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
	s := &stream{name: name, queue: make(chan []*Record, queueSize), tail: newRing(tailSize)}
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

// put queues a batch, waiting for room (statement-to-stream chaining).
func (s *stream) put(batch []*Record, stop <-chan struct{}) bool {
	s.pending.Add(int64(len(batch)))
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
	for batch := range s.queue {
		// Index each event's JSON once, before any statement reads it.
		for _, r := range batch {
			if r.Raw != nil && r.Index == nil {
				r.Index = IndexRaw(r.Raw, &s.layouts)
			}
		}
		s.tail.add([]*Record{sample(batch[0])})
		s.mu.RLock()
		for _, q := range s.subs {
			q.inflight.Add(1)
			q.in <- batch
		}
		s.mu.RUnlock()
		s.pending.Add(-int64(len(batch)))
	}
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

// swap replaces old with q (either may be nil) among the readers. It waits
// for the batch being handed on, so afterwards no batch reaches old.
func (s *stream) swap(old, q *Query) {
	s.mu.Lock()
	defer s.mu.Unlock()
	subs := make([]*Query, 0, len(s.subs)+1)
	for _, x := range s.subs {
		if x == old {
			if q != nil {
				subs = append(subs, q)
				q = nil
			}
			continue
		}
		subs = append(subs, x)
	}
	if q != nil {
		subs = append(subs, q)
	}
	s.subs = subs
}
