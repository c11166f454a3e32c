package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Handover moves partition state between the processes of a consumer
// group when a rebalance moves partitions (a checkpointer implements it).
// Both methods run on the source's goroutine, which hands nothing on while
// they run.
type Handover interface {
	// Revoked runs when the group starts a rebalance, before the source's
	// partitions are released: whatever was handed on from them so far is
	// to be saved where their next owner finds it. The source has handed
	// nothing on since the time given. The rebalance waits for it; ctx
	// ends after HandoverTimeout, before the group's session timeout
	// would drop the member (it sends no heartbeats meanwhile).
	Revoked(ctx context.Context, s *Source, since time.Time) error
	// Assigned runs when the group gives the source its partitions, before
	// any is read. dropped are the partitions it held and no longer does.
	// It returns the offsets to start at for the partitions whose state it
	// loaded from their previous owner; the others start at the source's
	// own position or, failing that, at the group's committed offset. An
	// error is retried until it succeeds or the generation ends.
	Assigned(ctx context.Context, s *Source, assigned, dropped []int) (map[int]int64, error)
}

// run consumes one group generation after another until the source closes.
func (s *Source) run(ctx context.Context) {
	defer s.done.Done()
	backoff := newBackoff(5 * time.Second)
	for {
		gen, err := s.group.Next(ctx)
		if ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) {
			return
		}
		if err != nil {
			s.setErr(fmt.Errorf("kafka join group %q: %w", s.cfg.Group, err))
			if !backoff.wait(ctx) {
				return
			}
			continue
		}
		backoff.reset()
		s.generations.Add(1)
		s.consume(ctx, gen)
		if ctx.Err() != nil {
			return
		}
	}
}

// consume reads the partitions a generation assigns until the generation
// ends or the source closes. The generation is held open until the
// partitions' hand-over is done: kafka-go waits for every function
// started in it before it rejoins the group.
func (s *Source) consume(ctx context.Context, gen *kafkago.Generation) {
	ended, released := make(chan struct{}), make(chan struct{})
	defer close(released)
	gen.Start(func(gctx context.Context) {
		<-gctx.Done()
		close(ended)
		<-released
	})
	starts, ok := s.assign(ctx, gen, ended)
	if !ok {
		s.leave(ctx)
		return
	}
	if s.cfg.Align {
		align := newAligner(slices.Collect(maps.Keys(starts)), starts, s.cfg.AlignWait, alignedQueue, time.Now())
		align.lateByTime = &s.lateByTime
		for p, off := range starts {
			gen.Start(func(gctx context.Context) { s.readPartition(gctx, p, off, align.queue(p), align.notify) })
		}
		s.handOnAligned(ctx, align, ended)
	} else {
		// The partitions' readers share one queue, besides their own.
		feed := make(chan kafkago.Message, 4*s.cfg.BatchSize)
		for p, off := range starts {
			gen.Start(func(gctx context.Context) { s.readPartition(gctx, p, off, feed, nil) })
		}
		s.handOnAll(ctx, feed, ended)
	}
	s.leave(ctx)
}

// alignedQueue is how many fetched messages of a partition wait for an
// aligned source to take them, besides those its reader queues itself.
const alignedQueue = 256

// SessionTimeout is how long the group waits for a member's heartbeat.
// kafka-go stops heartbeating when a generation ends, so a Handover's
// checkpoint at a rebalance has this long, less a margin: HandoverTimeout.
// The group's rebalance timeout is twice as long.
const (
	SessionTimeout  = 45 * time.Second
	HandoverTimeout = 40 * time.Second
)

// handOnAll hands on what the partition readers fetch, as they fetch it,
// until the generation ends or the source closes.
func (s *Source) handOnAll(ctx context.Context, feed <-chan kafkago.Message, ended <-chan struct{}) {
	buf := make([]kafkago.Message, 0, s.cfg.BatchSize)
	for {
		msgs, open := s.fetch(ctx, feed, ended, buf[:0])
		if !open || !s.handOnGated(ctx, ended, msgs) {
			return
		}
	}
}

// handOnAligned hands on what the partition readers fetch, merged by
// timestamp (see aligner), until the generation ends or the source closes.
func (s *Source) handOnAligned(ctx context.Context, align *aligner, ended <-chan struct{}) {
	buf := make([]kafkago.Message, 0, s.cfg.BatchSize)
	for {
		msgs, open := s.merge(ctx, align, ended, buf[:0])
		if !open {
			return
		}
		handing := time.Now()
		if !s.handOnGated(ctx, ended, msgs) {
			return
		}
		align.away(time.Since(handing))
	}
}

// handOnGated hands msgs on inside the pause gate; false once the
// generation ended or the source is closing.
func (s *Source) handOnGated(ctx context.Context, ended <-chan struct{}, msgs []kafkago.Message) bool {
	if !s.waitForRoom(ctx, ended) || s.gate.enter(ctx) != nil {
		return false
	}
	err := s.handOn(ctx, msgs)
	s.gate.leave()
	return err == nil
}

// pendingBatches is how many batches a source lets its stream hold that the
// stream's statements have not taken. The topic is the buffer: a deeper
// stream queue would only hold more in memory, and lengthen the drain of
// every checkpoint (up to two seconds with the 128-batch ingest queue,
// reading a backlog into the shipped pipeline).
const pendingBatches = 8

// waitForRoom waits, outside the pause gate, until the stream holds fewer
// than pendingBatches batches; each wait counts as a back-pressure retry.
// It returns false once the generation ended or the source is closing.
func (s *Source) waitForRoom(ctx context.Context, ended <-chan struct{}) bool {
	backoff := newBackoff(10 * time.Millisecond)
	for s.target.Pending(s.cfg.Stream) >= pendingBatches*s.cfg.BatchSize {
		s.retries.Add(1)
		t := time.NewTimer(backoff.next())
		select {
		case <-t.C:
		case <-ended:
			t.Stop()
			return false
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	return true
}

// merge appends the next batch of aligned messages to buf: BatchSize of
// them, or fewer once BatchWait has passed since the first. open is false
// once the generation ended or the source is closing.
func (s *Source) merge(ctx context.Context, align *aligner, ended <-chan struct{}, buf []kafkago.Message) (_ []kafkago.Message, open bool) {
	var due time.Time // when a partial batch goes anyway
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ended: // a rebalance: hand on no more of what is queued
			return buf, false
		default:
		}
		now := time.Now()
		pulled := align.pull(now, s.cfg.BatchSize)
		var blocked time.Duration
		buf, blocked = align.release(now, buf, s.cfg.BatchSize)
		if len(buf) == s.cfg.BatchSize {
			return buf, true
		}
		if pulled > 0 {
			continue
		}
		wait := time.Duration(-1) // until a reader queues a message
		if len(buf) > 0 {
			if due.IsZero() {
				due = now.Add(s.cfg.BatchWait)
			}
			if wait = due.Sub(now); wait <= 0 {
				return buf, true
			}
		}
		if blocked > 0 && (wait < 0 || blocked < wait) {
			wait = blocked // then the partition counts as silent
		}
		var expired <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			expired = timer.C
		}
		select {
		case <-align.notify:
		case <-expired:
		case <-ended:
			return buf, false
		case <-ctx.Done():
			return buf, false
		}
	}
}

// fetch waits for one message, then takes more until BatchSize or
// BatchWait has passed. open is false once the generation ended or the
// source is closing.
func (s *Source) fetch(ctx context.Context, feed <-chan kafkago.Message, ended <-chan struct{}, buf []kafkago.Message) (_ []kafkago.Message, open bool) {
	select {
	case m := <-feed:
		buf = append(buf, m)
	case <-ended:
		return buf, false
	case <-ctx.Done():
		return buf, false
	}
	wait := time.NewTimer(s.cfg.BatchWait)
	defer wait.Stop()
	for len(buf) < s.cfg.BatchSize {
		select {
		case m := <-feed:
			buf = append(buf, m)
			continue
		default:
		}
		select {
		case m := <-feed:
			buf = append(buf, m)
		case <-wait.C:
			return buf, true
		case <-ended:
			return buf, false
		case <-ctx.Done():
			return buf, false
		}
	}
	return buf, true
}

// readPartition fetches one partition from offset into feed until the
// generation ends, signalling notify (if not nil) after each message. It
// never returns earlier: kafka-go ends a generation as soon as one of its
// functions returns.
func (s *Source) readPartition(ctx context.Context, p int, offset int64, feed chan<- kafkago.Message, notify chan<- struct{}) {
	log := s.dec.log.With("partition", p)
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:         s.cfg.Brokers,
		Topic:           s.cfg.Topic,
		Partition:       p,
		QueueCapacity:   s.cfg.BatchSize,
		MaxBytes:        8 << 20,
		MaxWait:         500 * time.Millisecond,
		ReadLagInterval: -1,
		Dialer:          s.cfg.dialer(),
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			log.Warn("kafka reader: " + fmt.Sprintf(msg, args...))
		}),
	})
	defer r.Close()
	backoff := newBackoff(5 * time.Second)
	for {
		err := r.SetOffset(offset)
		if err == nil {
			break
		}
		s.setErr(fmt.Errorf("kafka seek %s/%d to %d: %w", s.cfg.Topic, p, offset, err))
		if !backoff.wait(ctx) {
			return
		}
	}
	for {
		m, err := r.FetchMessage(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.setErr(fmt.Errorf("kafka fetch %s/%d: %w", s.cfg.Topic, p, err))
			if !backoff.wait(ctx) {
				return
			}
			continue
		}
		backoff.reset()
		select {
		case feed <- m:
		case <-ctx.Done():
			return
		}
		select {
		case notify <- struct{}{}:
		default:
		}
	}
}

// assign takes a generation's partitions: it asks the Handover for the
// state of the new ones, forgets the positions of the partitions no longer
// owned, and returns where to start reading each. ok is false when the
// generation ended or the source closed first. The Handover runs inside
// the gate, so that a checkpoint sees the positions and the state either
// both before or both after it.
func (s *Source) assign(ctx context.Context, gen *kafkago.Generation, ended <-chan struct{}) (starts map[int]int64, ok bool) {
	parts := gen.Assignments[s.cfg.Topic]
	starts = make(map[int]int64, len(parts))
	owned := make(map[int]bool, len(parts))
	s.mu.Lock()
	s.gen, s.owned = gen, owned
	for _, pa := range parts {
		owned[pa.ID] = true
		starts[pa.ID] = pa.Offset // the group's committed offset, or the start policy
		if off, ok := s.next[pa.ID]; ok {
			starts[pa.ID] = off
		}
	}
	s.mu.Unlock()
	assigned := slices.Sorted(maps.Keys(owned))
	backoff := newBackoff(5 * time.Second)
	for {
		if s.gate.enter(ctx) != nil {
			return nil, false
		}
		err := s.takeOver(ctx, assigned, starts)
		s.gate.leave()
		if err == nil {
			return starts, true
		}
		s.setErr(fmt.Errorf("take over partitions %v of %s: %w", assigned, s.cfg.Topic, err))
		wait := time.NewTimer(backoff.next())
		select {
		case <-wait.C:
		case <-ended:
			wait.Stop()
			return nil, false
		case <-ctx.Done():
			wait.Stop()
			return nil, false
		}
	}
}

// takeOver tells the Handover about the assignment, then moves the
// positions: the dropped partitions' go, the loaded partitions' start at
// their records.
func (s *Source) takeOver(ctx context.Context, assigned []int, starts map[int]int64) error {
	var dropped []int
	s.mu.Lock()
	for p := range s.next {
		if !slices.Contains(assigned, p) {
			dropped = append(dropped, p)
		}
	}
	s.mu.Unlock()
	slices.Sort(dropped)
	var loaded map[int]int64
	if s.cfg.Handover != nil {
		var err error
		if loaded, err = s.cfg.Handover.Assigned(ctx, s, assigned, dropped); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range dropped {
		delete(s.next, p)
		delete(s.committed, p)
	}
	for p, off := range loaded {
		starts[p], s.next[p] = off, off
	}
	return nil
}

// leave ends the source's part in a generation. When the group is
// rebalancing, the Handover saves the partitions' state first; when the
// source is closing without a checkpointer, what was handed on is
// committed while the generation still accepts commits.
func (s *Source) leave(ctx context.Context) {
	if ctx.Err() != nil {
		if s.cfg.CommitInterval > 0 {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := s.commitHandedOn(cctx)
			cancel()
			s.mu.Lock()
			s.closeErr = err
			s.mu.Unlock()
		}
	} else if s.cfg.Handover != nil {
		hctx, cancel := context.WithTimeout(ctx, HandoverTimeout)
		err := s.cfg.Handover.Revoked(hctx, s, time.Now())
		cancel()
		if err != nil && ctx.Err() == nil {
			s.setErr(fmt.Errorf("hand over partitions of %s: %w", s.cfg.Topic, err))
		}
	}
	s.mu.Lock()
	s.gen, s.owned = nil, nil
	s.mu.Unlock()
}
