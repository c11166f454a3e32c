package operators

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Snapshotter is an operator whose state can be saved with the source
// offsets it covers and restored after a restart.
type Snapshotter interface {
	Snapshot() ([]byte, error)
	Restore([]byte) error
}

const snapshotVersion = 1

// stateWriter and stateReader are the little binary format of snapshots.
type stateWriter struct{ b []byte }

func (w *stateWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *stateWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *stateWriter) value(v Value) { w.b = AppendValue(w.b, v) }
func (w *stateWriter) bytes(p []byte) {
	w.uint(uint64(len(p)))
	w.b = append(w.b, p...)
}
func (w *stateWriter) aggs(aggs []Aggregator) error {
	for _, a := range aggs {
		p, err := a.MarshalBinary()
		if err != nil {
			return err
		}
		w.bytes(p)
	}
	return nil
}
func (w *stateWriter) watermark(t watermark) {
	w.int(t.wm)
	w.int(t.maxEvent)
}

type stateReader struct {
	b   []byte
	err error
}

// int reads what binary.AppendVarint wrote: a zig-zag encoded uvarint.
func (r *stateReader) int() int64 {
	u := r.uint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *stateReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortState
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) value() Value {
	if r.err != nil {
		return Value{}
	}
	v, rest, err := ReadValue(r.b)
	r.b, r.err = rest, err
	return v
}

func (r *stateReader) bytes() []byte {
	n := r.uint()
	if r.err != nil || uint64(len(r.b)) < n {
		r.err = errShortState
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *stateReader) aggs(specs []AggSpec) []Aggregator {
	out := newAggregators(specs)
	r.aggsInto(out)
	return out
}

// aggsInto reads the state of empty aggregators.
func (r *stateReader) aggsInto(aggs []Aggregator) {
	for i, ag := range aggs {
		if p := r.bytes(); r.err == nil {
			if err := ag.UnmarshalBinary(p); err != nil {
				r.err = fmt.Errorf("aggregate %d: %w", i, err)
			}
		}
	}
}

// watermark reads what stateWriter.watermark wrote. The restored statement
// counts as having just seen input, so idle time starts at its first tick
// rather than at the epoch.
func (r *stateReader) watermark(t *watermark) {
	t.wm, t.maxEvent = r.int(), r.int()
	t.sawInput = true
}

func (r *stateReader) header() {
	if v := r.uint(); r.err == nil && v != snapshotVersion {
		r.err = fmt.Errorf("state: snapshot version %d, this sluice reads %d", v, snapshotVersion)
	}
}

// newSnapshot begins the snapshot of an operator that keeps event time:
// the version, its watermark and the latest arrival it stamps on rows.
func newSnapshot(t watermark, arrival int64) *stateWriter {
	w := &stateWriter{}
	w.uint(snapshotVersion)
	w.watermark(t)
	w.int(arrival)
	return w
}

// readSnapshot reads what newSnapshot wrote, for an operator of the given
// lateness and idle time.
func readSnapshot(b []byte, lateness, idle int64) (r *stateReader, t watermark, arrival int64) {
	r = &stateReader{b: b}
	r.header()
	t = newWatermark(lateness, idle)
	r.watermark(&t)
	return r, t, r.int()
}

// Snapshot saves the open windows and the watermark.
func (a *Aggregate) Snapshot() ([]byte, error) { return snapshotAggregates(a) }

// snapshotAggregates saves Aggregates that run the grouping sets of one
// statement (one, or the two halves of a Parallel) as one Aggregate's
// state: the format does not depend on how the sets were split.
func snapshotAggregates(halves ...*Aggregate) ([]byte, error) {
	for _, h := range halves {
		h.init()
	}
	// The halves read the same events: they agree on time and arrival.
	w := newSnapshot(halves[0].time, halves[0].arrival)
	if err := snapshotWindows(w, halves, func(h *Aggregate) map[int64]*window { return h.windows }); err != nil {
		return nil, err
	}
	if err := snapshotWindows(w, halves, func(h *Aggregate) map[int64]*window { return h.kept }); err != nil {
		return nil, err
	}
	return w.b, nil
}

func snapshotWindows(w *stateWriter, halves []*Aggregate, windows func(*Aggregate) map[int64]*window) error {
	groups := map[int64]int{} // per window start, over the halves
	for _, h := range halves {
		for start, win := range windows(h) {
			groups[start] += len(win.groups)
		}
	}
	w.uint(uint64(len(groups)))
	for start, n := range groups {
		w.int(start)
		w.uint(uint64(n))
		for _, h := range halves {
			win := windows(h)[start]
			if win == nil {
				continue
			}
			for _, g := range win.groups {
				w.uint(uint64(h.setID(g.set)))
				for _, k := range g.keys {
					w.value(k)
				}
				if err := w.aggs(g.aggs); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Restore replaces the state with a snapshot of the same statement.
func (a *Aggregate) Restore(b []byte) error {
	st, err := a.decode(b)
	if err == nil {
		st.apply()
	}
	return err
}

// aggregateState is a decoded snapshot, not yet in its Aggregate.
type aggregateState struct {
	a             *Aggregate
	windows, kept map[int64]*window
	time          watermark
	arrival       int64
	groups        int
}

func (a *Aggregate) decode(b []byte) (*aggregateState, error) {
	a.init()
	r, t, arrival := readSnapshot(b, a.Lateness, a.Idle)
	st := &aggregateState{a: a, time: t, arrival: arrival}
	var err error
	if st.windows, err = a.restoreWindows(r, &st.groups, false); err != nil {
		return nil, err
	}
	if st.kept, err = a.restoreWindows(r, &st.groups, true); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, fmt.Errorf("restore aggregate: %w", r.err)
	}
	return st, nil
}

func (st *aggregateState) apply() {
	a := st.a
	a.windows, a.kept, a.time, a.arrival, a.groups = st.windows, st.kept, st.time, st.arrival, st.groups
}

func (a *Aggregate) restoreWindows(r *stateReader, groups *int, emitted bool) (map[int64]*window, error) {
	windows := map[int64]*window{}
	for n := r.uint(); n > 0 && r.err == nil; n-- {
		win := &window{start: r.int(), groups: map[string]*group{}, emitted: emitted}
		for m := r.uint(); m > 0 && r.err == nil; m-- {
			// Room for the aggregators too: later groups of this window
			// are carved from the same chunk.
			id := int(r.uint())
			set, ok := a.localSet(id)
			if !ok {
				if id < 0 || id >= a.statementSets {
					return nil, errors.New("state: grouping set out of range")
				}
				// The other half's group (see Parallel): read past it.
				a.skipGroup(r)
				continue
			}
			g := win.alloc(len(a.Keys), a.Aggs)
			g.set = set
			for i := range g.keys {
				g.keys[i] = r.value()
			}
			r.aggsInto(g.aggs)
			g.key = string(appendSetKey(nil, id, g.keys, a.sets[g.set]))
			win.groups[g.key] = g
			*groups++
		}
		windows[win.start] = win
	}
	return windows, nil
}

// localSet is the index in a.sets of the statement's grouping set id;
// false if this Aggregate does not run it.
func (a *Aggregate) localSet(id int) (int, bool) {
	if a.setIDs == nil {
		return id, id >= 0 && id < len(a.sets)
	}
	s := slices.Index(a.setIDs, id)
	return s, s >= 0
}

// skipGroup reads a group of a grouping set another Aggregate runs.
func (a *Aggregate) skipGroup(r *stateReader) {
	for range a.Keys {
		r.value()
	}
	for range a.Aggs {
		r.bytes()
	}
}

// Snapshot saves the open sessions and the watermark.
func (a *Sessions) Snapshot() ([]byte, error) {
	a.init()
	w := newSnapshot(a.time, a.arrival)
	w.uint(uint64(len(a.open)))
	for _, e := range a.byEnd.items {
		if !e.live() {
			continue
		}
		s := e.s
		w.bytes([]byte(s.key))
		w.int(s.first)
		w.int(s.start)
		w.int(s.last)
		w.int(s.events)
		if err := w.aggs(s.aggs); err != nil {
			return nil, err
		}
	}
	return w.b, nil
}

// Restore replaces the open sessions with a snapshot's.
func (a *Sessions) Restore(b []byte) error {
	a.init()
	r, t, arrival := readSnapshot(b, a.Lateness, a.Idle)
	open := map[string]*session{}
	var h sessionHeap
	for n := r.uint(); n > 0 && r.err == nil; n-- {
		s := &session{key: string(r.bytes())}
		s.first, s.start, s.last, s.events = r.int(), r.int(), r.int(), r.int()
		s.aggs = r.aggs(a.Aggs)
		open[s.key] = s
		s.queued = s.deadline(a.Gap, a.MaxDuration)
		h.items = append(h.items, sessionEntry{at: s.queued, s: s})
	}
	if r.err != nil {
		return fmt.Errorf("restore sessions: %w", r.err)
	}
	heap.Init(&h)
	a.open, a.byEnd, a.time, a.arrival = open, h, t, arrival
	return nil
}

// Snapshot saves the session tags of a pass-through statement, if any.
func (m *Map) Snapshot() ([]byte, error) {
	w := &stateWriter{}
	w.uint(snapshotVersion)
	t := m.Sessions
	if t == nil {
		w.uint(0)
		return w.b, nil
	}
	w.int(t.maxEvent)
	w.int(t.swept)
	w.uint(uint64(len(t.open)))
	for k, s := range t.open {
		w.bytes([]byte(k))
		w.bytes([]byte(s.id))
		w.int(s.start)
		w.int(s.last)
		w.int(s.seq)
	}
	return w.b, nil
}

// Restore replaces the session tags with a snapshot's.
func (m *Map) Restore(b []byte) error {
	r := &stateReader{b: b}
	r.header()
	if m.Sessions == nil {
		return r.err
	}
	t := m.Sessions
	maxEvent, swept := r.int(), r.int()
	open := map[string]*tag{}
	for n := r.uint(); n > 0 && r.err == nil; n-- {
		k := string(r.bytes())
		open[k] = &tag{id: string(r.bytes()), start: r.int(), last: r.int(), seq: r.int()}
	}
	if r.err != nil {
		return fmt.Errorf("restore session tags: %w", r.err)
	}
	t.init()
	t.open, t.maxEvent, t.swept = open, maxEvent, swept
	return nil
}
