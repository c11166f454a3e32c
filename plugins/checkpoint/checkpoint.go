// Package checkpoint makes sluice's results exactly-once across crashes
// when its input comes from Kafka.
//
// Every interval, and on graceful shutdown, the Checkpointer pauses every
// Kafka source (they stop handing batches on; their readers keep fetching
// ahead), takes operators.Runtime.Snapshot — which drains every queue,
// saves each statement's windows and sessions and then waits until every
// sink has acknowledged what it was given — records each source's
// positions (per partition, the offset after the last message handed on)
// with the state, resumes the sources, writes the document to a Store and
// only then commits the positions to the consumer groups. On start, the
// latest document is restored into the statements and every source starts
// at the document's positions, whatever the group committed since: the
// positions and the state always come from the same document.
//
// Why the sink contents come out exactly once: a crash loses what happened
// after the last document, and the restart replays exactly that tail from
// Kafka into exactly the state the document saved. Rows emitted before the
// document are acknowledged by their sinks before it is stored. Rows
// emitted after it are emitted again by the replay with the same content
// and the same _key, and the sinks overwrite instead of adding:
// Elasticsearch indexes by _id = the row's _key, and the Redis modes set,
// hll, hash, zset and string are idempotent (zincr and list are not: a
// replay adds again). The replay regenerates the same rows when a
// statement's output depends only on its input's content and its order
// within each partition, which holds when
//   - windows and sessions close by event time only: a checkpointed stream
//     is marked operators.Runtime.EventTimeOnly, so a quiet stream does not
//     close windows by the wall clock (the last window of a stream that
//     stops closes when later events arrive);
//   - no event is late: out-of-order events stay within the statement's
//     lateness, counting the skew between partitions, which interleave
//     differently on a replay (a statement's late_events must stay 0).
//     Checkpointed sources merge their partitions by Kafka timestamp
//     (kafka.Config.Align), so that reading a backlog keeps that skew
//     small;
//   - aggregates do not depend on the order across partitions: COUNT, SUM
//     of integers, MIN, MAX and COUNT(DISTINCT) never do; FIRST, LAST and
//     AVG or SUM of floats (rounding) are the same only within one
//     partition, so with one partition or a GROUP BY key that is the
//     partitioning key; PERCENTILE and TOPK are sketches whose last digits
//     may differ;
//   - output does not read the wall clock: NOW(), or _arrival on a stream
//     without event_time (Kafka's timestamp is the arrival with it);
//   - one sluice process consumes each group, or the statement keeps its
//     state per partition (@ClusterAffinity): a rebalance hands only such
//     state between processes (see handover.go).
//
// A Kafka sink (@PublishOn) is at-least-once: a replay publishes the tail
// again, with the same keys.
package checkpoint

import (
	"encoding/json"
	"fmt"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/kafka"
)

// Version is the document format this sluice writes and reads.
const Version = 1

// Snapshot is one checkpoint: every stateful statement's state and the
// positions of every Kafka source that state covers.
type Snapshot struct {
	Header
	Statements map[string]operators.StatementState `json:"statements"`
	Sources    map[string]Source                   `json:"sources"` // by stream name
}

// Header begins every document a Checkpointer stores: checkpoints and
// partition records.
type Header struct {
	Version int       `json:"version"`
	Node    string    `json:"node"`
	Seq     uint64    `json:"seq"` // of the checkpoint
	Taken   time.Time `json:"taken"`
}

// Source is a Kafka-backed stream as a checkpoint saw it: enough to declare
// it again and resume it where the state ends.
type Source struct {
	kafka.StreamConfig
	// Positions are, per partition, the offset of the first message the
	// state has not seen.
	Positions map[int]int64 `json:"positions"`
}

func encode(s *Snapshot) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint %d: %w", s.Seq, err)
	}
	return b, nil
}

func decode(b []byte) (*Snapshot, error) {
	var s Snapshot
	if err := unmarshal(b, &s, &s.Header, "checkpoint"); err != nil {
		return nil, err
	}
	return &s, nil
}

// unmarshal decodes a stored document into v, whose header h must be of
// the format this sluice reads.
func unmarshal(b []byte, v any, h *Header, what string) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if h.Version != Version {
		return fmt.Errorf("%s format %d, this sluice reads %d", what, h.Version, Version)
	}
	return nil
}
