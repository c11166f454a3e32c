package operators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// PartitionField is the named Value (KindInt) in which Kafka records carry
// their partition. A record without it belongs to partition -1.
const PartitionField = "_kafka_partition"

// Partitioned keeps a statement's keyed state per Kafka partition of its
// input (@ClusterAffinity): one operator per partition seen, so that when a
// consumer-group rebalance moves a partition to another process, its state
// can be handed over with it (SetPartitions). Records without a partition
// all go to one operator, which then behaves as if unwrapped.
type Partitioned struct {
	build func() Operator
	parts map[int64]Operator
	ids   []int64 // the keys of parts, ascending: Tick and Finish go in this order

	// The schema of the last record read and PartitionField's index in
	// it: the records of a batch usually share one.
	schema *Schema
	field  int

	// Scratch space for batches of several partitions, reused between
	// batches: Kafka sources merge their partitions into each batch.
	groups []partGroup
	group  map[int64]int // partition → index in groups
	of     []int         // each record's index in groups
	split  []*Record     // the batch, grouped by partition
}

// partGroup is one partition's records in Partitioned.split.
type partGroup struct {
	part     int64
	start, n int
}

// NewPartitioned wraps the operators that build makes, one per partition.
func NewPartitioned(build func() Operator) *Partitioned {
	return &Partitioned{build: build, parts: map[int64]Operator{}, field: -1, group: map[int64]int{}}
}

// partition is the Kafka partition of r, or -1.
func (p *Partitioned) partition(r *Record) int64 {
	if r.Schema != p.schema {
		p.schema, p.field = r.Schema, r.Schema.Index(PartitionField)
	}
	if p.field < 0 || p.field >= len(r.Values) || r.Values[p.field].Kind != KindInt {
		return -1
	}
	return r.Values[p.field].I
}

// instance is the operator of a partition, built on first use.
func (p *Partitioned) instance(part int64) Operator {
	op, ok := p.parts[part]
	if !ok {
		op = p.build()
		p.set(part, op)
	}
	return op
}

// set makes op the operator of a partition.
func (p *Partitioned) set(part int64, op Operator) {
	if i, found := slices.BinarySearch(p.ids, part); !found {
		p.ids = slices.Insert(p.ids, i, part)
	}
	p.parts[part] = op
}

// Process hands each partition's records, in batch order, to its operator;
// partitions go in the order of their first record in the batch.
func (p *Partitioned) Process(batch []*Record, emit Emit) {
	if len(batch) == 0 {
		return
	}
	first := p.partition(batch[0])
	same := 1
	for same < len(batch) && p.partition(batch[same]) == first {
		same++
	}
	if same == len(batch) {
		p.instance(first).Process(batch, emit)
		return
	}
	// Group the records by partition: count each group, then place each
	// record after the groups before its own.
	clear(p.group)
	p.groups, p.of = p.groups[:0], p.of[:0]
	for _, r := range batch {
		part := p.partition(r)
		g, ok := p.group[part]
		if !ok {
			g = len(p.groups)
			p.group[part] = g
			p.groups = append(p.groups, partGroup{part: part})
		}
		p.groups[g].n++
		p.of = append(p.of, g)
	}
	at := 0
	for i := range p.groups {
		p.groups[i].start, at = at, at+p.groups[i].n
		p.groups[i].n = 0 // counts again as the group fills
	}
	p.split = slices.Grow(p.split[:0], len(batch))[:len(batch)]
	for i, r := range batch {
		g := &p.groups[p.of[i]]
		p.split[g.start+g.n] = r
		g.n++
	}
	for _, g := range p.groups {
		end := g.start + g.n
		p.instance(g.part).Process(p.split[g.start:end:end], emit)
	}
	clear(p.split) // keep no record alive past the batch
}

func (p *Partitioned) Tick(now int64, emit Emit) {
	for _, id := range p.ids {
		p.parts[id].Tick(now, emit)
	}
}

func (p *Partitioned) Finish(emit Emit) {
	for _, id := range p.ids {
		p.parts[id].Finish(emit)
	}
}

func (p *Partitioned) StateSize() int {
	n := 0
	for _, op := range p.parts {
		n += op.StateSize()
	}
	return n
}

// Snapshot saves every partition's state (see JoinPartitions). It fails
// if the wrapped operators keep no snapshot.
func (p *Partitioned) Snapshot() ([]byte, error) {
	states := make(map[int64][]byte, len(p.parts))
	for _, id := range p.ids {
		s, ok := p.parts[id].(Snapshotter)
		if !ok {
			return nil, fmt.Errorf("partition %d: %T keeps no snapshot", id, p.parts[id])
		}
		b, err := s.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", id, err)
		}
		states[id] = b
	}
	return JoinPartitions(states), nil
}

// Restore replaces every partition's operator with one restored from the
// snapshot, or, if any partition's state cannot be restored, none.
func (p *Partitioned) Restore(b []byte) error {
	states, err := SplitPartitions(b)
	if err != nil {
		return err
	}
	parts, err := p.restoreAll(states)
	if err != nil {
		return err
	}
	p.parts, p.ids = parts, slices.Sorted(maps.Keys(parts))
	return nil
}

// restoreAll builds an operator for each partition's state.
func (p *Partitioned) restoreAll(states map[int64][]byte) (map[int64]Operator, error) {
	parts := make(map[int64]Operator, len(states))
	for _, id := range slices.Sorted(maps.Keys(states)) {
		op := p.build()
		s, ok := op.(Snapshotter)
		if !ok {
			return nil, fmt.Errorf("partition %d: %T cannot restore a snapshot", id, op)
		}
		if err := s.Restore(states[id]); err != nil {
			return nil, fmt.Errorf("partition %d: %w", id, err)
		}
		parts[id] = op
	}
	return parts, nil
}

// CopyState takes over the state of each partition of the statement it
// replaces. The state of an unpartitioned statement stays behind: its
// state shape differs, so the runtime does not ask.
func (p *Partitioned) CopyState(old Operator) {
	o, ok := old.(*Partitioned)
	if !ok {
		return
	}
	for _, id := range o.ids {
		op := p.build()
		if sc, ok := op.(StateCopier); ok {
			sc.CopyState(o.parts[id])
			p.set(id, op)
		}
	}
}

// setPartitions drops the partitions neither kept nor loaded (never -1)
// and puts in the loaded ones' operators (see restoreAll).
func (p *Partitioned) setPartitions(keep []int64, loaded map[int64]Operator) {
	for id := range p.parts {
		if id != -1 && !slices.Contains(keep, id) {
			delete(p.parts, id)
		}
	}
	maps.Copy(p.parts, loaded)
	p.ids = slices.Sorted(maps.Keys(p.parts))
}

// partitionsMagic begins a Partitioned snapshot, so that SplitPartitions
// refuses the state of another operator.
const partitionsMagic = "partitions"

// JoinPartitions encodes per-partition states as one Partitioned snapshot:
// the partitions in ascending order, each with its state's length.
func JoinPartitions(parts map[int64][]byte) []byte {
	w := &stateWriter{b: []byte(partitionsMagic)}
	w.uint(snapshotVersion)
	w.uint(uint64(len(parts)))
	for _, id := range slices.Sorted(maps.Keys(parts)) {
		w.int(id)
		w.bytes(parts[id])
	}
	return w.b
}

// SplitPartitions decodes a Partitioned snapshot into each partition's
// state. The states share state's memory.
func SplitPartitions(state []byte) (map[int64][]byte, error) {
	rest, ok := bytes.CutPrefix(state, []byte(partitionsMagic))
	if !ok {
		return nil, errors.New("state: not the state of a partitioned statement")
	}
	r := &stateReader{b: rest}
	r.header()
	n := r.uint()
	parts := map[int64][]byte{}
	prev := int64(0)
	for i := uint64(0); i < n && r.err == nil; i++ {
		id, b := r.int(), r.bytes()
		if r.err == nil && i > 0 && id <= prev {
			r.err = errors.New("state: partitions out of order")
		}
		parts[id], prev = b, id
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("state: bytes after the last partition")
	}
	if r.err != nil {
		return nil, fmt.Errorf("split partitions: %w", r.err)
	}
	return parts, nil
}

// SetPartitions follows a consumer-group rebalance of a Kafka stream: in
// every running statement on stream that keeps its state per partition,
// the partitions neither in keep nor in load[statement] are dropped (their
// state went with them to another process), and those in load[statement]
// start from the given state (SplitPartitions' parts of a snapshot of the
// same state shape: the caller checks it, as Restore does). Partition -1
// is never dropped. All or nothing: every state is restored first, and if
// one cannot be, no statement changes and the error names each failure.
func (rt *Runtime) SetPartitions(ctx context.Context, stream string, keep []int64, load map[string]map[int64][]byte) error {
	if err := rt.lockLife(ctx); err != nil {
		return err
	}
	defer rt.life.Unlock()
	type change struct {
		q      *Query
		p      *Partitioned
		loaded map[int64]Operator
	}
	var changes []change
	var errs []error
	for _, q := range rt.Queries() {
		p, ok := q.op.(*Partitioned)
		if !ok || q.spec.Source != stream {
			continue
		}
		c := change{q: q, p: p}
		var err error
		if derr := q.do(ctx, func() { c.loaded, err = p.restoreAll(load[q.spec.Name]) }); derr != nil {
			return derr
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("set partitions of %q: %w", q.spec.Name, err))
		}
		changes = append(changes, c)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Every statement just answered: the swaps are quick, and stopping
	// between two would leave them changed for only some statements.
	apply := context.WithoutCancel(ctx)
	for _, c := range changes {
		if err := c.q.do(apply, func() { c.p.setPartitions(keep, c.loaded) }); err != nil {
			return err
		}
	}
	return nil
}
