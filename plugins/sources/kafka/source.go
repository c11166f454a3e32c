// Package kafka is sluice's Kafka source: a consumer-group reader that turns
// each message's JSON value into a record of a sluice stream, and the
// collector-mode producer that publishes ingested events to a stream's topic.
//
// Offsets are never auto-committed. The source remembers, per partition, the
// offset after the last message it handed on to the runtime (Positions), and
// commits only those. With no checkpointer it commits them every
// CommitInterval and on Close: at-least-once delivery, since records handed
// on but not yet committed are read again after a crash; sinks are
// idempotent, so the replay changes nothing there. A checkpointer sets a
// negative CommitInterval, Pauses the source while it snapshots the
// runtime together with Positions, calls Commit with those positions once
// its sinks have acknowledged, and after a restart opens the source with
// the snapshot's positions as Config.Resume.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/operators"
)

// Ingester takes a batch of records for a stream. *operators.Runtime
// satisfies it; it returns operators.ErrBackpressure when the stream's
// queue is full and nothing was taken. Declare creates a stream the source
// feeds (its own, and the dead letters) past any bound on the streams
// ingest may create. Pending is how many records a stream holds that its
// statements have not taken yet.
type Ingester interface {
	Ingest(stream string, batch []*operators.Record) error
	Declare(stream string)
	Pending(stream string) int
}

// Source consumes one topic with a consumer group into one stream.
type Source struct {
	cfg    Config
	target Ingester
	group  *kafkago.ConsumerGroup
	dec    decoder
	gate   *gate

	cancel context.CancelFunc
	done   sync.WaitGroup
	closed sync.Once

	mu        sync.Mutex
	gen       *kafkago.Generation // the group generation consumed now; nil between two
	owned     map[int]bool        // the partitions gen assigns
	next      map[int]int64       // offset after the last message handed on, per owned partition
	committed map[int]int64       // what this source last committed
	lastErr   string
	closeErr  error // of the commit on Close

	consumed    atomic.Uint64
	deadLetters atomic.Uint64
	retries     atomic.Uint64
	generations atomic.Uint64 // group generations joined; read by tests
	// Messages the aligner handed on while a partition that may hold
	// earlier ones had nothing buffered and was silent.
	lateByTime atomic.Uint64
}

// Open starts consuming in the background.
func Open(cfg Config, target Ingester) (*Source, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("stream", cfg.Stream, "topic", cfg.Topic, "group", cfg.Group)
	if cfg.Node != "" {
		members, err := leaveStale(&cfg, log)
		if err != nil {
			return nil, err
		}
		if w := sharedGroupWarning(&cfg, members); w != "" {
			log.Warn("kafka: " + w)
		}
	}
	if len(cfg.Resume) > 0 {
		resumeAt(&cfg, log)
	}
	start := kafkago.FirstOffset
	if cfg.Start == StartLatest {
		start = kafkago.LastOffset
	}
	group, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:               cfg.Group,
		Brokers:          cfg.Brokers,
		Topics:           []string{cfg.Topic},
		Dialer:           cfg.dialer(),
		StartOffset:      start,
		SessionTimeout:   SessionTimeout,
		RebalanceTimeout: 2 * SessionTimeout,
		JoinGroupBackoff: 500 * time.Millisecond,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			log.Warn("kafka group: " + fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("kafka group %q topic %q: %w", cfg.Group, cfg.Topic, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{
		cfg: cfg, target: target, group: group, cancel: cancel, gate: newGate(),
		dec:  decoder{eventTime: cfg.EventTime, topic: cfg.Topic, stream: cfg.Stream, log: log},
		next: map[int]int64{}, committed: map[int]int64{},
	}
	maps.Copy(s.next, cfg.Resume)
	maps.Copy(s.committed, cfg.Resume)
	s.done.Add(1)
	go s.run(ctx)
	if cfg.CommitInterval > 0 {
		s.done.Add(1)
		go s.commitLoop(ctx)
	}
	return s, nil
}

// Config is the source's configuration with defaults filled in.
func (s *Source) Config() Config { return s.cfg }

// handOn delivers a batch to the stream (and its poison messages to the
// dead-letter stream), then advances the positions. It fails only when the
// source is closing; the positions then stay where they were.
func (s *Source) handOn(ctx context.Context, msgs []kafkago.Message) error {
	recs, dead := s.dec.decode(msgs, time.Now().UnixMilli())
	if err := s.deliver(ctx, s.cfg.Stream, recs); err != nil {
		return err
	}
	if len(dead) > 0 {
		// Past the bound on streams ingest creates, a poison message
		// would be refused for good: the source would stall on it.
		s.target.Declare(operators.DeadLetterStream)
	}
	if err := s.deliver(ctx, operators.DeadLetterStream, dead); err != nil {
		return err
	}
	s.consumed.Add(uint64(len(recs)))
	s.deadLetters.Add(uint64(len(dead)))
	s.mu.Lock()
	// Each partition is read from its position on, in order.
	for i := range msgs {
		s.next[msgs[i].Partition] = msgs[i].Offset + 1
	}
	s.mu.Unlock()
	return nil
}

// deliver retries a refused batch with a short backoff until it is taken:
// a full stream queue slows consumption, it never drops records.
func (s *Source) deliver(ctx context.Context, stream string, batch []*operators.Record) error {
	if len(batch) == 0 {
		return nil
	}
	backoff := newBackoff(50 * time.Millisecond)
	for {
		err := s.target.Ingest(stream, batch)
		if err == nil {
			return nil
		}
		s.retries.Add(1)
		if !errors.Is(err, operators.ErrBackpressure) {
			s.setErr(fmt.Errorf("ingest into %q: %w", stream, err))
		}
		if !backoff.wait(ctx) {
			return ctx.Err()
		}
	}
}

func (s *Source) setErr(err error) {
	s.cfg.Logger.Error("kafka source", "stream", s.cfg.Stream, "err", err)
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
}

// Positions returns, per partition, the offset after the last message
// handed on to the stream: exactly what a commit covering everything
// handed on so far stores.
func (s *Source) Positions() map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.next)
}

// Commit stores positions (partition → next offset to read, as returned by
// Positions) as the group's committed offsets, synchronously. It fails
// while the group is rebalancing: the source is then in no generation.
func (s *Source) Commit(ctx context.Context, positions map[int]int64) error {
	if len(positions) == 0 {
		return nil
	}
	s.mu.Lock()
	gen := s.gen
	// A partition another member owns now is not committed: that would
	// move its offsets under it.
	mine := make(map[int]int64, len(positions))
	for p, off := range positions {
		if s.owned[p] {
			mine[p] = off
		}
	}
	s.mu.Unlock()
	if gen == nil {
		return fmt.Errorf("kafka commit group %q topic %q: the group is rebalancing", s.cfg.Group, s.cfg.Topic)
	}
	if len(mine) == 0 {
		return nil
	}
	positions = mine
	if err := commitIn(ctx, gen, s.cfg.Topic, positions); err != nil {
		return fmt.Errorf("kafka commit group %q topic %q: %w", s.cfg.Group, s.cfg.Topic, err)
	}
	s.mu.Lock()
	for p, off := range positions {
		s.committed[p] = off
	}
	s.mu.Unlock()
	return nil
}

// commitIn commits within a generation, giving up when ctx ends.
// Generation.CommitOffsets takes no context.
func commitIn(ctx context.Context, gen *kafkago.Generation, topic string, positions map[int]int64) error {
	done := make(chan error, 1)
	go func() { done <- gen.CommitOffsets(map[string]map[int]int64{topic: positions}) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitHandedOn commits the positions that moved since the last commit.
func (s *Source) commitHandedOn(ctx context.Context) error {
	s.mu.Lock()
	moved := map[int]int64{}
	for p, off := range s.next {
		if c, ok := s.committed[p]; !ok || c != off {
			moved[p] = off
		}
	}
	s.mu.Unlock()
	return s.Commit(ctx, moved)
}

func (s *Source) commitLoop(ctx context.Context) {
	defer s.done.Done()
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := s.commitHandedOn(cctx); err != nil && ctx.Err() == nil {
				s.setErr(err)
			}
			cancel()
		}
	}
}

// Close stops consuming and leaves the group. Without a checkpointer it
// first commits what was handed on; records fetched but not yet handed on
// are read again next time.
func (s *Source) Close() error {
	var err error
	s.closed.Do(func() {
		s.cancel()
		s.done.Wait()
		s.mu.Lock()
		err = s.closeErr
		s.mu.Unlock()
		if cerr := s.group.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("kafka leave group %q: %w", s.cfg.Group, cerr))
		}
	})
	return err
}

// sleep waits d, returning false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff doubles a wait from a millisecond up to a cap.
type backoff struct{ d, max time.Duration }

func newBackoff(max time.Duration) *backoff { return &backoff{d: time.Millisecond, max: max} }

func (b *backoff) reset() { b.d = time.Millisecond }

// next is the wait to take now; the one after is twice as long.
func (b *backoff) next() time.Duration {
	d := b.d
	b.d = min(2*b.d, b.max)
	return d
}

// wait sleeps, returning false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool { return sleep(ctx, b.next()) }
