package operators

import "sync/atomic"

// Emit receives an operator's output rows. The slice is only valid during
// the call; the records themselves are immutable and may be kept.
type Emit func(rows []*Record)

// Operator is one stage of a compiled statement.
type Operator interface {
	// Process handles a batch of input records.
	Process(batch []*Record, emit Emit)
	// Tick tells the operator the wall clock (ms), so windows of idle
	// streams still close.
	Tick(now int64, emit Emit)
	// Finish closes everything still open: the end of a bounded input.
	Finish(emit Emit)
	// StateSize is the number of open keyed states (groups, sessions).
	StateSize() int
}

// StateCopier is an operator whose state survives a hot replacement with a
// statement of the same state shape (Prometheus's Group.CopyState).
type StateCopier interface {
	CopyState(old Operator)
}

// Counters are a running statement's counters; operators add to them.
type Counters struct {
	In        atomic.Uint64 // records read from the source stream and processed
	Out       atomic.Uint64 // rows emitted
	Late      atomic.Uint64 // events behind the watermark
	Errors    atomic.Uint64 // rows an expression or sink failed on
	Evictions atomic.Uint64 // keyed state closed early to stay within its bound
}

// PlanNode describes one operator of a compiled statement for the API.
type PlanNode struct {
	ID     int    `json:"id"`
	Op     string `json:"op"`
	Detail string `json:"detail,omitempty"`
	Inputs []int  `json:"inputs,omitempty"`
}

// SinkDecl is one @Sink annotation (or @PublishOn) of a statement.
type SinkDecl struct {
	Type string            `json:"type"`
	Args map[string]string `json:"args,omitempty"`
}

// QuerySpec is a compiled statement, ready to run.
type QuerySpec struct {
	Name        string              `json:"name"`
	SQL         string              `json:"sql"`
	Description string              `json:"description,omitempty"`
	Source      string              `json:"source"`           // stream read
	Target      string              `json:"target,omitempty"` // INSERT INTO stream
	Sinks       []SinkDecl          `json:"sinks,omitempty"`
	Widget      map[string]string   `json:"widget,omitempty"`
	Annotations map[string][]string `json:"-"` // raw annotation text by name, for plugins
	Columns     []string            `json:"columns"`
	Plan        []PlanNode          `json:"plan"`
	// Affinity is the @ClusterAffinity key of a statement that keeps its
	// state per Kafka partition (its operator is a Partitioned), or "".
	Affinity string `json:"affinity,omitempty"`
	// StateShape is equal for two statements whose state can be carried over.
	StateShape string `json:"-"`
	// Build creates the operator chain, wired to the statement's counters.
	Build func(c *Counters) Operator `json:"-"`
}

// Chain runs operators one after another as a single Operator.
type Chain []Operator

func (c Chain) Process(batch []*Record, emit Emit) { c.process(0, batch, emit) }

func (c Chain) process(i int, batch []*Record, emit Emit) {
	if i == len(c) {
		emit(batch)
		return
	}
	c[i].Process(batch, func(rows []*Record) { c.process(i+1, rows, emit) })
}

func (c Chain) Tick(now int64, emit Emit) {
	for i, op := range c {
		op.Tick(now, func(rows []*Record) { c.process(i+1, rows, emit) })
	}
}

func (c Chain) Finish(emit Emit) {
	for i, op := range c {
		op.Finish(func(rows []*Record) { c.process(i+1, rows, emit) })
	}
}

func (c Chain) StateSize() int {
	n := 0
	for _, op := range c {
		n += op.StateSize()
	}
	return n
}

// CopyState hands each stage of old to the stage at the same place.
func (c Chain) CopyState(old Operator) {
	o, ok := old.(Chain)
	if !ok || len(o) != len(c) {
		return
	}
	for i, op := range c {
		if sc, ok := op.(StateCopier); ok {
			sc.CopyState(o[i])
		}
	}
}
