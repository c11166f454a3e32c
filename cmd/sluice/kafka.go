package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/operators"
	"sluice/plugins/checkpoint"
	"sluice/plugins/sources/kafka"
	"sluice/server"
)

// kafkaStreamFlag is one --kafka-stream name=topic[:group].
type kafkaStreamFlag struct {
	name string
	kafka.StreamConfig
}

// kafkaStreamFlags is the repeatable --kafka-stream; one value may also
// list several, separated by commas (as SLUICE_KAFKA_STREAMS does).
type kafkaStreamFlags []kafkaStreamFlag

func (k *kafkaStreamFlags) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, target, ok := strings.Cut(item, "=")
		topic, group, _ := strings.Cut(target, ":")
		if !ok || name == "" || topic == "" {
			return fmt.Errorf("%q: want name=topic or name=topic:group", item)
		}
		*k = append(*k, kafkaStreamFlag{name: name, StreamConfig: kafka.StreamConfig{Topic: topic, Group: group}})
	}
	return nil
}

func (k *kafkaStreamFlags) String() string {
	var parts []string
	for _, f := range *k {
		s := f.name + "=" + f.Topic
		if f.Group != "" {
			s += ":" + f.Group
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func defaultNode() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "sluice"
}

// streaming is serve's Kafka sources and, with a state store, the
// checkpointer in front of them.
type streaming struct {
	log     *slog.Logger
	manager *kafka.Manager
	cp      *checkpoint.Checkpointer // nil without a state store (see stateStore)
	store   checkpoint.Store
	closed  sync.Once
}

func (c *serveConfig) newStreaming(rt *operators.Runtime, log *slog.Logger) (*streaming, error) {
	store, err := c.stateStore(log)
	if err != nil {
		return nil, err
	}
	// Checkpointed, only checkpoints commit, and partitions are merged by
	// timestamp so that a replay interleaves them as the first run did;
	// otherwise sources commit on their own: at-least-once.
	commit, checkpointed := time.Duration(0), store != nil
	if checkpointed {
		commit = -1
	}
	st := &streaming{log: log, store: store, manager: kafka.NewManager(kafka.Config{
		Brokers: rt.Env().KafkaBrokers, Node: c.node, CommitInterval: commit, Align: checkpointed, Logger: log,
	}, rt)}
	if store != nil {
		st.cp, err = checkpoint.New(checkpoint.Config{Store: store, Node: c.node, Interval: c.checkpointInterval, Logger: log}, rt, st.manager)
		if err != nil {
			st.close()
			return nil, err
		}
	}
	return st, nil
}

// stateStore is where checkpoints go: Redis when --state-redis-url is
// set, else --state-dir. With --kafka-stream and neither set, a directory
// beside the dashboard's (--data-dir) or in the working directory:
// exactly-once results are the default whenever Kafka is the source. nil
// otherwise, or with --state-dir none.
func (c *serveConfig) stateStore(log *slog.Logger) (checkpoint.Store, error) {
	switch {
	case c.stateRedisURL != "":
		return checkpoint.NewRedisStore(c.stateRedisURL, c.node)
	case c.stateDir == noStateDir:
		return nil, nil
	case c.stateDir != "":
		return checkpoint.NewDirStore(filepath.Clean(c.stateDir), c.node)
	case len(c.kafkaStreams) > 0:
		dir := defaultStateDir
		if c.dataDir != "" {
			dir = filepath.Join(c.dataDir, defaultStateDir)
		}
		store, err := checkpoint.NewDirStore(dir, c.node)
		if err != nil {
			return nil, fmt.Errorf("kafka streams are checkpointed by default, to %s: set --data-dir, --state-dir or --state-redis-url, or --state-dir none for no checkpoints: %w", dir, err)
		}
		log.Info("kafka: checkpoints go to the default state directory (exactly-once); choose another with --state-dir or --state-redis-url, or turn them off with --state-dir none", "dir", dir)
		return store, nil
	}
	return nil, nil
}

// defaultStateDir is --state-dir when --kafka-stream is given and no store is.
const defaultStateDir = "sluice-state"

// noStateDir turns checkpoints off.
const noStateDir = "none"

// api is what the HTTP API declares, removes and lists Kafka streams with.
func (st *streaming) api() server.KafkaStreams {
	if st.cp != nil {
		return st.cp
	}
	return st.manager
}

func (st *streaming) metrics() []prometheus.Collector {
	if st.cp != nil {
		return []prometheus.Collector{st.cp}
	}
	return nil
}

// start restores the latest checkpoint into the deployed statements,
// declares the --kafka-stream streams and those the checkpoint had, and
// starts taking checkpoints.
func (st *streaming) start(ctx context.Context, streams kafkaStreamFlags) error {
	if st.cp != nil {
		if _, err := st.cp.Restore(ctx); err != nil {
			return fmt.Errorf("restoring the latest checkpoint: %w", err)
		}
	}
	for _, f := range streams {
		if _, err := st.api().Add(ctx, f.name, f.StreamConfig); err != nil {
			return fmt.Errorf("--kafka-stream %s=%s: %w", f.name, f.Topic, err)
		}
		st.log.Info("kafka stream", "stream", f.name, "topic", f.Topic, "group", f.Group)
	}
	if st.cp == nil {
		if len(st.manager.Sources()) > 0 {
			st.log.Warn("no checkpoints: a crash loses window and session state, and events queued in sluice whose offsets were committed")
		}
		return nil
	}
	st.cp.AddRestored(ctx)
	st.cp.Start()
	return nil
}

// close takes the last checkpoint and stops the sources; the runtime
// closes afterwards. Calls after the first do nothing.
func (st *streaming) close() { st.closed.Do(st.stop) }

func (st *streaming) stop() {
	var err error
	if st.cp != nil {
		err = st.cp.Close()
	} else {
		err = st.manager.Close()
	}
	if c, ok := st.store.(interface{ Close() error }); ok {
		err = errors.Join(err, c.Close())
	}
	if err != nil {
		st.log.Error("stopping Kafka streams", "err", err)
	}
}
