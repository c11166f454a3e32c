package kafka

import (
	"context"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

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
