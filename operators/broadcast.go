package operators

import (
	"strconv"
	"sync"
	"sync/atomic"
)

// ring keeps the last n records.
type ring struct {
	mu   sync.Mutex
	buf  []*Record
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]*Record, n)} }

func (r *ring) add(rows []*Record) {
	if len(rows) > len(r.buf) {
		rows = rows[len(rows)-len(r.buf):]
	}
	r.mu.Lock()
	for _, row := range rows {
		r.buf[r.next] = detach(row)
		r.next++
		if r.next == len(r.buf) {
			r.next, r.full = 0, true
		}
	}
	r.mu.Unlock()
}

// detach copies a record whose Raw is a slice of a larger buffer (an ingest
// request body), so that keeping it does not keep the whole body alive.
// Output rows kept here come from the last batch or two, so the value slabs
// they share are kept anyway.
func detach(r *Record) *Record {
	if cap(r.Raw)-len(r.Raw) < 256 {
		return r
	}
	c := *r
	c.Raw = append([]byte(nil), r.Raw...)
	return &c
}

// sample copies a record completely: the stream tail keeps one record from
// each of many batches, and must not keep those batches' bodies and slabs.
// An event over maxSample bytes is kept as a stand-in that says its size.
func sample(r *Record) *Record {
	c := &Record{Arrival: r.Arrival, Schema: r.Schema}
	if len(r.Raw) > maxSample {
		c.Raw = strconv.AppendInt([]byte(`{"_tail_omitted_bytes":`), int64(len(r.Raw)), 10)
		c.Raw = append(c.Raw, '}')
	} else {
		c.Raw = append([]byte(nil), r.Raw...)
	}
	c.Values = append([]Value(nil), r.Values...)
	return c
}

// maxSample bounds the bytes the tail keeps of one event: any client may
// post to any stream, and fifty 16 MiB events would hold 800 MiB for a
// display.
const maxSample = 64 << 10

func (r *ring) snapshot() []*Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]*Record(nil), r.buf[:r.next]...)
	}
	out := make([]*Record, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// recentRows is how many output rows a statement keeps for new subscribers.
const recentRows = 256

// broadcast fans a statement's output out to live subscribers (SSE).
type broadcast struct {
	mu      sync.RWMutex
	subs    map[*Subscription]struct{}
	recent  *ring
	dropped atomic.Uint64
}

func newBroadcast() *broadcast {
	return &broadcast{subs: map[*Subscription]struct{}{}, recent: newRing(recentRows)}
}

// Subscription is one follower of a statement's output.
type Subscription struct {
	C <-chan *Record
	// Gone is closed when the statement is deleted, after its last rows
	// went into C; a replacement does not close it.
	Gone    <-chan struct{}
	c       chan *Record
	gone    chan struct{}
	b       *broadcast
	Dropped atomic.Uint64
}

func (b *broadcast) subscribe(buffer int) *Subscription {
	if buffer <= 0 {
		buffer = 1024
	}
	c := make(chan *Record, buffer)
	gone := make(chan struct{})
	s := &Subscription{C: c, Gone: gone, c: c, gone: gone, b: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	delete(s.b.subs, s)
	s.b.mu.Unlock()
}

// end tells every subscriber that the statement is gone.
func (b *broadcast) end() {
	b.mu.Lock()
	for s := range b.subs {
		close(s.gone)
		delete(b.subs, s)
	}
	b.mu.Unlock()
}

func (b *broadcast) publish(rows []*Record) {
	b.recent.add(rows)
	b.mu.RLock()
	for s := range b.subs {
		for _, r := range rows {
			select {
			case s.c <- r:
			default:
				s.Dropped.Add(1)
				b.dropped.Add(1)
			}
		}
	}
	b.mu.RUnlock()
}
