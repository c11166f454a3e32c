package operators

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// RuntimeConfig sizes the runtime. Zero values mean the defaults.
type RuntimeConfig struct {
	Env          *Env
	QueueSize    int           // batches a stream queues before ingest gets ErrBackpressure (128)
	MaxStreams   int           // streams in all beyond which ingest creates no new one (1024)
	QueryQueue   int           // batches a statement queues before its stream waits (8)
	TickInterval time.Duration // how often statements see the wall clock (100ms)
	StopGrace    time.Duration // how long a stopping statement waits on a blocked sink (10s)
	Now          func() int64  // wall clock in ms; tests may replace it
}

// Runtime holds the streams and the running statements.
type Runtime struct {
	cfg RuntimeConfig
	env *Env

	mu      sync.Mutex
	streams map[string]*stream
	queries map[string]*Query
	results map[string]*broadcast // by statement name, so subscribers survive a replace

	// A snapshot write-locks ingest and sets holding: Ingest answers
	// ErrBackpressure and statements skip wall-clock ticks, so the runtime
	// drains to a state no input or timer changes while it is saved.
	ingest  sync.RWMutex
	holding atomic.Bool
	// life is held for reading by Deploy, Replace and Delete until the
	// statements they stop are done, and for writing by Snapshot: a
	// snapshot sees every statement running and none stopping.
	life sync.RWMutex
	// stopping counts statements replaced or deleted and not yet done.
	stopping atomic.Int64
	closed   bool // under mu: Close has begun, Deploy refuses
}

// NewRuntime starts an empty runtime.
func NewRuntime(cfg RuntimeConfig) *Runtime {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 128
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.QueryQueue <= 0 {
		// Short: the readers of a stream stay close behind each other, so
		// a batch is still in the CPU's cache when the next one reads it
		// (a shipped pipeline run takes 10–20 % less CPU than with 64).
		// Bursts queue on the stream (QueueSize).
		cfg.QueryQueue = 8
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 100 * time.Millisecond
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().UnixMilli() }
	}
	env := cfg.Env
	if env == nil {
		env = &Env{}
	}
	rt := &Runtime{cfg: cfg, env: env, streams: map[string]*stream{}, queries: map[string]*Query{}, results: map[string]*broadcast{}}
	env.Emit = func(name string, recs []*Record) error { return rt.stream(name).offer(recs) }
	return rt
}

// Env is the environment plugins see.
func (rt *Runtime) Env() *Env { return rt.env }

// Now is the runtime's wall clock in ms.
func (rt *Runtime) Now() int64 { return rt.cfg.Now() }

func (rt *Runtime) stream(name string) *stream {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.streamLocked(name)
}

func (rt *Runtime) streamLocked(name string) *stream {
	return rt.streamSized(name, rt.cfg.QueueSize)
}

// chainedQueue is how many batches a stream fed by INSERT INTO queues.
const chainedQueue = 8

// streamSized finds or creates a stream; a new one queues capacity batches.
// Streams that statements feed with INSERT INTO are created with the small
// statement queue: their writers wait for room, so a deep queue would only
// hold more of every batch in memory under back-pressure. Ingest streams
// get QueueSize to absorb bursts before answering 429.
func (rt *Runtime) streamSized(name string, capacity int) *stream {
	s, ok := rt.streams[name]
	if !ok {
		s = newStream(name, capacity)
		rt.streams[name] = s
	}
	return s
}

// Ingest queues a batch on a stream without waiting. It returns
// ErrBackpressure when the stream's queue is full, or while a snapshot is
// being taken; nothing is queued then.
func (rt *Runtime) Ingest(streamName string, batch []*Record) error {
	if len(batch) == 0 {
		return nil
	}
	if !rt.ingest.TryRLock() {
		return ErrBackpressure
	}
	defer rt.ingest.RUnlock()
	s, err := rt.ingestStream(streamName)
	if err != nil {
		return err
	}
	return s.offer(batch)
}

// DefaultMaxStreams is RuntimeConfig.MaxStreams when not set.
const DefaultMaxStreams = 1024

// ErrTooManyStreams is Ingest's error for a stream that does not exist
// when the runtime already has MaxStreams streams.
var ErrTooManyStreams = errors.New("too many streams")

// Declare creates a stream that a source will feed, whatever the number of
// streams: declaring one is an operator's act, like deploying a statement.
func (rt *Runtime) Declare(name string) {
	rt.stream(name)
}

// Pending is how many records a stream holds that its statements have not
// taken yet (0 for no such stream).
func (rt *Runtime) Pending(name string) int {
	rt.mu.Lock()
	s := rt.streams[name]
	rt.mu.Unlock()
	if s == nil {
		return 0
	}
	return int(s.pending.Load())
}

// HasStream reports whether a stream of that name exists.
func (rt *Runtime) HasStream(name string) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	_, ok := rt.streams[name]
	return ok
}

// ingestStream finds the stream ingest names, creating it only while there
// are fewer than MaxStreams: a client may name any stream, and each holds a
// goroutine and a preallocated queue for good. Streams that statements
// read or write are created at deploy, whatever their number.
func (rt *Runtime) ingestStream(name string) (*stream, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if s, ok := rt.streams[name]; ok {
		return s, nil
	}
	if n := len(rt.streams); n >= rt.cfg.MaxStreams {
		return nil, fmt.Errorf("%w: no stream named %q, and there are already %d, the most ingest creates", ErrTooManyStreams, name, n)
	}
	return rt.streamLocked(name), nil
}

// EventTimeOnly stops the wall clock for every statement fed, directly or
// through INSERT INTO, by the stream: their windows and sessions close when
// event time passes them, never because the stream went quiet. A source
// that replays after a crash needs this, so that the replay closes windows
// at the same events as the first run did.
func (rt *Runtime) EventTimeOnly(streamName string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.eventTimeOnlyLocked(rt.streamLocked(streamName))
}

func (rt *Runtime) eventTimeOnlyLocked(s *stream) {
	if s.eventTimeOnly.Swap(true) {
		return
	}
	for _, q := range rt.queries {
		if q.source == s && q.target != nil {
			rt.eventTimeOnlyLocked(q.target)
		}
	}
}

// Streams lists every stream, sorted by name.
func (rt *Runtime) Streams() []StreamStats {
	rt.mu.Lock()
	ss := make([]*stream, 0, len(rt.streams))
	for _, s := range rt.streams {
		ss = append(ss, s)
	}
	rt.mu.Unlock()
	out := make([]StreamStats, len(ss))
	for i, s := range ss {
		out[i] = s.stats()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StreamTail returns a sample of a stream's most recent records; ok is
// false when there is no stream of that name.
func (rt *Runtime) StreamTail(name string) (recs []*Record, ok bool) {
	rt.mu.Lock()
	s, ok := rt.streams[name]
	rt.mu.Unlock()
	if !ok {
		return nil, false
	}
	return s.tail.snapshot(), true
}

// Query finds a running statement by name.
func (rt *Runtime) Query(name string) (*Query, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	q, ok := rt.queries[name]
	return q, ok
}

// Queries lists the running statements, sorted by name.
func (rt *Runtime) Queries() []*Query {
	rt.mu.Lock()
	out := make([]*Query, 0, len(rt.queries))
	for _, q := range rt.queries {
		out = append(out, q)
	}
	rt.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].spec.Name < out[j].spec.Name })
	return out
}

// ErrExists and ErrNotFound are returned by Deploy, Replace and Delete,
// ErrClosed by a Deploy once Close has begun.
var (
	ErrExists   = errors.New("a statement with that name is already deployed")
	ErrNotFound = errors.New("no statement with that name")
	ErrClosed   = errors.New("the runtime is shutting down")
)

// Deploy starts a compiled statement.
func (rt *Runtime) Deploy(spec *QuerySpec) (*Query, error) {
	rt.life.RLock()
	defer rt.life.RUnlock()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, fmt.Errorf("deploy %q: %w", spec.Name, ErrClosed)
	}
	if _, dup := rt.queries[spec.Name]; dup {
		return nil, fmt.Errorf("deploy %q: %w", spec.Name, ErrExists)
	}
	if err := rt.checkCycleLocked(spec, ""); err != nil {
		return nil, err
	}
	q := rt.newQueryLocked(spec)
	rt.queries[spec.Name] = q
	if q.source.eventTimeOnly.Load() && q.target != nil {
		rt.eventTimeOnlyLocked(q.target)
	}
	q.source.swap(nil, q)
	go q.run()
	return q, nil
}

// Replace swaps a running statement for a new version without a restart.
// Window and session state move over when both have the same state shape;
// kept says whether they did.
func (rt *Runtime) Replace(spec *QuerySpec) (q *Query, kept bool, err error) {
	rt.life.RLock()
	defer rt.life.RUnlock()
	rt.mu.Lock()
	old, ok := rt.queries[spec.Name]
	if !ok {
		rt.mu.Unlock()
		return nil, false, fmt.Errorf("replace %q: %w", spec.Name, ErrNotFound)
	}
	if err := rt.checkCycleLocked(spec, spec.Name); err != nil {
		rt.mu.Unlock()
		return nil, false, err
	}
	q = rt.newQueryLocked(spec)
	rt.queries[spec.Name] = q
	if q.source.eventTimeOnly.Load() && q.target != nil {
		rt.eventTimeOnlyLocked(q.target)
	}
	// Batches go to the new statement from here on. The stream readers
	// change with the registry, under rt.mu: a Replace or Delete of the
	// same name that comes next finds q on the stream, never a stopped
	// statement put there after it. The old one finishes what it already
	// has, then hands over its state.
	if old.source == q.source {
		q.source.swap(old, q)
	} else {
		old.source.swap(old, nil)
		q.source.swap(nil, q)
	}
	rt.stopping.Add(1) // with the registry, for Drain
	rt.mu.Unlock()
	old.stopAndWait()
	rt.stopping.Add(-1)
	kept = spec.StateShape != "" && spec.StateShape == old.spec.StateShape
	if kept {
		if sc, ok := q.op.(StateCopier); ok {
			sc.CopyState(old.op)
		} else {
			kept = false
		}
	}
	go q.run()
	return q, kept, nil
}

// Delete stops a statement and flushes its sinks.
func (rt *Runtime) Delete(name string) error {
	rt.life.RLock()
	defer rt.life.RUnlock()
	rt.mu.Lock()
	q, ok := rt.queries[name]
	if ok {
		delete(rt.queries, name)
		// A statement deployed under the name from now on is another one:
		// it starts with no recent rows and subscribers of its own.
		delete(rt.results, name)
		q.source.swap(q, nil) // with the registry: see Replace
		rt.stopping.Add(1)
	}
	rt.mu.Unlock()
	if !ok {
		return fmt.Errorf("delete %q: %w", name, ErrNotFound)
	}
	q.stopAndWait()
	rt.stopping.Add(-1)
	// Subscribers learn of the deletion once its last rows are out.
	q.results.end()
	return nil
}

// Close stops every statement, letting each finish its queued batches and
// flush its sinks. What the streams hold is processed first, for at most
// the stop grace period (a statement stuck on a down sink ends the wait);
// sources must have stopped.
func (rt *Runtime) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), rt.cfg.StopGrace)
	_ = rt.Drain(ctx)
	cancel()
	// Close stops the statements it lists; one deployed after would run on.
	rt.mu.Lock()
	rt.closed = true
	rt.mu.Unlock()
	for _, q := range rt.Queries() {
		_ = rt.Delete(q.spec.Name)
	}
}

// checkCycleLocked refuses a statement whose INSERT INTO would feed its own
// source, which would deadlock the bounded queues.
func (rt *Runtime) checkCycleLocked(spec *QuerySpec, replacing string) error {
	if spec.Target == "" {
		return nil
	}
	edges := map[string][]string{}
	for name, q := range rt.queries {
		if name != replacing && q.spec.Target != "" {
			edges[q.spec.Source] = append(edges[q.spec.Source], q.spec.Target)
		}
	}
	edges[spec.Source] = append(edges[spec.Source], spec.Target)
	seen := map[string]bool{}
	var reaches func(from string) bool
	reaches = func(from string) bool {
		if from == spec.Source {
			return true
		}
		if seen[from] {
			return false
		}
		seen[from] = true
		for _, to := range edges[from] {
			if reaches(to) {
				return true
			}
		}
		return false
	}
	if reaches(spec.Target) {
		return fmt.Errorf("statement %q: INSERT INTO %s would feed back into its own source stream %s", spec.Name, spec.Target, spec.Source)
	}
	return nil
}

func (rt *Runtime) newQueryLocked(spec *QuerySpec) *Query {
	q := &Query{
		rt:      rt,
		spec:    spec,
		in:      make(chan []*Record, rt.cfg.QueryQueue),
		stop:    make(chan struct{}),
		running: make(chan struct{}),
		control: make(chan func()),
		done:    make(chan struct{}),
		source:  rt.streamLocked(spec.Source),
		started: time.Now(),
	}
	if spec.Target != "" {
		q.target = rt.streamSized(spec.Target, chainedQueue)
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.op = spec.Build(&q.counters)
	q.results = rt.results[spec.Name]
	if q.results == nil {
		q.results = newBroadcast()
		rt.results[spec.Name] = q.results
	}
	for _, d := range spec.Sinks {
		q.sinks = append(q.sinks, newSinkRunner(spec.Name, d, spec.Columns, rt.env))
	}
	return q
}

// Subscribe follows a statement's output rows by name; the subscription
// survives replacement, and its Gone closes when the statement is deleted.
// Rows a slow subscriber cannot take are dropped for that subscriber and
// counted in Dropped. Recent has the rows published before it.
func (rt *Runtime) Subscribe(name string, buffer int) (*Subscription, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, ok := rt.queries[name]; !ok {
		return nil, fmt.Errorf("subscribe %q: %w", name, ErrNotFound)
	}
	return rt.results[name].subscribe(buffer), nil
}

// Recent returns a statement's most recent output rows, oldest first.
func (rt *Runtime) Recent(name string) []*Record {
	rt.mu.Lock()
	b := rt.results[name]
	rt.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.recent.snapshot()
}
