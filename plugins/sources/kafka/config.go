package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"sluice/operators"
)

// ErrInvalid wraps every configuration error (the server answers 400).
var ErrInvalid = errors.New("invalid kafka stream")

// errNoBrokers is what every constructor returns when sluice has no Kafka.
var errNoBrokers = fmt.Errorf("kafka %w: set --kafka-brokers", operators.ErrNotConfigured)

// Start offsets for a group that has committed nothing yet.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// DefaultGroup is the consumer group of a stream that names none.
const DefaultGroup = "sluice"

// Config describes one Kafka-backed stream.
type Config struct {
	Brokers []string
	Topic   string
	Group   string // consumer group; "sluice" when empty
	Stream  string // the sluice stream records go to
	// Start is where a group with no committed offset begins: "earliest"
	// (the default, so events published before the first start are not
	// missed) or "latest".
	Start string
	// EventTime makes each record's Arrival the Kafka message timestamp
	// instead of the time sluice read it, so statements without
	// @EventTime window by the Kafka timestamp.
	EventTime bool

	BatchSize int           // records per hand-on (1000)
	BatchWait time.Duration // how long a partial batch waits for more (5ms)
	// CommitInterval is how often offsets handed on are committed (1s).
	// Negative disables it: a checkpointer then calls Commit with the
	// positions its snapshot covers.
	CommitInterval time.Duration
	// Resume, when set, is a restored checkpoint's Positions: each
	// partition the source is assigned starts there, and they are
	// committed for the group before it joins if the group is idle.
	Resume map[int]int64
	// Node names this sluice process in its consumer groups: the client id
	// is sluice/<Node>/<run>, run being new for every process. On Open,
	// members that an earlier run of the same node left in the group (a
	// crash leaves them until their session times out) are removed, so the
	// group rebalances at once rather than waiting for them. Empty: the
	// client id is kafka-go's default and nothing is removed.
	Node string
	run  string
	// Align hands the partitions on merged by message timestamp rather
	// than as their fetches return (see aligner): a restart reading a
	// backlog then does not let one partition run ahead of the others.
	// A checkpointer wants it, so that a replay interleaves the partitions
	// as closely as possible to how the first run did.
	Align bool
	// AlignWait is the longest a partition with no message holds the
	// others back (2s).
	AlignWait time.Duration
	// Handover, when set, is told when a rebalance takes partitions away
	// and gives others (see Handover).
	Handover Handover
	Logger   *slog.Logger
}

func (c *Config) normalize() error {
	if len(c.Brokers) == 0 {
		return errNoBrokers
	}
	if c.Topic == "" {
		return fmt.Errorf("%w %q: topic is required", ErrInvalid, c.Stream)
	}
	if c.Stream == "" {
		return fmt.Errorf("%w: stream name is required (topic %q)", ErrInvalid, c.Topic)
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	switch c.Start {
	case "":
		c.Start = StartEarliest
	case StartEarliest, StartLatest:
	default:
		return fmt.Errorf("%w %q: start must be %q or %q, not %q", ErrInvalid, c.Stream, StartEarliest, StartLatest, c.Start)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 5 * time.Millisecond
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = time.Second
	}
	if c.AlignWait <= 0 {
		c.AlignWait = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Node != "" && c.run == "" {
		c.run = newRun()
	}
	return nil
}
