package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// PartitionStats is one partition of a Kafka-backed stream.
type PartitionStats struct {
	Partition int   `json:"partition"`
	Position  int64 `json:"position"`  // offset after the last message handed on; -1 before the first
	Committed int64 `json:"committed"` // the group's committed offset; -1 when none
	End       int64 `json:"end"`       // the partition's end offset (high watermark)
	// Lag is how many messages the group has not committed yet: End minus
	// Committed, or minus where consumption starts when nothing is committed.
	Lag int64 `json:"lag"`
}

// Stats describes a Kafka-backed stream for GET /v1/streams.
type Stats struct {
	Stream      string `json:"stream"`
	Topic       string `json:"topic"`
	Group       string `json:"group"`
	Start       string `json:"start"`
	EventTime   bool   `json:"event_time"`
	Consumed    uint64 `json:"consumed"`             // records handed on
	DeadLetters uint64 `json:"dead_letters"`         // poison messages sent to _dead_letter
	Retries     uint64 `json:"backpressure_retries"` // waits for a stream's queue to make room
	// Aborted counts aborted transactions whose records were read as
	// committed ones: kafka-go cannot filter them out.
	Aborted    uint64           `json:"aborted_transactions"`
	Partitions []PartitionStats `json:"partitions"`
	// Members are the client ids of the consumer group's members.
	Members []string `json:"members"`
	// Warning says that a checkpointed stream's group has members of other
	// processes: a rebalance hands over only @ClusterAffinity state.
	Warning   string `json:"warning,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// OutOfOrder counts what an aligned source handed on before a lagging
	// partition had caught up, because that partition was silent for
	// AlignWait.
	OutOfOrder *OutOfOrder `json:"out_of_order,omitempty"`
}

// OutOfOrder is Stats.OutOfOrder.
type OutOfOrder struct {
	Silent uint64 `json:"silent"`
}

// Stats reads the counters and asks the cluster for each partition's
// committed and end offsets.
func (s *Source) Stats(ctx context.Context) (Stats, error) {
	pos := s.Positions()
	s.mu.Lock()
	st := Stats{
		Stream: s.cfg.Stream, Topic: s.cfg.Topic, Group: s.cfg.Group, Start: s.cfg.Start, EventTime: s.cfg.EventTime,
		Consumed: s.consumed.Load(), DeadLetters: s.deadLetters.Load(), Retries: s.retries.Load(),
		Aborted:   s.dec.aborted.Load(),
		LastError: s.lastErr,
	}
	s.mu.Unlock()
	if s.cfg.Align {
		st.OutOfOrder = &OutOfOrder{Silent: s.lateByTime.Load()}
	}
	offs, err := partitionOffsets(ctx, s.cfg.Brokers, s.cfg.Group, s.cfg.Topic)
	if err != nil {
		return st, err
	}
	if st.Members, err = groupMembers(ctx, &s.cfg); err != nil {
		return st, err
	}
	st.Warning = sharedGroupWarning(&s.cfg, st.Members)
	for _, o := range offs {
		ps := PartitionStats{Partition: o.partition, Position: -1, Committed: o.committed, End: o.end}
		if p, ok := pos[o.partition]; ok {
			ps.Position = p
		}
		base := o.committed
		switch {
		case base >= 0:
		case s.cfg.Start == StartLatest:
			base = o.end
		default:
			base = o.first
		}
		ps.Lag = max(o.end-base, 0)
		st.Partitions = append(st.Partitions, ps)
	}
	return st, nil
}

type offsets struct {
	partition             int
	first, end, committed int64
}

// partitionOffsets asks for a topic's partitions, their first and end
// offsets and a group's committed offsets.
func partitionOffsets(ctx context.Context, brokers []string, group, topic string) ([]offsets, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	parts, err := partitionsOf(ctx, cl, topic)
	if err != nil {
		return nil, err
	}
	sort.Ints(parts)
	// Brokers refuse a partition named twice in one ListOffsets request,
	// so first and end offsets are two requests.
	first, err := listOffsets(ctx, cl, topic, parts, kafkago.FirstOffset)
	if err != nil {
		return nil, err
	}
	end, err := listOffsets(ctx, cl, topic, parts, kafkago.LastOffset)
	if err != nil {
		return nil, err
	}
	of, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = of.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) {
		// A group that never committed has no offsets yet; some brokers say so this way.
		of, err = &kafkago.OffsetFetchResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kafka committed offsets of group %q on topic %q: %w", group, topic, err)
	}
	byPart := make(map[int]*offsets, len(parts))
	out := make([]offsets, len(parts))
	for i, p := range parts {
		out[i] = offsets{partition: p, first: first[p], end: end[p], committed: -1}
		byPart[p] = &out[i]
	}
	for _, pc := range of.Topics[topic] {
		if o := byPart[pc.Partition]; o != nil && pc.Error == nil {
			o.committed = pc.CommittedOffset
		}
	}
	return out, nil
}

func listOffsets(ctx context.Context, cl *kafkago.Client, topic string, parts []int, which int64) (map[int]int64, error) {
	reqs := make([]kafkago.OffsetRequest, len(parts))
	for i, p := range parts {
		reqs[i] = kafkago.OffsetRequest{Partition: p, Timestamp: which}
	}
	res, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("kafka list offsets of topic %q: %w", topic, err)
	}
	out := make(map[int]int64, len(parts))
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("kafka list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		if which == kafkago.FirstOffset {
			out[po.Partition] = po.FirstOffset
		} else {
			out[po.Partition] = po.LastOffset
		}
	}
	return out, nil
}

func topicErr(md *kafkago.MetadataResponse) error {
	if len(md.Topics) == 1 {
		return md.Topics[0].Error
	}
	return fmt.Errorf("metadata returned %d topics", len(md.Topics))
}

// partitionsOf lists the partition ids of topic in metadata order.
func partitionsOf(ctx context.Context, cl *kafkago.Client, topic string) ([]int, error) {
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka metadata of topic %q: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("kafka topic %q: %w", topic, topicErr(md))
	}
	parts := make([]int, len(md.Topics[0].Partitions))
	for i, p := range md.Topics[0].Partitions {
		parts[i] = p.ID
	}
	return parts, nil
}
