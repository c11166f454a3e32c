package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/kafka"
)

// Handing partitions over in a rebalance. A statement with
// @ClusterAffinity keeps its state per Kafka partition of the stream it
// reads. Every checkpoint, after its document, writes one partition record
// per partition of each Kafka stream such statements read: the partition's
// position and each statement's state for it. When a rebalance begins,
// the Checkpointer takes a checkpoint before the partitions are released
// (Revoked). When partitions are assigned (Assigned), a record at a later
// offset than the process's own position, written by another process,
// replaces the partition's state and moves its position: newest offset
// wins. Partitions the process no longer owns lose their state, which
// their new owner loads from the same records.

// partitionRecord is the state of one Kafka partition.
type partitionRecord struct {
	Header
	// Offset is the first message of the partition the state has not seen.
	Offset int64 `json:"offset"`
	// Statements are the partition's state of each @ClusterAffinity
	// statement reading the stream; a statement with none for the
	// partition is absent.
	Statements map[string]operators.StatementState `json:"statements"`
}

// partitionKey names a partition's record: the group and topic, since the
// stream's name may differ between processes.
func partitionKey(group, topic string, p int) string {
	return group + "/" + topic + "/" + strconv.Itoa(p)
}

// affine are the running @ClusterAffinity statements that read stream.
func (c *Checkpointer) affine(stream string) []*operators.Query {
	var out []*operators.Query
	for _, q := range c.rt.Queries() {
		if sp := q.Spec(); sp.Affinity != "" && sp.Source == stream {
			out = append(out, q)
		}
	}
	return out
}

// savePartitions writes the partition records of snap's Kafka streams.
func (c *Checkpointer) savePartitions(ctx context.Context, snap *Snapshot) error {
	for stream, src := range snap.Sources {
		affine := c.affine(stream)
		if len(affine) == 0 {
			continue
		}
		split := map[string]map[int64][]byte{}
		for _, q := range affine {
			st, ok := snap.Statements[q.Spec().Name]
			if !ok {
				continue
			}
			parts, err := operators.SplitPartitions(st.State)
			if err != nil {
				return fmt.Errorf("partition records of %q: %w", q.Spec().Name, err)
			}
			split[q.Spec().Name] = parts
		}
		for p, off := range src.Positions {
			rec := partitionRecord{Header: snap.Header, Offset: off, Statements: map[string]operators.StatementState{}}
			for name, parts := range split {
				if state, ok := parts[int64(p)]; ok {
					rec.Statements[name] = operators.StatementState{Shape: snap.Statements[name].Shape, State: state}
				}
			}
			doc, err := json.Marshal(rec)
			if err != nil {
				return fmt.Errorf("encode partition record: %w", err)
			}
			if err := c.cfg.Store.SavePartition(ctx, partitionKey(groupOf(src.StreamConfig), src.Topic, p), off, doc); err != nil {
				return err
			}
		}
	}
	return nil
}

// Revoked takes a checkpoint before a rebalance releases s's partitions,
// so that their next owner finds their state. None is needed when one
// began after s stopped handing on (since): with several streams in the
// group, the first one's covers the others. Once Close has begun, its
// last checkpoint is the one that counts: a later one would save no
// sources.
func (c *Checkpointer) Revoked(ctx context.Context, s *kafka.Source, since time.Time) error {
	if err := c.lockCtx(ctx); err != nil {
		return err
	}
	defer c.unlock()
	select {
	case <-c.stop:
		return nil
	default:
	}
	if c.lastStart.After(since) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := c.checkpointLocked(ctx); err != nil {
		return err
	}
	c.stats.handedOff.Add(1)
	return nil
}

// Assigned loads the records of s's assigned partitions that are newer
// than s's own positions and were written by another process, and drops
// the state of the partitions s no longer owns (its positions no longer
// list them). It returns the loaded records' offsets.
func (c *Checkpointer) Assigned(ctx context.Context, s *kafka.Source, assigned, dropped []int) (map[int]int64, error) {
	cfg := s.Config()
	affine := c.affine(cfg.Stream)
	if len(affine) == 0 {
		return nil, nil
	}
	keys := make([]string, len(assigned))
	for i, p := range assigned {
		keys[i] = partitionKey(cfg.Group, cfg.Topic, p)
	}
	docs, err := c.cfg.Store.LoadPartitions(ctx, keys)
	if err != nil {
		return nil, err
	}
	recs := make([]*partitionRecord, len(assigned))
	for i, doc := range docs {
		// A record this sluice cannot read is one it does not have: the
		// stream must not stall on it on every node it moves to.
		if recs[i], err = decodePartition(doc); err != nil {
			c.log.Error("partition record unreadable: the partition starts without it", "record", keys[i], "err", err)
			c.stats.badRecords.Add(1)
		}
	}
	loaded, load, keep := c.plan(assigned, recs, s.Positions(), affine)
	if err := c.rt.SetPartitions(ctx, cfg.Stream, keep, load); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		// All or nothing: nothing was loaded. Take no partition over.
		c.log.Error("partition records not restored: the partitions start without them", "partitions", assigned, "err", err)
		c.stats.badRecords.Add(uint64(len(loaded)))
		loaded, keep = nil, int64s(assigned)
		if err := c.rt.SetPartitions(ctx, cfg.Stream, keep, nil); err != nil {
			return nil, err
		}
	}
	c.log.Info("kafka partitions assigned", "stream", cfg.Stream, "topic", cfg.Topic, "assigned", assigned,
		"dropped", dropped, "taken_over", slices.Sorted(maps.Keys(loaded)))
	c.stats.takenOver.Add(uint64(len(loaded)))
	return loaded, nil
}

// plan decides, per assigned partition, whether it starts from its record:
// loaded are the offsets of those that do, load their statements' states,
// keep the others.
func (c *Checkpointer) plan(assigned []int, recs []*partitionRecord, own map[int]int64, affine []*operators.Query) (loaded map[int]int64, load map[string]map[int64][]byte, keep []int64) {
	taken := takeOver(assigned, recs, own, c.cfg.Node)
	loaded, load = map[int]int64{}, map[string]map[int64][]byte{}
	for i, p := range assigned {
		if !taken[i] {
			keep = append(keep, int64(p))
			continue
		}
		rec := recs[i]
		loaded[p] = rec.Offset
		for _, q := range affine {
			name := q.Spec().Name
			st, ok := rec.Statements[name]
			if !ok || st.Shape != q.Spec().StateShape {
				// Deployed on one process only, or changed since: it
				// starts the partition without state, at the record.
				if ok || len(rec.Statements) > 0 {
					c.log.Warn("partition record holds no state of this statement: it starts the partition fresh",
						"statement", name, "partition", p, "record_node", rec.Node)
				}
				continue
			}
			if load[name] == nil {
				load[name] = map[int64][]byte{}
			}
			load[name][int64(p)] = st.State
		}
	}
	return loaded, load, keep
}

func int64s(ps []int) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = int64(p)
	}
	return out
}

// takeOver says which assigned partitions start from their record: those
// with a record written by another node at a later offset than the own
// position, or with a record and no own position. A record of this node
// newer than its own position is one its restart did not restore (the
// latest document was unreadable): the older state replays to the same
// place, and loading the record would skip what the other statements
// need to see.
func takeOver(assigned []int, recs []*partitionRecord, own map[int]int64, node string) []bool {
	out := make([]bool, len(assigned))
	for i, p := range assigned {
		pos, ok := own[p]
		out[i] = recs[i] != nil && (!ok || recs[i].Offset > pos && recs[i].Node != node)
	}
	return out
}

func decodePartition(doc []byte) (*partitionRecord, error) {
	if doc == nil {
		return nil, nil
	}
	var rec partitionRecord
	if err := unmarshal(doc, &rec, &rec.Header, "partition record"); err != nil {
		return nil, err
	}
	return &rec, nil
}
