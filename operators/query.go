package operators

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// Query is a running statement: its own goroutine reads batches from its
// source stream, runs the operator chain and hands output rows to
// subscribers, sinks and the INSERT INTO stream.
type Query struct {
	rt        *Runtime
	spec      *QuerySpec
	op        Operator
	counters  Counters
	in        chan []*Record
	stop      chan struct{}
	running   chan struct{} // closed when run starts
	done      chan struct{}
	source    *stream
	target    *stream
	results   *broadcast
	sinks     []*sinkRunner
	started   time.Time
	stopped   atomic.Bool
	stateSize atomic.Int64
	control   chan func()  // runs in the statement's goroutine, between batches
	inflight  atomic.Int64 // batches handed to the statement and not yet processed
	// busy is the time spent processing, blocked the time spent handing
	// rows on (sinks, the INSERT INTO stream), waiting for room included;
	// emitting is the latter within the current call, kept by the goroutine.
	busy, blocked atomic.Int64 // ns
	emitting      time.Duration
	// ctx is for sink writes; it ends once a stop outlasts the grace period.
	ctx    context.Context
	cancel context.CancelFunc
	// panicked is the last panic guard caught, for Status; nil: none.
	panicked atomic.Pointer[string]
}

// Spec is the compiled statement.
func (q *Query) Spec() *QuerySpec { return q.spec }

// QueryStats are a statement's counters.
type QueryStats struct {
	In        uint64 `json:"events_in"`
	Out       uint64 `json:"rows_out"`
	Late      uint64 `json:"late_events"`
	Errors    uint64 `json:"errors"`
	Evictions uint64 `json:"evictions"`
	StateSize int    `json:"state_size"`
	Queued    int    `json:"queued_batches"`
	Dropped   uint64 `json:"subscriber_drops"`
	// Busy is the time the statement spent processing; Blocked the time it
	// spent handing its rows on, most of it waiting for room downstream. A
	// statement busy nearly all the time is the pipeline's bottleneck.
	Busy    float64      `json:"busy_seconds"`
	Blocked float64      `json:"blocked_seconds"`
	Started time.Time    `json:"started"`
	Sinks   []SinkStatus `json:"sinks"`
}

// Stats reads the counters. StateSize is read racily on purpose: it is a gauge.
func (q *Query) Stats() QueryStats {
	st := QueryStats{
		In:        q.counters.In.Load(),
		Out:       q.counters.Out.Load(),
		Late:      q.counters.Late.Load(),
		Errors:    q.counters.Errors.Load(),
		Evictions: q.counters.Evictions.Load(),
		Queued:    len(q.in),
		Dropped:   q.results.dropped.Load(),
		Busy:      time.Duration(q.busy.Load()).Seconds(),
		Blocked:   time.Duration(q.blocked.Load()).Seconds(),
		Started:   q.started,
		Sinks:     []SinkStatus{},
	}
	st.StateSize = int(q.stateSize.Load())
	for _, s := range q.sinks {
		st.Sinks = append(st.Sinks, s.status())
	}
	return st
}

// Status is "running", or "degraded: …" naming a panic the statement went
// on after (see guard), or sinks that are not configured or failing. A statement with an unconfigured sink still runs.
func (q *Query) Status() string {
	if msg := q.panicked.Load(); msg != nil {
		return "degraded: panicked on a batch (" + *msg + "); see the log"
	}
	for _, s := range q.sinks {
		if st := s.status(); st.State != "ok" {
			return "degraded: " + st.State
		}
	}
	return "running"
}

func (q *Query) run() {
	close(q.running)
	defer close(q.done)
	// CPU profiles (--pprof) attribute samples to the statement.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("statement", q.spec.Name)))
	ticker := time.NewTicker(q.rt.cfg.TickInterval)
	defer ticker.Stop()
	emit := q.emit
	for {
		select {
		case batch := <-q.in:
			q.process(batch, emit)
		case fn := <-q.control:
			fn()
		case <-ticker.C:
			if q.rt.holding.Load() {
				continue // a snapshot is being taken: nothing may change
			}
			start := q.startTiming()
			q.guard(0, func() { q.op.Tick(q.clock(), emit) })
			q.account(start)
			q.stateSize.Store(int64(q.op.StateSize()))
		case <-q.stop:
			// The source no longer sends here: finish what is queued.
			for {
				select {
				case batch := <-q.in:
					q.process(batch, emit)
				default:
					q.closeSinks()
					return
				}
			}
		}
	}
}

// process runs one batch through the operators.
func (q *Query) process(batch []*Record, emit Emit) {
	start := q.startTiming()
	q.guard(len(batch), func() { q.op.Process(batch, emit) })
	q.account(start)
	q.counters.In.Add(uint64(len(batch))) // after: In counts what went through
	q.inflight.Add(-1)
}

// guard runs fn, a call into the statement's operators. A panic there (a
// bug some input provokes) must not take the server and every other
// statement down with it: it is logged with its stack, the batch's records
// count as errors, Status says so, and the statement goes on with its next
// batch. Its state may hold part of the batch the panic interrupted.
func (q *Query) guard(records int, fn func()) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		q.counters.Errors.Add(uint64(max(records, 1)))
		msg := fmt.Sprint(v)
		q.panicked.Store(&msg)
		q.rt.env.Log().Error("statement panicked; it goes on with its next batch",
			"statement", q.spec.Name, "records", records, "panic", msg, "stack", string(debug.Stack()))
	}()
	fn()
}

// clock is the wall clock the statement's operators see on a tick. Fed by
// an event-time-only stream it stands still at 0: a watermark then never
// finds the input idle, and time moves with the events alone.
func (q *Query) clock() int64 {
	if q.source.eventTimeOnly.Load() {
		return 0
	}
	return q.rt.cfg.Now()
}

// startTiming begins a processing call that account ends.
func (q *Query) startTiming() time.Time {
	q.emitting = 0
	return time.Now()
}

// account splits the time since start into busy and blocked.
func (q *Query) account(start time.Time) {
	total := time.Since(start)
	q.busy.Add(int64(total - q.emitting))
	q.blocked.Add(int64(q.emitting))
	q.emitting = 0
}

func (q *Query) emit(rows []*Record) {
	if len(rows) == 0 {
		return
	}
	start := time.Now()
	defer func() { q.emitting += time.Since(start) }()
	q.counters.Out.Add(uint64(len(rows)))
	q.results.publish(rows)
	for _, s := range q.sinks {
		q.counters.Errors.Add(uint64(s.write(q.ctx, rows)))
	}
	if q.target != nil {
		batch := make([]*Record, len(rows))
		copy(batch, rows)
		// A stopping statement still hands on what its queued batches
		// give; it gives up only once the grace period is over.
		if !q.target.put(batch, q.ctx.Done()) {
			q.counters.Errors.Add(uint64(len(rows)))
		}
	}
}

func (q *Query) closeSinks() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range q.sinks {
		s.close(ctx)
	}
}

// stopAndWait is called once the source no longer sends to q.
// A statement that is stopped finishes its queued batches; a sink that does
// not take rows within the grace period gets its write cancelled (the rows
// are dead-lettered), so a sink that is down cannot hang a delete or replace.
func (q *Query) stopAndWait() {
	if q.stopped.CompareAndSwap(false, true) {
		close(q.stop)
	}
	// The grace period starts when the statement does: a new version that
	// waits for the one it replaces gets all of it.
	<-q.running
	select {
	case <-q.done:
	case <-time.After(q.rt.cfg.StopGrace):
		q.cancel()
		<-q.done
	}
	q.cancel()
}

// FlushSinks waits until every sink acknowledged what it was given.
func (q *Query) FlushSinks(ctx context.Context) error {
	var errs []error
	for _, s := range q.sinks {
		if s.sink != nil {
			errs = append(errs, s.sink.Flush(ctx))
		}
	}
	return errors.Join(errs...)
}
