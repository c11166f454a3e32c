package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/kafka"
)

// Config configures a Checkpointer. Zero values mean the defaults.
type Config struct {
	Store    Store
	Node     string        // recorded in every document
	Interval time.Duration // between checkpoints (5s)
	// Timeout is the longest one checkpoint may take (1m). Its drain
	// processes everything the streams have queued, which at full queues
	// can take seconds.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Checkpointer takes checkpoints of a runtime and the Kafka sources of a
// Manager, and restores the latest one at start. Kafka streams must be
// added and removed through it (it stands in for the Manager), so that
// they resume at a checkpoint's positions and leave with one.
type Checkpointer struct {
	*kafka.Manager
	cfg Config
	rt  *operators.Runtime
	log *slog.Logger

	// sem holds one checkpoint, Add, Remove or Restore at a time. A
	// channel rather than a mutex: a source's rebalance hand-over waits
	// for it and must give up when the source closes (Remove holds it
	// while it closes the source).
	sem      chan struct{}
	restored map[string]Source
	seq      uint64
	// lastStart is when the latest successful checkpoint began to pause
	// the sources.
	lastStart time.Time

	stop    chan struct{}
	done    chan struct{}
	started atomic.Bool
	// ready is set once Restore succeeded (a fresh start with no
	// checkpoint included). Until then Close takes no last checkpoint: the
	// stored ones are kept for the next start, not replaced by one of
	// state that never held them, as after a failed Restore or a start
	// that stopped before restoring (a statement that did not compile).
	ready atomic.Bool
	once  sync.Once

	stats stats
}

// stats are the counters behind the metrics.
type stats struct {
	ok, failed, commitFailures atomic.Uint64
	handedOff, takenOver       atomic.Uint64 // rebalance checkpoints; partitions loaded from another process
	badRecords                 atomic.Uint64 // partition records that could not be read or restored
	inProgress                 atomic.Bool
	seq, bytes                 atomic.Uint64
	duration, paused           atomic.Int64 // ns, of the last successful checkpoint
	pausedTotal                atomic.Int64 // ns, over every successful checkpoint
	lastOK                     atomic.Int64 // unix ns
}

// New makes a Checkpointer over rt and the sources of m. The Manager must
// have been made with a negative CommitInterval, so that only checkpoints
// commit.
func New(cfg Config, rt *operators.Runtime, m *kafka.Manager) (*Checkpointer, error) {
	if cfg.Store == nil {
		return nil, errors.New("checkpoint: no store")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Checkpointer{
		Manager: m, cfg: cfg, rt: rt, log: cfg.Logger.With("checkpoint", cfg.Store.String()),
		restored: map[string]Source{}, stop: make(chan struct{}), done: make(chan struct{}),
		sem: make(chan struct{}, 1),
	}
	m.SetHandover(c)
	return c, nil
}

func (c *Checkpointer) lock()   { c.sem <- struct{}{} }
func (c *Checkpointer) unlock() { <-c.sem }

// lockCtx is lock giving up when ctx ends.
func (c *Checkpointer) lockCtx(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Restore loads the latest checkpoint (the previous one if the latest
// cannot be read) and puts its state into the running statements of the
// same name and state shape. Call it after the statements are deployed
// and before any Kafka stream is added. It returns the checkpoint, nil
// when there is none.
func (c *Checkpointer) Restore(ctx context.Context) (snap *Snapshot, err error) {
	c.lock()
	defer c.unlock()
	defer func() { c.ready.Store(err == nil) }()
	latest, previous, err := c.cfg.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	for i, doc := range [][]byte{latest, previous} {
		if doc == nil {
			continue
		}
		if snap, err = decode(doc); err == nil {
			break
		}
		c.log.Error("checkpoint unreadable", "which", []string{"latest", "previous"}[i], "err", err)
	}
	if snap == nil {
		if err != nil {
			return nil, fmt.Errorf("no readable checkpoint: %w", err)
		}
		c.log.Info("no checkpoint to restore: starting fresh")
		return nil, nil
	}
	// Restored windows must not close by the wall clock before their
	// stream's replay starts.
	for name := range snap.Sources {
		c.rt.EventTimeOnly(name)
	}
	names, err := c.rt.Restore(ctx, snap.Statements)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var fresh []string
	for name := range snap.Statements {
		if !slices.Contains(names, name) {
			fresh = append(fresh, name)
		}
	}
	slices.Sort(fresh)
	c.restored, c.seq = snap.Sources, snap.Seq
	if c.restored == nil {
		c.restored = map[string]Source{}
	}
	c.stats.seq.Store(snap.Seq)
	c.log.Info("restored checkpoint", "seq", snap.Seq, "taken", snap.Taken, "statements", names,
		"not_restored", fresh, "kafka_streams", slices.Sorted(maps.Keys(snap.Sources)))
	return snap, nil
}

// Add declares a Kafka-backed stream. A stream the restored checkpoint
// covers, on the same topic and group, resumes at its positions; any
// other starts at the group's committed offsets. The stream's statements
// close windows by event time only from now on.
func (c *Checkpointer) Add(ctx context.Context, name string, sc kafka.StreamConfig) (*kafka.Source, error) {
	c.lock()
	defer c.unlock()
	return c.addLocked(ctx, name, sc)
}

func (c *Checkpointer) addLocked(ctx context.Context, name string, sc kafka.StreamConfig) (*kafka.Source, error) {
	var resume map[int]int64
	if r, ok := c.restored[name]; ok && r.Topic == sc.Topic && r.Group == groupOf(sc) {
		resume = r.Positions
	}
	c.rt.EventTimeOnly(name)
	s, err := c.Manager.AddFrom(ctx, name, sc, resume)
	if err != nil {
		return nil, err
	}
	// The positions are spent: a later Add of the same stream follows the
	// group's commits, which the checkpoints keep.
	delete(c.restored, name)
	return s, nil
}

func groupOf(sc kafka.StreamConfig) string {
	if sc.Group == "" {
		return kafka.DefaultGroup
	}
	return sc.Group
}

// AddRestored declares again the Kafka streams of the restored checkpoint
// that nothing has declared since start (streams once declared over the
// API), each at its positions. A stream that cannot be added is logged
// and skipped.
func (c *Checkpointer) AddRestored(ctx context.Context) {
	c.lock()
	defer c.unlock()
	for _, name := range slices.Sorted(maps.Keys(c.restored)) {
		if _, ok := c.Manager.Get(name); ok {
			continue
		}
		sc := c.restored[name].StreamConfig
		if _, err := c.addLocked(ctx, name, sc); err != nil {
			c.log.Error("kafka stream of the checkpoint not resumed", "stream", name, "topic", sc.Topic, "err", err)
			continue
		}
		c.log.Info("kafka stream of the checkpoint resumed", "stream", name, "topic", sc.Topic)
	}
}

// Remove takes a checkpoint that includes the stream's last positions and
// commits them, then stops its source: if the stream is declared again
// later, it continues exactly after what the state has seen. If the
// checkpoint fails, the stream is not removed.
func (c *Checkpointer) Remove(name string) error {
	if err := c.checkpointBeforeRemove(name); err != nil {
		return err
	}
	// The source stays paused, so its positions stay those just stored.
	// It closes outside the lock: leaving the group may wait for a
	// rebalance that waits for another source's hand-over checkpoint.
	return c.Manager.Remove(name)
}

// checkpointBeforeRemove pauses the stream's source and takes a
// checkpoint; if that fails, the source resumes.
func (c *Checkpointer) checkpointBeforeRemove(name string) error {
	c.lock()
	defer c.unlock()
	s, ok := c.Manager.Get(name)
	if !ok {
		return fmt.Errorf("kafka stream %q: %w", name, kafka.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	if err := s.Pause(ctx); err != nil {
		return fmt.Errorf("remove kafka stream %q: %w", name, err)
	}
	if err := c.checkpointLocked(ctx); err != nil {
		s.Resume()
		return fmt.Errorf("remove kafka stream %q: checkpoint first: %w", name, err)
	}
	return nil
}

// Start takes a checkpoint every interval until Close.
func (c *Checkpointer) Start() {
	if c.started.Swap(true) {
		return
	}
	go func() {
		defer close(c.done)
		t := time.NewTicker(c.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				if err := c.Checkpoint(context.Background()); err != nil {
					c.log.Error("checkpoint failed; the next one retries", "err", err)
				}
			}
		}
	}()
}

// Close stops the interval, takes a last checkpoint (none after a failed
// Restore) and stops every Kafka source. The runtime is left running:
// close it afterwards.
func (c *Checkpointer) Close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		if c.started.Load() {
			<-c.done
		}
		if !c.ready.Load() {
			c.log.Warn("no last checkpoint: nothing was restored, so the stored checkpoints are kept for the next start")
		} else if cerr := c.Checkpoint(context.Background()); cerr != nil {
			err = fmt.Errorf("last checkpoint: %w", cerr)
		}
		err = errors.Join(err, c.Manager.Close())
	})
	return err
}

// Checkpoint takes one checkpoint now.
func (c *Checkpointer) Checkpoint(ctx context.Context) error {
	c.lock()
	defer c.unlock()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	return c.checkpointLocked(ctx)
}

func (c *Checkpointer) checkpointLocked(ctx context.Context) (err error) {
	start := time.Now()
	c.stats.inProgress.Store(true)
	defer func() {
		c.stats.inProgress.Store(false)
		if err != nil {
			c.stats.failed.Add(1)
		}
	}()
	srcs := c.Manager.Sources()
	var paused []*kafka.Source
	resume := func() {
		for _, s := range paused {
			s.Resume()
		}
		paused = nil
	}
	defer resume()
	for _, s := range srcs {
		if err := s.Pause(ctx); err != nil {
			return fmt.Errorf("pause kafka stream %q: %w", s.Config().Stream, err)
		}
		paused = append(paused, s)
	}
	states, err := c.rt.Snapshot(ctx)
	if err != nil {
		return err
	}
	snap := &Snapshot{
		Header:     Header{Version: Version, Node: c.cfg.Node, Seq: c.seq + 1, Taken: time.Now().UTC()},
		Statements: states, Sources: make(map[string]Source, len(srcs)),
	}
	// Streams of the restored checkpoint not declared again yet keep
	// their positions: their state is in the document too.
	for name, r := range c.restored {
		if _, ok := snap.Sources[name]; !ok {
			snap.Sources[name] = r
		}
	}
	for _, s := range srcs {
		cfg := s.Config()
		snap.Sources[cfg.Stream] = Source{
			StreamConfig: kafka.StreamConfig{Topic: cfg.Topic, Group: cfg.Group, Start: cfg.Start, EventTime: cfg.EventTime},
			Positions:    s.Positions(),
		}
	}
	// State and positions are captured and every row emitted so far is
	// acknowledged: the sources may go on while the document is stored. A
	// crash before it is stored restores the previous one and replays
	// from its positions, which the sinks absorb like any replay.
	pausedFor := time.Since(start)
	resume()
	doc, err := encode(snap)
	if err != nil {
		return err
	}
	if err := c.cfg.Store.Save(ctx, doc); err != nil {
		return err
	}
	c.seq = snap.Seq
	// After the document: a crash between the two leaves records no newer
	// than the document, and a process's own document wins over them.
	if err := c.savePartitions(ctx, snap); err != nil {
		return err
	}
	// The stored positions win over the group's commits at a restart, so
	// a commit that fails only makes the group's lag look larger.
	for _, s := range srcs {
		if err := s.Commit(ctx, snap.Sources[s.Config().Stream].Positions); err != nil {
			c.stats.commitFailures.Add(1)
			c.log.Warn("kafka commit after checkpoint failed", "seq", snap.Seq, "err", err)
		}
	}
	c.lastStart = start
	c.stats.ok.Add(1)
	c.stats.seq.Store(snap.Seq)
	c.stats.bytes.Store(uint64(len(doc)))
	c.stats.duration.Store(int64(time.Since(start)))
	c.stats.paused.Store(int64(pausedFor))
	c.stats.pausedTotal.Add(int64(pausedFor))
	c.stats.lastOK.Store(time.Now().UnixNano())
	c.log.Debug("checkpoint stored", "seq", snap.Seq, "bytes", len(doc), "paused", pausedFor, "took", time.Since(start))
	return nil
}
