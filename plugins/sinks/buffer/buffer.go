// Package buffer is the delivery machinery every external sink shares: a
// bounded row buffer that Write blocks on when full (back-pressure), one
// writer goroutine that sends batches by size and by time, retries with
// exponential backoff and jitter, and a dead-letter path for rows the
// external system refuses for good. Nothing leaves the buffer uncounted.
package buffer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"sluice/operators"
)

// Buffer queues a sink's rows and delivers them through a Sender.
type Buffer struct {
	opt   Options
	send  Sender
	query string // statement name, for dead letters and logs
	sink  string // sink type, for dead letters and logs
	env   *operators.Env

	mu       sync.Mutex
	pending  []*operators.Record // accepted, not yet taken by the writer
	oldest   time.Time           // when the oldest pending row arrived
	inflight int                 // taken by the writer, not yet resolved
	written  uint64              // rows ever accepted
	resolved uint64              // rows ever acknowledged or dead-lettered
	flushing int                 // Flush calls waiting: send partial batches now
	closed   bool
	space    chan struct{} // closed and replaced whenever rows leave the buffer
	progress chan struct{} // closed and replaced whenever rows are resolved

	wake   chan struct{} // tells the writer that something changed
	stop   chan struct{} // closed by Close: cut backoff sleeps short
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	acked        atomic.Uint64
	retries      atomic.Uint64
	deadLettered atomic.Uint64
}

// New starts a buffer whose writer goroutine delivers through send. query
// and sink name the statement and sink type in dead letters and logs.
func New(query, sink string, env *operators.Env, opt Options, send Sender) *Buffer {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Buffer{
		opt: opt, send: send, query: query, sink: sink, env: env,
		pending:  make([]*operators.Record, 0, opt.Capacity),
		space:    make(chan struct{}),
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	go b.run()
	return b
}

// Write queues rows, blocking while the buffer is full until the writer
// frees space, ctx ends or the buffer closes. Its errors are
// *operators.PartialWriteError: the rows it counts as accepted were queued
// and will be delivered.
func (b *Buffer) Write(ctx context.Context, rows []*operators.Record) error {
	accepted := 0
	notQueued := func(err error) error {
		return &operators.PartialWriteError{Accepted: accepted, Err: err}
	}
	for accepted < len(rows) {
		left := len(rows) - accepted
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return notQueued(fmt.Errorf("%s sink: %d rows not queued: %w", b.sink, left, ErrClosed))
		}
		free := b.opt.Capacity - len(b.pending) - b.inflight
		if free <= 0 {
			space := b.space
			b.mu.Unlock()
			select {
			case <-space:
				continue
			case <-ctx.Done():
				return notQueued(fmt.Errorf("%s sink: buffer full, %d rows not queued: %w", b.sink, left, ctx.Err()))
			}
		}
		n := min(free, left)
		if len(b.pending) == 0 {
			b.oldest = time.Now()
		}
		b.pending = append(b.pending, rows[accepted:accepted+n]...)
		b.written += uint64(n)
		b.mu.Unlock()
		accepted += n
		b.signal()
	}
	return nil
}

// Flush sends what is queued without waiting for batches to fill, and
// waits until every row written before the call is acknowledged or
// dead-lettered.
func (b *Buffer) Flush(ctx context.Context) error {
	b.mu.Lock()
	target := b.written
	b.flushing++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.flushing--
		b.mu.Unlock()
	}()
	b.signal()
	for {
		b.mu.Lock()
		resolved, progress := b.resolved, b.progress
		b.mu.Unlock()
		if resolved >= target {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return fmt.Errorf("%s sink: flush: %d rows not yet acknowledged: %w", b.sink, target-resolved, ctx.Err())
		}
	}
}

// Close stops accepting rows and lets the writer deliver what is queued,
// giving each failing batch one last attempt before dead-lettering it.
// Requests still running after CloseTimeout are cancelled. Call Flush first
// to wait for delivery with retries.
func (b *Buffer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.done
		return nil
	}
	b.closed = true
	close(b.space) // wakes blocked writers, who then see closed
	b.space = make(chan struct{})
	b.mu.Unlock()
	close(b.stop)
	b.signal()
	t := time.NewTimer(b.opt.CloseTimeout)
	defer t.Stop()
	select {
	case <-b.done:
	case <-t.C:
		b.cancel()
		<-b.done
	}
	b.cancel()
	return nil
}

// Stats are a buffer's counters.
type Stats struct {
	Buffered     int    // rows queued or in flight
	Acked        uint64 // rows the external system acknowledged
	Retries      uint64 // requests sent again after a failure
	DeadLettered uint64 // rows sent to the dead-letter stream
}

// Stats reads the counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	buffered := len(b.pending) + b.inflight
	b.mu.Unlock()
	return Stats{Buffered: buffered, Acked: b.acked.Load(), Retries: b.retries.Load(), DeadLettered: b.deadLettered.Load()}
}

// Counters are the Stats by name, as operators.CountingSink reports them.
func (b *Buffer) Counters() map[string]uint64 {
	s := b.Stats()
	return map[string]uint64{"buffered": uint64(s.Buffered), "acked": s.Acked, "retries": s.Retries, "dead_lettered": s.DeadLettered}
}

func (b *Buffer) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Buffer) run() {
	defer close(b.done)
	batch := make([]*operators.Record, 0, b.opt.MaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var ok bool
		batch, ok = b.next(batch, timer)
		if !ok {
			return
		}
		b.deliver(batch)
		clear(batch)
	}
}

// next waits for a batch: MaxBatch rows, or any rows once the oldest has
// waited Interval, a Flush is waiting or the buffer is closing. It returns
// false when the buffer is closed and empty.
func (b *Buffer) next(batch []*operators.Record, timer *time.Timer) ([]*operators.Record, bool) {
	for {
		b.mu.Lock()
		n := len(b.pending)
		waited := time.Since(b.oldest)
		if n > 0 && (n >= b.opt.MaxBatch || b.flushing > 0 || b.closed || waited >= b.opt.Interval) {
			take := min(n, b.opt.MaxBatch)
			batch = append(batch[:0], b.pending[:take]...)
			copy(b.pending, b.pending[take:])
			clear(b.pending[n-take:])
			b.pending = b.pending[:n-take]
			b.inflight = take
			b.mu.Unlock()
			return batch, true
		}
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return batch, false
		}
		var fire <-chan time.Time
		if n > 0 {
			timer.Reset(b.opt.Interval - waited)
			fire = timer.C
		}
		select {
		case <-b.wake:
		case <-fire:
		}
		timer.Stop()
	}
}

// deliver sends one batch until every row is acknowledged or dead-lettered.
func (b *Buffer) deliver(rows []*operators.Record) {
	for attempt := 0; ; attempt++ {
		res, err := b.send(b.ctx, rows)
		var why string
		switch {
		case err != nil && IsPermanent(err):
			b.deadLetter(rows, err.Error())
			b.resolve(len(rows))
			return
		case err != nil:
			why = err.Error()
		default:
			b.deadLetterEach(res.Rejected)
			b.acked.Add(uint64(len(rows) - len(res.Retry) - len(res.Rejected)))
			b.resolve(len(rows) - len(res.Retry))
			if len(res.Retry) == 0 {
				if attempt > 0 {
					b.env.Log().Info("sink delivering again", "query", b.query, "sink", b.sink, "attempts", attempt+1)
				}
				return
			}
			rows = slices.Clone(res.Retry)
			why = res.RetryReason
		}
		if b.isClosed() && attempt > 0 {
			b.deadLetter(rows, "sink closed before delivery: "+why)
			b.resolve(len(rows))
			return
		}
		if attempt == 0 {
			b.env.Log().Warn("sink delivery failed, retrying", "query", b.query, "sink", b.sink, "rows", len(rows), "err", why)
		}
		b.retries.Add(1)
		b.sleep(b.backoff(attempt))
	}
}

// backoff is the delay before retry attempt+1: exponential, capped, with
// jitter in its upper half so that many sinks do not retry in step.
func (b *Buffer) backoff(attempt int) time.Duration {
	d := b.opt.MaxBackoff
	if attempt < 30 {
		d = min(b.opt.MinBackoff<<attempt, b.opt.MaxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or less when the buffer is closing.
func (b *Buffer) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.stop:
	}
}

func (b *Buffer) isClosed() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

func (b *Buffer) resolve(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.inflight -= n
	b.resolved += uint64(n)
	close(b.space)
	b.space = make(chan struct{})
	close(b.progress)
	b.progress = make(chan struct{})
	b.mu.Unlock()
}

// deadLetterEach sends rejections on, one call per run of equal reasons.
func (b *Buffer) deadLetterEach(rs []Rejection) {
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j].Reason == rs[i].Reason {
			j++
		}
		rows := make([]*operators.Record, 0, j-i)
		for _, r := range rs[i:j] {
			rows = append(rows, r.Row)
		}
		b.deadLetter(rows, rs[i].Reason)
		i = j
	}
}

func (b *Buffer) deadLetter(rows []*operators.Record, reason string) {
	b.deadLettered.Add(uint64(len(rows)))
	b.env.Log().Error("sink rejected rows; sent to the dead-letter stream", "query", b.query, "sink", b.sink, "rows", len(rows), "reason", reason)
	b.env.DeadLetter(b.query, b.sink, reason, rows)
}
