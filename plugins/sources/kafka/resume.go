package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// resumeAt commits a restored checkpoint's positions for the group, so
// that its committed offsets (and the lag GET /v1/streams shows) start
// where the state ends. Kafka accepts such a commit only while the group
// has no active member; otherwise the group's offsets are left alone,
// which changes nothing read: the source seeks each partition it keeps to
// its position itself.
func resumeAt(cfg *Config, log *slog.Logger) {
	err := commitResume(cfg)
	switch {
	case err == nil:
	case errors.Is(err, kafkago.UnknownMemberId), errors.Is(err, kafkago.IllegalGeneration), errors.Is(err, kafkago.RebalanceInProgress):
		log.Info("kafka: the group has active members, so its committed offsets stay; reading starts at the checkpoint's positions", "positions", cfg.Resume)
	default:
		log.Warn("kafka: the checkpoint's positions could not be committed for the group; reading starts at them all the same", "err", err)
	}
}

// commitResume stores a restored checkpoint's positions as the group's
// committed offsets before the source joins. Kafka accepts such a commit (generation
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
