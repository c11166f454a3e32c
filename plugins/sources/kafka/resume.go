package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// resumeAt makes consumption start exactly at a restored checkpoint's
// positions. While the group has no active member, the positions are
// committed for it, which also rewinds it. A group with active members
// (another stream of this process sharing it, or another process) refuses
// such a commit; the source then skips whatever precedes the positions,
// which is enough unless the group has committed past them.
func resumeAt(cfg *Config, log *slog.Logger) error {
	err := commitResume(cfg)
	if err == nil {
		return nil
	}
	if !errors.Is(err, kafkago.UnknownMemberId) && !errors.Is(err, kafkago.IllegalGeneration) && !errors.Is(err, kafkago.RebalanceInProgress) {
		return err
	}
	committed, cerr := committedOffsets(cfg)
	if cerr != nil {
		return errors.Join(err, cerr)
	}
	for p, off := range cfg.Resume {
		if c, ok := committed[p]; ok && c > off {
			return fmt.Errorf("kafka resume group %q at %s/%d offset %d: the group committed %d and has active members, so it cannot be rewound: %w",
				cfg.Group, cfg.Topic, p, off, c, err)
		}
	}
	log.Info("kafka: the group has active members; skipping to the checkpoint's positions", "positions", cfg.Resume)
	return nil
}

// commitResume stores a restored checkpoint's positions as the group's
// committed offsets before the reader joins, so every partition starts
// exactly where the snapshot ends. Kafka accepts such a commit (generation
// -1, no member) only while the group has no active member.
func commitResume(cfg *Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commits := make([]kafkago.OffsetCommit, 0, len(cfg.Resume))
	for p, off := range cfg.Resume {
		commits = append(commits, kafkago.OffsetCommit{Partition: p, Offset: off})
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(cfg.Brokers...)}
	res, err := cl.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{
		GroupID: cfg.Group, GenerationID: -1, Topics: map[string][]kafkago.OffsetCommit{cfg.Topic: commits},
	})
	if err != nil {
		return fmt.Errorf("kafka resume group %q topic %q: %w", cfg.Group, cfg.Topic, err)
	}
	for _, p := range res.Topics[cfg.Topic] {
		if p.Error != nil {
			return fmt.Errorf("kafka resume group %q at %s/%d: %w", cfg.Group, cfg.Topic, p.Partition, p.Error)
		}
	}
	return nil
}

// committedOffsets reads the group's committed offsets of the partitions
// in cfg.Resume; a partition with none is left out.
func committedOffsets(cfg *Config) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parts := make([]int, 0, len(cfg.Resume))
	for p := range cfg.Resume {
		parts = append(parts, p)
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(cfg.Brokers...)}
	res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: cfg.Group, Topics: map[string][]int{cfg.Topic: parts}})
	if err == nil {
		err = res.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) {
		return map[int]int64{}, nil // the group never committed
	}
	if err != nil {
		return nil, fmt.Errorf("kafka committed offsets of group %q on topic %q: %w", cfg.Group, cfg.Topic, err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[cfg.Topic] {
		if p.Error == nil && p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}
