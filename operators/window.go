package operators

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sort"
	"strings"
	"unsafe"
)

// WindowKind is how a statement groups time.
type WindowKind uint8

const (
	NoWindow WindowKind = iota // running aggregate: emits updated groups after each batch
	Tumble                     // fixed, non-overlapping windows of Size
	Hop                        // windows of Size starting every Slide
)

// AggSpec is one aggregate of a statement.
type AggSpec struct {
	Arg Expr // over the input row; nil for COUNT(*)
	New AggregatorFactory
	// SharedWith is 1 + the index of an earlier aggregate of the statement
	// whose state this one answers from (see Sharer); 0: its own state.
	SharedWith int
}

// OrderKey is one ORDER BY term, over the output-phase row.
type OrderKey struct {
	Expr Expr
	Desc bool
}

// Aggregate groups rows by keys (and grouping sets, for CUBE) within
// windows, and emits each window once when the watermark passes its end.
//
// Expressions after grouping (Having, Project, Order) read the output-phase
// row: the group's key values (NULL where a grouping set rolls the key up),
// then window_start and window_end, then the aggregate results.
type Aggregate struct {
	KeyedInput
	Query     *string // the statement's name, for _key
	Lateness  int64   // ms the watermark stays behind the largest event time
	Idle      int64   // ms without input after which event time follows the wall clock
	Kind      WindowKind
	Size      int64   // ms
	Slide     int64   // ms, Hop only
	Sets      [][]int // grouping sets as indexes into Keys; nil: one set of all keys
	Having    Expr
	Columns   []string
	Project   []Expr
	Order     []OrderKey
	Limit     int // 0: no limit
	MaxGroups int // open groups across windows; more are refused and counted as errors
	// LateFor, when positive, keeps an emitted window this long (ms) after
	// its end: a late event then updates it and its changed rows are
	// emitted again with the same _key. Zero drops late events.
	LateFor int64

	windows map[int64]*window
	kept    map[int64]*window // emitted windows still taking late updates
	late    []*window         // kept windows a late event changed in this batch
	time    watermark
	arrival int64 // latest arrival seen, stamped on output rows
	groups  int
	dirty   []*group // running aggregates: groups changed in this batch

	orow    []Value
	project []Expr // Project without window_start and window_end, which lead windowed rows
	keyBuf  []byte
	hexKeys []byte     // scratch: a window's row keys
	byKey   []keyedRow // scratch: a window's rows in output order
	schema  *Schema
	sets    [][]int
	inSet   [][]bool
	full    int // the grouping set that holds every other set (see topSet), or -1
	// setIDs number the grouping sets as the statement does, when this
	// Aggregate runs only some of them (see Parallel); nil: 0, 1, 2, ….
	// Group keys, row keys and snapshots use these numbers.
	setIDs        []int
	statementSets int    // the statement's grouping sets, these and others
	refused       uint64 // groups refused over MaxGroups
	// keys are the group keys of the rows rows returned last, in their
	// order, kept only in a half of a Parallel (setIDs set), which merges
	// the halves' rows by them.
	keys []string
	// lastSize is the group count of the window closed last.
	lastSize int
	spare    *window // the window closed last, emptied for the next to open
}

type window struct {
	start   int64
	groups  map[string]*group
	emitted bool // closed and emitted; kept for late updates
	updated bool // in Aggregate.late

	// Groups are carved from chunks, a window's state is freed at once, or
	// handed to the next window to open (see Aggregate.recycle).
	chunk      int          // groups in the last new chunk; the next holds twice as many, up to maxChunk
	chunks     []groupChunk // in use, oldest first; the last is being filled
	spare      []groupChunk // a closed window's chunks, used before new ones
	mapSize    int          // most groups the map has held
	parentSlab []*group
	keySlab    []byte // the groups' keys, end to end
}

// groupChunk is room for up to cap(groups) groups, their keys and their
// aggregators.
type groupChunk struct {
	groups []group      // carved so far
	values []Value      // keys: cap(groups) times the key count
	aggs   []Aggregator // cap(groups) times the aggregate count, all made, all empty until carved
}

// empty resets what the chunk's groups held, so that a spare chunk keeps
// no state of the window it came from, only the room.
func (c *groupChunk) empty() {
	used, size := len(c.groups), cap(c.groups)
	clear(c.groups)
	c.groups = c.groups[:0]
	clear(c.values[:used*len(c.values)/size])
	for _, ag := range c.aggs[:used*len(c.aggs)/size] {
		ag.Reset()
	}
}

// maxChunk bounds the groups of one slab chunk; chunks start small and
// double, so a window with three groups does not hold room for hundreds.
const maxChunk = 512

// alloc returns an empty group with room for its keys and empty
// aggregators. The aggregators of a chunk's groups are made together, one
// allocation per aggregate.
func (w *window) alloc(keys int, specs []AggSpec) *group {
	if n := len(w.chunks); n == 0 || len(w.chunks[n-1].groups) == cap(w.chunks[n-1].groups) {
		w.chunks = append(w.chunks, w.newChunk(keys, specs))
	}
	c := &w.chunks[len(w.chunks)-1]
	i := len(c.groups)
	c.groups = c.groups[:i+1]
	g := &c.groups[i]
	g.keys = c.values[i*keys : (i+1)*keys : (i+1)*keys]
	aggs := len(specs)
	g.aggs = c.aggs[i*aggs : (i+1)*aggs : (i+1)*aggs]
	return g
}

// newChunk is the oldest spare chunk emptied (the smallest, so that a quiet
// window keeps little), or a new one twice the last's size.
func (w *window) newChunk(keys int, specs []AggSpec) groupChunk {
	if len(w.spare) > 0 {
		c := w.spare[0]
		w.spare[0] = groupChunk{}
		w.spare = w.spare[1:]
		return c
	}
	w.chunk = min(max(2*w.chunk, 4), maxChunk)
	aggs := len(specs)
	c := groupChunk{
		groups: make([]group, 0, w.chunk),
		values: make([]Value, w.chunk*keys),
		aggs:   make([]Aggregator, w.chunk*aggs),
	}
	col := make([]Aggregator, w.chunk)
	for i, s := range specs {
		s.New(col)
		for j, ag := range col {
			c.aggs[j*aggs+i] = ag
		}
	}
	for j := range w.chunk {
		share(specs, c.aggs[j*aggs:(j+1)*aggs])
	}
	return c
}

// keep copies a group key into the window's key slab: one allocation per
// few hundred keys instead of one per group, freed with the window. Bytes
// once written there never change, so the string stays valid.
func (w *window) keep(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	if cap(w.keySlab)-len(w.keySlab) < len(key) {
		w.keySlab = make([]byte, 0, max(64*w.chunk, 2*len(key)))
	}
	n := len(w.keySlab)
	w.keySlab = append(w.keySlab, key...)
	return unsafe.String(&w.keySlab[n], len(key))
}

// list is the window's groups in the order they were created, which is
// their order in memory.
func (w *window) list() []*group {
	out := make([]*group, 0, len(w.groups))
	for _, c := range w.chunks {
		for i := range c.groups {
			out = append(out, &c.groups[i])
		}
	}
	return out
}

// allocParents returns room for n parent pointers, carved like groups.
func (w *window) allocParents(n int) []*group {
	if cap(w.parentSlab)-len(w.parentSlab) < n {
		w.parentSlab = make([]*group, 0, max(w.chunk, 4)*n)
	}
	k := len(w.parentSlab)
	w.parentSlab = w.parentSlab[:k+n]
	return w.parentSlab[k : k+n : k+n]
}

type group struct {
	key   string // grouping set and key values, order-preserving (see appendKey)
	set   int
	keys  []Value
	aggs  []Aggregator
	dirty bool
	// parents are the groups of the other grouping sets that an event of
	// this group (of the set that holds every other) also belongs to.
	parents []*group
}

func (a *Aggregate) init() {
	if a.windows != nil {
		return
	}
	a.windows = map[int64]*window{}
	a.kept = map[int64]*window{}
	a.time = newWatermark(a.Lateness, a.Idle)
	a.initInput()
	a.orow = make([]Value, len(a.Keys)+len(a.Aggs)+2)
	a.sets = a.Sets
	if a.sets == nil {
		all := make([]int, len(a.Keys))
		for i := range all {
			all[i] = i
		}
		a.sets = [][]int{all}
	}
	if a.setIDs == nil {
		a.statementSets = len(a.sets)
	}
	a.inSet = make([][]bool, len(a.sets))
	for s, set := range a.sets {
		a.inSet[s] = make([]bool, len(a.Keys))
		for _, k := range set {
			a.inSet[s][k] = true
		}
	}
	all := make([]int, len(a.sets))
	for s := range all {
		all[s] = s
	}
	a.full = topSet(a.sets, all)
	names := make([]string, 0, len(a.Columns)+3)
	if a.Kind != NoWindow {
		names = append(names, "window_start", "window_end")
	}
	for _, c := range a.Columns {
		if a.Kind == NoWindow || (c != "window_start" && c != "window_end") {
			names = append(names, c)
		}
	}
	a.project = a.project[:0]
	for i, e := range a.Project {
		if c := a.Columns[i]; a.Kind == NoWindow || (c != "window_start" && c != "window_end") {
			a.project = append(a.project, e)
		}
	}
	a.schema = NewSchema(append(names, "_key")...)
	if a.MaxGroups <= 0 {
		a.MaxGroups = 1_000_000
	}
}

// topSet is the first of the grouping sets ids that holds every key of
// the others, or -1: an event's group in it determines its groups in them.
func topSet(sets [][]int, ids []int) int {
	for _, top := range ids {
		holds := true
		for _, id := range ids {
			for _, k := range sets[id] {
				holds = holds && slices.Contains(sets[top], k)
			}
		}
		if holds {
			return top
		}
	}
	return -1
}

// setID is grouping set s's number in the statement.
func (a *Aggregate) setID(s int) int {
	if a.setIDs == nil {
		return s
	}
	return a.setIDs[s]
}

// Schema is the output rows' schema.
func (a *Aggregate) Schema() *Schema { a.init(); return a.schema }

func (a *Aggregate) Process(batch []*Record, emit Emit) {
	a.init()
	for _, r := range batch {
		a.arrival = max(a.arrival, r.Arrival)
		ts, ok := a.read(r)
		if !ok {
			continue
		}
		switch a.Kind {
		case NoWindow:
			a.add(a.window(0))
		case Tumble:
			s := floorTo(ts, a.Size)
			if a.time.closed(s + a.Size) {
				a.Counters.Late.Add(1)
				a.addLate(s)
				continue
			}
			a.add(a.window(s))
		case Hop:
			open, late := false, false
			for s := floorTo(ts, a.Slide); s > ts-a.Size; s -= a.Slide {
				if !a.time.closed(s + a.Size) {
					a.add(a.window(s))
					open = true
				} else {
					a.addLate(s)
					late = true
				}
			}
			// Late, as in a TUMBLE, when a window of the event was already
			// emitted: counted once, whichever of its windows were open.
			if late {
				a.Counters.Late.Add(1)
			}
			if !open {
				continue
			}
		}
		a.time.observe(ts)
	}
	if a.Kind == NoWindow {
		a.emitDirty(emit)
		return
	}
	a.emitLate(emit)
	if wm, moved := a.time.afterBatch(); moved {
		a.close(wm, emit)
	}
}

// window returns the open window starting at start, opening it if new.
func (a *Aggregate) window(start int64) *window {
	w := a.windows[start]
	if w == nil {
		w = a.spare
		a.spare = nil
		if w == nil {
			// Sized like the last closed window: growing a map of thousands
			// of groups step by step rehashes it many times.
			w = &window{groups: make(map[string]*group, a.lastSize)}
		}
		w.start = start
		a.windows[start] = w
	}
	return w
}

// recycle empties a closed window for the next window to open, which then
// carves its groups from the same memory: with steady traffic a window
// allocates groups and aggregators only beyond its predecessor's (its key
// and parent slabs are new). The groups' aggregators are reset here, so the spare holds no state, and only the
// chunks the closed window used are kept, so one busy window's memory is
// not held through quiet ones.
func (a *Aggregate) recycle(w *window) {
	if a.spare != nil {
		return
	}
	n := len(w.groups)
	w.mapSize = max(w.mapSize, n)
	if 4*n < w.mapSize {
		w.groups, w.mapSize = make(map[string]*group, n), n
	} else {
		clear(w.groups)
	}
	for i := range w.chunks {
		w.chunks[i].empty()
	}
	// Chunks this window did not use are dropped; the taken ones were
	// zeroed as they were taken, so the backing array holds no others.
	clear(w.spare)
	w.spare = append(w.spare[:0], w.chunks...)
	clear(w.chunks)
	w.chunks = w.chunks[:0]
	w.parentSlab, w.keySlab = nil, nil
	a.spare = w
}

// addLate folds a late event into its emitted window, if that window is
// still kept for updates.
func (a *Aggregate) addLate(start int64) {
	if a.LateFor <= 0 || a.time.closed(start+a.Size+a.LateFor) {
		return
	}
	w := a.kept[start]
	if w == nil {
		w = &window{start: start, groups: map[string]*group{}, emitted: true}
		a.kept[start] = w
	}
	if !w.updated {
		w.updated = true
		a.late = append(a.late, w)
	}
	a.add(w)
}

// emitLate emits the rows late events changed: the changed groups, or with
// ORDER BY/LIMIT the window's whole top-N again.
func (a *Aggregate) emitLate(emit Emit) {
	if len(a.late) == 0 {
		return
	}
	slices.SortFunc(a.late, func(x, y *window) int { return cmpOrdered(x.start, y.start) })
	for _, w := range a.late {
		var groups []*group
		for _, g := range w.groups {
			if g.dirty || len(a.Order) > 0 || a.Limit > 0 {
				groups = append(groups, g)
			}
			g.dirty = false
		}
		w.updated = false
		if rows := a.rows(groups, w.start, w.start+a.Size); len(rows) > 0 {
			emit(rows)
		}
	}
	a.late = a.late[:0]
}

// add folds the current event into its group of every grouping set. With
// a grouping set that holds every other (CUBE and ROLLUP have one), only
// that group is looked up per event: it remembers its groups in the others.
func (a *Aggregate) add(w *window) {
	if a.full < 0 {
		for s := range a.sets {
			if g := a.group(w, s); g != nil {
				a.update(w, g)
			}
		}
		return
	}
	g := a.group(w, a.full)
	if g == nil {
		// Over MaxGroups: the coarser groups that exist still count it.
		for s := range a.sets {
			if s == a.full {
				continue
			}
			if p := a.group(w, s); p != nil {
				a.update(w, p)
			}
		}
		return
	}
	a.update(w, g)
	if len(a.sets) == 1 {
		return
	}
	if g.parents != nil {
		for _, p := range g.parents {
			a.update(w, p)
		}
		return
	}
	parents := w.allocParents(len(a.sets) - 1)[:0]
	for s := range a.sets {
		if s == a.full {
			continue
		}
		p := a.group(w, s)
		if p == nil {
			parents = nil // over MaxGroups: look the sets up again next time
			continue
		}
		a.update(w, p)
		if parents != nil {
			parents = append(parents, p)
		}
	}
	g.parents = parents
}

// group is the window's group of grouping set s for the current keys,
// created if new; nil when MaxGroups is reached (counted as an error).
func (a *Aggregate) group(w *window, s int) *group {
	buf := appendSetKey(a.keyBuf[:0], a.setID(s), a.kv, a.sets[s])
	a.keyBuf = buf
	g := w.groups[string(buf)]
	if g == nil {
		if a.groups >= a.MaxGroups {
			a.Counters.Errors.Add(1)
			a.refused++
			return nil
		}
		g = a.newGroup(w, s)
		g.key = w.keep(buf)
		w.groups[g.key] = g
	}
	return g
}

// update adds the current event's arguments to g's aggregates.
func (a *Aggregate) update(w *window, g *group) {
	a.addArgs(g.aggs)
	switch {
	case w.emitted:
		g.dirty = true
	case a.Kind == NoWindow && !g.dirty:
		g.dirty = true
		a.dirty = append(a.dirty, g)
	}
}

func (a *Aggregate) newGroup(w *window, set int) *group {
	a.groups++
	g := w.alloc(len(a.Keys), a.Aggs)
	g.set = set
	for k := range a.Keys {
		if a.inSet[set][k] {
			g.keys[k] = a.kv[k]
		}
	}
	return g
}

// Tick lets event time follow the wall clock once input has stopped for
// Idle, so the last window of a quiet stream still closes.
func (a *Aggregate) Tick(now int64, emit Emit) {
	a.init()
	if wm, moved := a.time.tick(now); moved && a.Kind != NoWindow {
		a.close(wm, emit)
	}
}

// Finish closes every open window: the end of a bounded input.
func (a *Aggregate) Finish(emit Emit) {
	a.init()
	if wm, moved := a.time.finish(); moved && a.Kind != NoWindow {
		a.close(wm, emit)
	}
}

func (a *Aggregate) StateSize() int { return a.groups }

// CopyState takes over the windows of a statement with the same state shape.
func (a *Aggregate) CopyState(old Operator) {
	o, ok := old.(*Aggregate)
	if !ok {
		copyBySnapshot(a, old)
		return
	}
	if o.windows == nil {
		return
	}
	a.init()
	a.windows, a.kept, a.time, a.groups, a.arrival = o.windows, o.kept, o.time, o.groups, o.arrival
	a.time.lateness, a.time.idle = a.Lateness, a.Idle
	o.windows = nil
}

// close emits every window the watermark has passed, oldest first.
func (a *Aggregate) close(wm int64, emit Emit) {
	var closed []int64
	for s := range a.windows {
		if s+a.Size <= wm {
			closed = append(closed, s)
		}
	}
	slices.Sort(closed)
	for _, s := range closed {
		w := a.windows[s]
		delete(a.windows, s)
		a.lastSize = len(w.groups)
		if rows := a.rows(w.list(), s, s+a.Size); len(rows) > 0 {
			emit(rows)
		}
		if a.LateFor > 0 {
			w.emitted = true
			a.kept[s] = w
		} else {
			a.groups -= len(w.groups)
			a.recycle(w)
		}
	}
	for s, w := range a.kept {
		if s+a.Size+a.LateFor <= wm {
			delete(a.kept, s)
			a.groups -= len(w.groups)
		}
	}
}

func (a *Aggregate) emitDirty(emit Emit) {
	if len(a.dirty) == 0 {
		return
	}
	groups := a.dirty
	if len(a.Order) > 0 {
		// A top-N over running totals is re-ranked over every group.
		groups = make([]*group, 0, len(a.windows[0].groups))
		for _, g := range a.windows[0].groups {
			groups = append(groups, g)
		}
	}
	for _, g := range a.dirty {
		g.dirty = false
	}
	a.dirty = a.dirty[:0]
	if rows := a.rows(groups, 0, 0); len(rows) > 0 {
		emit(rows)
	}
}

// rows turns groups into output rows: HAVING, then ORDER BY and LIMIT, then
// the projection. Without ORDER BY, rows come in grouping-set then key order.
// The rows are computed in the groups' order (memory order, for a closing
// window) and sorted after. A window's rows share two allocations: one for
// their values, one for the records.
func (a *Aggregate) rows(groups []*group, start, end int64) []*Record {
	width := len(a.schema.Names)
	keyAt := width - 1 // _key, filled in after the loop from one string
	hexKeys := a.hexKeys[:0]
	byKey := a.byKey[:0]
	slab := make([]Value, 0, len(groups)*width)
	no := len(a.Order)
	var sortKeys []Value // no per row
	if no > 0 {
		sortKeys = make([]Value, 0, len(groups)*no)
	}
	nk := len(a.Keys)
	n := 0
	for _, g := range groups {
		copy(a.orow, g.keys)
		a.orow[nk] = Int(start)
		a.orow[nk+1] = Int(end)
		for i, ag := range g.aggs {
			a.orow[nk+2+i] = ag.Result()
		}
		if a.Having != nil && !a.Having(a.orow).Truthy() {
			continue
		}
		if a.Kind != NoWindow {
			slab = append(slab, Int(start), Int(end))
		}
		for _, e := range a.project {
			slab = append(slab, e(a.orow))
		}
		hexKeys = appendRowKey(hexKeys, &a.keyBuf, *a.Query, start, a.setID(g.set), g.keys)
		slab = append(slab, Value{})
		for _, o := range a.Order {
			sortKeys = append(sortKeys, o.Expr(a.orow))
		}
		byKey = append(byKey, keyedRow{pre: keyPrefix(g.key), key: g.key, row: n})
		n++
	}
	a.hexKeys = hexKeys
	keys := string(hexKeys) // one allocation for every row's _key
	recs := make([]Record, n)
	for i := range recs {
		slab[i*width+keyAt] = Str(keys[32*i : 32*i+32])
		recs[i] = Record{Arrival: a.arrival, Schema: a.schema, Values: slab[i*width : (i+1)*width : (i+1)*width]}
	}
	slices.SortFunc(byKey, func(x, y keyedRow) int {
		if x.pre != y.pre {
			return cmp.Compare(x.pre, y.pre)
		}
		return strings.Compare(x.key, y.key)
	})
	if len(a.Order) > 0 {
		sort.SliceStable(byKey, func(i, j int) bool {
			x, y := sortKeys[byKey[i].row*no:], sortKeys[byKey[j].row*no:]
			for k, o := range a.Order {
				if c := compareNullsFirst(x[k], y[k]); c != 0 {
					return (c < 0) != o.Desc
				}
			}
			return false
		})
	}
	kept := byKey
	if a.Limit > 0 && len(kept) > a.Limit {
		kept = kept[:a.Limit]
	}
	out := make([]*Record, len(kept))
	for i, k := range kept {
		out[i] = &recs[k.row]
	}
	if a.setIDs != nil {
		a.keys = a.keys[:0]
		for _, k := range kept {
			a.keys = append(a.keys, k.key)
		}
	}
	clear(byKey) // drop the keys: the scratch outlives the window
	a.byKey = byKey
	return out
}

// keyedRow is an output row's position and its group's key, for sorting.
// Most comparisons are decided by the key's first bytes, kept inline so
// that sorting seldom reads the keys themselves.
type keyedRow struct {
	pre uint64
	key string
	row int
}

// keyPrefix is the first 8 bytes of key as a big-endian number, zero
// padded: it orders like the bytes it holds.
func keyPrefix(key string) uint64 {
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// compareNullsFirst is a total order for sorting: NULL first, then values;
// kinds that do not compare order by kind.
func compareNullsFirst(x, y Value) int {
	if x.Kind == KindNull || y.Kind == KindNull {
		return cmpOrdered(int64(boolInt(y.Kind == KindNull)), int64(boolInt(x.Kind == KindNull)))
	}
	if c, ok := Compare(x, y); ok {
		return c
	}
	return cmpOrdered(int64(x.Kind), int64(y.Kind))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func floorTo(ts, size int64) int64 {
	s := ts - ts%size
	if ts%size < 0 {
		s -= size
	}
	return s
}

// RowKey is the stable id of an aggregate output row: the statement, the
// window start, the grouping set and the group's key values. Sinks use it as
// the idempotent document id, so a replayed window overwrites itself.
func RowKey(query string, windowStart int64, set int, keys []Value) string {
	var scratch []byte
	return string(appendRowKey(nil, &scratch, query, windowStart, set, keys))
}

// appendRowKey appends RowKey's 32 hex digits to dst; scratch is room for
// the hashed bytes, kept as grown for the next key.
func appendRowKey(dst []byte, scratch *[]byte, query string, windowStart int64, set int, keys []Value) []byte {
	b := append((*scratch)[:0], query...)
	b = append(b, 0)
	b = binary.AppendVarint(b, windowStart)
	b = binary.AppendUvarint(b, uint64(set))
	for _, k := range keys {
		b = AppendValue(b, k)
	}
	*scratch = b
	sum := sha256.Sum256(b)
	return hex.AppendEncode(dst, sum[:16])
}
