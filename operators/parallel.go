package operators

import "slices"

// Parallel runs a windowed CUBE (or another GROUP BY of many grouping sets)
// as two Aggregates side by side, each over all events and half of the
// grouping sets, so that the statement uses two cores. The costly part of
// a CUBE is per grouping set (its groups, their aggregates, their rows);
// reading the events is what both halves repeat.
//
// The output is the one Aggregate's: the same rows with the same _key, in
// the same order (a window's rows merged by group key), and the same
// snapshot format, so state moves between a Parallel and a single
// Aggregate of the same statement. Only the first half counts late events
// and errors; the second adds the groups it refused over its MaxGroups.
// Each half has the statement's MaxGroups: a Parallel refuses no group that
// one Aggregate would take, and holds at most twice as many.
type Parallel struct {
	a, b   *Aggregate
	ca, cb []emitted // rows each half emitted in the current call
	done   chan struct{}
}

// emitted is one call of a half's emit: the rows of one window, with
// their group keys.
type emitted struct {
	start int64
	rows  []*Record
	keys  []string
}

// minParallelSets is the fewest grouping sets worth splitting: below, the
// second reading of every event costs about what the split saves.
const minParallelSets = 8

// ParallelCores is the fewest cores (GOMAXPROCS) on which a statement that
// is Parallelizable should run as a Parallel. The second half reads every
// event again, about a tenth more CPU for a CUBE like page_metrics: on two
// cores, which the rest of a pipeline keeps busy, that made the shipped
// pipeline 2–8 % slower; from three, the statement stops being the one
// that holds the others up.
const ParallelCores = 3

// Parallelizable reports whether a statement's Aggregate can run as a
// Parallel: windowed, without ORDER BY or LIMIT (a top-N ranks across
// every grouping set), and with grouping sets that split in two halves
// that each have a set holding all their others, such as CUBE's.
func Parallelizable(a *Aggregate) bool {
	_, _, ok := halves(a)
	return ok && a.Kind != NoWindow && len(a.Order) == 0 && a.Limit == 0
}

// NewParallel splits the grouping sets between a and b, two Aggregates
// built from one Parallelizable statement; a's counters are the
// statement's, and b must have counters of its own, which it may count
// twice in.
func NewParallel(a, b *Aggregate) *Parallel {
	sa, sb, _ := halves(a)
	sets := a.Sets
	for _, h := range []struct {
		agg *Aggregate
		ids []int
	}{{a, sa}, {b, sb}} {
		h.agg.Sets = make([][]int, len(h.ids))
		for i, id := range h.ids {
			h.agg.Sets[i] = sets[id]
		}
		h.agg.setIDs, h.agg.statementSets = h.ids, len(sets)
		h.agg.windows = nil // init again, for these sets
	}
	a.init()
	b.init()
	b.schema = a.schema // one schema for every row of the statement
	return &Parallel{a: a, b: b, done: make(chan struct{}, 1)}
}

// halves splits a's grouping sets by the first key that is in exactly half
// of them, when each half then has a set that holds its others.
func halves(a *Aggregate) (with, without []int, ok bool) {
	if len(a.Sets) < minParallelSets {
		return nil, nil, false
	}
	for k := range a.Keys {
		with, without = nil, nil
		for s, set := range a.Sets {
			if slices.Contains(set, k) {
				with = append(with, s)
			} else {
				without = append(without, s)
			}
		}
		if len(with) == len(without) && topSet(a.Sets, with) >= 0 && topSet(a.Sets, without) >= 0 {
			return with, without, true
		}
	}
	return nil, nil, false
}

func (p *Parallel) Process(batch []*Record, emit Emit) {
	p.run(func(a *Aggregate, e Emit) { a.Process(batch, e) }, emit)
}

func (p *Parallel) Tick(now int64, emit Emit) {
	p.run(func(a *Aggregate, e Emit) { a.Tick(now, e) }, emit)
}

func (p *Parallel) Finish(emit Emit) {
	p.run(func(a *Aggregate, e Emit) { a.Finish(e) }, emit)
}

// run calls f on both halves at once, the second in its own goroutine,
// then emits their rows in the single Aggregate's order.
func (p *Parallel) run(f func(*Aggregate, Emit), emit Emit) {
	go func() {
		f(p.b, func(rows []*Record) { p.cb = collectRows(p.cb, p.b, rows) })
		p.done <- struct{}{}
	}()
	f(p.a, func(rows []*Record) { p.ca = collectRows(p.ca, p.a, rows) })
	<-p.done
	p.a.Counters.Errors.Add(p.b.refused)
	p.b.refused = 0
	merge(p.ca, p.cb, emit)
	clear(p.ca)
	clear(p.cb)
	p.ca, p.cb = p.ca[:0], p.cb[:0]
}

// collectRows keeps one emit call's rows with their keys, which h's rows has
// just set.
func collectRows(calls []emitted, h *Aggregate, rows []*Record) []emitted {
	var start int64
	if len(rows) > 0 {
		start = rows[0].Values[0].I // window_start leads a windowed row
	}
	return append(calls, emitted{start: start, rows: rows, keys: slices.Clone(h.keys)})
}

// merge emits the halves' rows window by window, oldest first (each half
// emits its windows in that order); a window both halves emitted gets one
// emit, its rows merged by group key.
func merge(ca, cb []emitted, emit Emit) {
	for len(ca) > 0 || len(cb) > 0 {
		switch {
		case len(cb) == 0 || len(ca) > 0 && ca[0].start < cb[0].start:
			emit(ca[0].rows)
			ca = ca[1:]
		case len(ca) == 0 || cb[0].start < ca[0].start:
			emit(cb[0].rows)
			cb = cb[1:]
		default:
			emit(mergeRows(ca[0], cb[0]))
			ca, cb = ca[1:], cb[1:]
		}
	}
}

func mergeRows(x, y emitted) []*Record {
	out := make([]*Record, 0, len(x.rows)+len(y.rows))
	i, j := 0, 0
	for i < len(x.rows) && j < len(y.rows) {
		if x.keys[i] < y.keys[j] {
			out = append(out, x.rows[i])
			i++
		} else {
			out = append(out, y.rows[j])
			j++
		}
	}
	out = append(out, x.rows[i:]...)
	return append(out, y.rows[j:]...)
}

func (p *Parallel) StateSize() int { return p.a.StateSize() + p.b.StateSize() }

// Snapshot saves both halves as one Aggregate's state.
func (p *Parallel) Snapshot() ([]byte, error) { return snapshotAggregates(p.a, p.b) }

// Restore gives each half the groups of its grouping sets, or, if either
// half cannot read them, leaves both as they were.
func (p *Parallel) Restore(b []byte) error {
	sa, err := p.a.decode(b)
	if err != nil {
		return err
	}
	sb, err := p.b.decode(b)
	if err != nil {
		return err
	}
	sa.apply()
	sb.apply()
	return nil
}

// CopyState takes over the windows of a statement with the same state
// shape, split the same way or not split.
func (p *Parallel) CopyState(old Operator) {
	if o, ok := old.(*Parallel); ok {
		p.a.CopyState(o.a)
		p.b.CopyState(o.b)
		return
	}
	copyBySnapshot(p, old)
}

// copyBySnapshot moves state between operators of one statement that hold
// it differently (a Parallel and a single Aggregate): through a snapshot.
// A state that cannot be saved is left behind, as a shape change would.
func copyBySnapshot(dst Snapshotter, old Operator) {
	src, ok := old.(Snapshotter)
	if !ok {
		return
	}
	if b, err := src.Snapshot(); err == nil {
		_ = dst.Restore(b)
	}
}
