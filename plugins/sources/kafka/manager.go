package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Errors of the Manager, for the server to map to HTTP statuses. Config
// errors wrap ErrInvalid; a missing --kafka-brokers wraps
// operators.ErrNotConfigured.
var (
	ErrExists   = errors.New("the stream already has a Kafka source")
	ErrNotFound = errors.New("the stream has no Kafka source")
	ErrClosed   = errors.New("the server is shutting down")
)

// StreamConfig is the "kafka" object of POST /v1/streams:
//
//	{"name":"events","kafka":{"topic":"events","group":"sluice","start":"earliest","event_time":false}}
type StreamConfig struct {
	Topic     string `json:"topic"`
	Group     string `json:"group,omitempty"`      // default "sluice"
	Start     string `json:"start,omitempty"`      // "earliest" (default) or "latest"
	EventTime bool   `json:"event_time,omitempty"` // Kafka timestamp becomes the record's time
}

// Manager owns the Kafka sources of a server, by stream name, and the
// collector-mode producer.
type Manager struct {
	defaults Config
	target   Ingester

	mu       sync.Mutex
	sources  map[string]*Source
	producer *Producer
	closed   bool // no source may start: Close would not stop it
}

// NewManager makes a Manager. defaults supplies Brokers, Node, Logger and
// the tuning fields (BatchSize, BatchWait, CommitInterval) of every source;
// its Topic, Group, Stream, Start, EventTime and Resume are ignored. Every
// source of a Manager shares one client id, so they never take each other
// for members a crashed earlier run left behind.
func NewManager(defaults Config, target Ingester) *Manager {
	if defaults.Node != "" {
		defaults.run = newRun()
	}
	defaults.Resume = nil
	return &Manager{defaults: defaults, target: target, sources: map[string]*Source{}}
}

// SetHandover makes every source added from now on tell h when a
// rebalance moves its partitions (see Handover).
func (m *Manager) SetHandover(h Handover) {
	m.mu.Lock()
	m.defaults.Handover = h
	m.mu.Unlock()
}

// Add starts consuming sc.Topic into stream name. It checks that the topic
// exists first, so a typo is an error now rather than a silent idle source.
func (m *Manager) Add(ctx context.Context, name string, sc StreamConfig) (*Source, error) {
	return m.AddFrom(ctx, name, sc, nil)
}

// AddFrom is Add starting at a restored checkpoint's positions (see
// Config.Resume); nil resume is Add.
func (m *Manager) AddFrom(ctx context.Context, name string, sc StreamConfig, resume map[int]int64) (*Source, error) {
	m.mu.Lock()
	cfg := m.defaults
	m.mu.Unlock()
	cfg.Stream, cfg.Topic, cfg.Group, cfg.Start, cfg.EventTime = name, sc.Topic, sc.Group, sc.Start, sc.EventTime
	cfg.Resume = resume
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	_, dup := m.sources[name]
	m.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("kafka stream %q: %w", name, ErrExists)
	}
	if err := topicExists(ctx, cfg.Brokers, cfg.Topic); err != nil {
		return nil, fmt.Errorf("kafka stream %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("kafka stream %q: %w", name, ErrClosed)
	}
	if _, dup := m.sources[name]; dup {
		return nil, fmt.Errorf("kafka stream %q: %w", name, ErrExists)
	}
	m.target.Declare(name)
	s, err := Open(cfg, m.target)
	if err != nil {
		return nil, err
	}
	m.sources[name] = s
	return s, nil
}

func topicExists(ctx context.Context, brokers []string, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("kafka metadata of topic %q: %w", topic, err)
	}
	if len(md.Topics) != 1 {
		return fmt.Errorf("kafka topic %q: %w", topic, topicErr(md))
	}
	if err := md.Topics[0].Error; err != nil {
		if errors.Is(err, kafkago.UnknownTopicOrPartition) {
			return fmt.Errorf("%w: topic %q does not exist", ErrInvalid, topic)
		}
		return fmt.Errorf("kafka topic %q: %w", topic, err)
	}
	return nil
}

// Remove stops a stream's source, committing what it handed on.
func (m *Manager) Remove(name string) error {
	m.mu.Lock()
	s, ok := m.sources[name]
	delete(m.sources, name)
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("kafka stream %q: %w", name, ErrNotFound)
	}
	return s.Close()
}

// Get finds a stream's source.
func (m *Manager) Get(name string) (*Source, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sources[name]
	return s, ok
}

// Sources are the running sources, sorted by stream name.
func (m *Manager) Sources() []*Source {
	m.mu.Lock()
	srcs := make([]*Source, 0, len(m.sources))
	for _, s := range m.sources {
		srcs = append(srcs, s)
	}
	m.mu.Unlock()
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].cfg.Stream < srcs[j].cfg.Stream })
	return srcs
}

// Topic is the topic a stream consumes, for collector mode.
func (m *Manager) Topic(name string) (string, bool) {
	s, ok := m.Get(name)
	if !ok {
		return "", false
	}
	return s.cfg.Topic, true
}

// List describes every Kafka-backed stream, sorted by name. A stream whose
// offsets cannot be read right now carries the reason in LastError.
func (m *Manager) List(ctx context.Context) []Stats {
	srcs := m.Sources()
	out := make([]Stats, len(srcs))
	for i, s := range srcs {
		st, err := s.Stats(ctx)
		if err != nil {
			st.LastError = err.Error()
		}
		out[i] = st
	}
	return out
}

// Publish sends events for stream to its topic and waits for acks=all
// (collector mode). The events reach the stream when its source reads
// them back, so the caller must not also ingest them directly. It returns
// ErrNotFound when the stream is not Kafka-backed.
func (m *Manager) Publish(ctx context.Context, stream string, values [][]byte) error {
	topic, ok := m.Topic(stream)
	if !ok {
		return fmt.Errorf("kafka stream %q: %w", stream, ErrNotFound)
	}
	m.mu.Lock()
	if m.producer == nil {
		p, err := NewProducer(m.defaults.Brokers)
		if err != nil {
			m.mu.Unlock()
			return err
		}
		m.producer = p
	}
	p := m.producer
	m.mu.Unlock()
	return p.Publish(ctx, topic, values)
}

// Close stops every source and the producer.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	srcs := m.sources
	m.sources = map[string]*Source{}
	p := m.producer
	m.producer = nil
	m.mu.Unlock()
	var errs []error
	for _, s := range srcs {
		errs = append(errs, s.Close())
	}
	if p != nil {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}
