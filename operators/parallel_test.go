package operators

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// cubeSets are CUBE's grouping sets over n keys, in the compiler's order:
// the fullest first, then by the keys they hold.
func cubeSets(n int) [][]int {
	var sets [][]int
	for size := n; size >= 0; size-- {
		for mask := 1<<n - 1; mask >= 0; mask-- {
			set := []int{}
			for d := range n {
				if mask&(1<<(n-1-d)) != 0 {
					set = append(set, d)
				}
			}
			if len(set) == size {
				sets = append(sets, set)
			}
		}
	}
	return sets
}

// cube is SELECT a, b, c, COUNT(*) AS n, SUM(v) AS total, FIRST(v) AS
// first FROM s GROUP BY <window>, CUBE(a, b, c) [HAVING COUNT(*) > 1],
// event time ts, built by hand.
func cube(kind WindowKind, lateFor int64, having bool) *Aggregate {
	name := "q"
	var aggs []AggSpec
	for _, fn := range []string{"COUNT", "SUM", "FIRST"} {
		mk, _ := aggregateFactory(fn)
		arg := func(row []Value) Value { return row[4] }
		if fn == "COUNT" {
			arg = nil
		}
		aggs = append(aggs, AggSpec{New: mk, Arg: arg})
	}
	a := &Aggregate{
		KeyedInput: KeyedInput{
			Extract:   NewExtractor([][]string{{"ts"}, {"a"}, {"b"}, {"c"}, {"v"}}),
			EventTime: func(row []Value) Value { return row[0] },
			Keys: []Expr{
				func(row []Value) Value { return row[1] },
				func(row []Value) Value { return row[2] },
				func(row []Value) Value { return row[3] },
			},
			Aggs:     aggs,
			Counters: &Counters{},
		},
		Query:    &name,
		Lateness: 500,
		Idle:     1000,
		Kind:     kind,
		Size:     1000,
		Slide:    500,
		Sets:     cubeSets(3),
		LateFor:  lateFor,
		Columns:  []string{"a", "b", "c", "n", "total", "first"},
	}
	for i := range a.Columns {
		col := i
		if i >= 3 {
			col += 2 // past window_start and window_end
		}
		a.Project = append(a.Project, func(row []Value) Value { return row[col] })
	}
	if having {
		a.Having = func(row []Value) Value { return Bool(row[5].I > 1) }
	}
	return a
}

// cubeEvents are n events a little out of order (some late), over key
// domains small enough that groups repeat, with a null now and then.
func cubeEvents(rng *rand.Rand, n int) [][]byte {
	pick := func(vals ...string) string {
		if rng.IntN(8) == 0 {
			return "null"
		}
		return `"` + vals[rng.IntN(len(vals))] + `"`
	}
	out := make([][]byte, n)
	var ts int64
	for i := range out {
		ts += rng.Int64N(20)
		at := ts - rng.Int64N(900) // up to 900 ms back: some beyond the lateness
		out[i] = fmt.Appendf(nil, `{"ts":%d,"a":%s,"b":%s,"c":%s,"v":%d}`,
			at, pick("x", "y"), pick("p", "q", "r"), pick("1", "2", "3", "4"), rng.IntN(100))
	}
	return out
}

// feed runs op over raws in batches of random size.
func feed(op Operator, raws [][]byte, rng *rand.Rand, emit Emit) {
	for len(raws) > 0 {
		n := min(1+rng.IntN(200), len(raws))
		batch := make([]*Record, n)
		for i, raw := range raws[:n] {
			batch[i] = &Record{Raw: raw}
		}
		op.Process(batch, emit)
		raws = raws[n:]
	}
}

// emits feeds op with raws, then lets the wall clock close its last
// windows (input idle), and returns each emit call's rows. Every row must
// have the statement's one schema.
func emits(t *testing.T, op Operator, raws [][]byte, rng *rand.Rand) [][]string {
	var calls [][]string
	first, _ := op.(*Aggregate)
	if p, ok := op.(*Parallel); ok {
		first = p.a
	}
	schema := first.Schema()
	emit := func(rows []*Record) {
		call := make([]string, len(rows))
		for i, r := range rows {
			if r.Schema != schema {
				t.Fatalf("row %s has another schema", r)
			}
			call[i] = r.String()
		}
		calls = append(calls, call)
	}
	feed(op, raws, rng, emit)
	open := len(calls)
	op.Tick(1e6, emit) // the quiet period starts
	op.Tick(2e6, emit)
	if len(calls) == open {
		t.Fatal("no window closed on the wall clock")
	}
	op.Finish(emit)
	return calls
}

// A Parallel emits exactly what one Aggregate of the statement emits:
// the same rows and _keys, in the same order and emit calls, and counts
// the same late events.
func TestParallelEmitsWhatOneAggregateEmits(t *testing.T) {
	cases := []struct {
		name    string
		kind    WindowKind
		lateFor int64
		having  bool
	}{
		{"tumble", Tumble, 0, false},
		{"hop", Hop, 0, false},
		{"having", Tumble, 0, true},
		{"late updates", Tumble, 3000, false},
	}
	for _, tc := range cases {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				raws := cubeEvents(rand.New(rand.NewPCG(seed, 1)), 3000)
				one := cube(tc.kind, tc.lateFor, tc.having)
				want := emits(t, one, raws, rand.New(rand.NewPCG(seed, 2)))
				a := cube(tc.kind, tc.lateFor, tc.having)
				p := NewParallel(a, cube(tc.kind, tc.lateFor, tc.having))
				got := emits(t, p, raws, rand.New(rand.NewPCG(seed, 2)))
				if len(want) < 5 {
					t.Fatalf("only %d emit calls: the input is too small to compare", len(want))
				}
				if d := callsDiff(got, want); d != "" {
					t.Fatal(d)
				}
				// A hopping event is late only once all its windows closed.
				if g, w := a.Counters.Late.Load(), one.Counters.Late.Load(); g != w || (w == 0 && tc.kind == Tumble) {
					t.Fatalf("late events: got %d, want %d", g, w)
				}
			})
		}
	}
}

func callsDiff(got, want [][]string) string {
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) {
			return fmt.Sprintf("%d emit calls, want %d", len(got), len(want))
		}
		if !slices.Equal(got[i], want[i]) {
			return fmt.Sprintf("emit call %d:\n got %s\nwant %s", i, strings.Join(got[i], "\n    "), strings.Join(want[i], "\n     "))
		}
	}
	return ""
}

// A snapshot of a Parallel is one Aggregate's snapshot: each restores the
// other's, and carries on as if nothing had happened.
func TestParallelSnapshotIsOneAggregates(t *testing.T) {
	raws := cubeEvents(rand.New(rand.NewPCG(9, 1)), 4000)
	head, tail := raws[:2000], raws[2000:]
	rest := func(op Operator, raws [][]byte) [][]string {
		return emits(t, op, raws, rand.New(rand.NewPCG(9, 2)))
	}
	whole := cube(Tumble, 3000, false)
	feedNoFinish(whole, head)
	want := rest(whole, tail)
	if len(want) < 5 {
		t.Fatalf("only %d emit calls after the snapshot", len(want))
	}

	newParallel := func() Operator { return NewParallel(cube(Tumble, 3000, false), cube(Tumble, 3000, false)) }
	newOne := func() Operator { return cube(Tumble, 3000, false) }
	for _, tc := range []struct {
		name     string
		from, to func() Operator
	}{
		{"parallel to one", newParallel, newOne},
		{"one to parallel", newOne, newParallel},
		{"parallel to parallel", newParallel, newParallel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.from()
			feedNoFinish(from, head)
			state, err := from.(Snapshotter).Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			to := tc.to()
			if err := to.(Snapshotter).Restore(state); err != nil {
				t.Fatal(err)
			}
			if from.StateSize() != to.StateSize() || to.StateSize() == 0 {
				t.Fatalf("restored %d groups of %d", to.StateSize(), from.StateSize())
			}
			if d := callsDiff(rest(to, tail), want); d != "" {
				t.Fatal(d)
			}
		})
		t.Run(tc.name+" by CopyState", func(t *testing.T) {
			from := tc.from()
			feedNoFinish(from, head)
			to := tc.to()
			to.(StateCopier).CopyState(from)
			if d := callsDiff(rest(to, tail), want); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// feedNoFinish feeds op with raws and leaves its windows open.
func feedNoFinish(op Operator, raws [][]byte) {
	feed(op, raws, rand.New(rand.NewPCG(9, 2)), func([]*Record) {})
}

// Each half holds up to MaxGroups, and the groups the second half refuses
// count as the statement's errors, once.
func TestParallelCountsRefusedGroups(t *testing.T) {
	a, b := cube(Tumble, 0, false), cube(Tumble, 0, false)
	a.MaxGroups, b.MaxGroups = 1, 1
	p := NewParallel(a, b)
	// Each half makes the group of its fullest set and refuses its other
	// three, for each event: the refused are looked up again each time.
	for i, want := range []uint64{6, 12} {
		p.Process(events(100+i), func([]*Record) {})
		if p.StateSize() != 2 || a.Counters.Errors.Load() != want {
			t.Fatalf("event %d: state %d, errors %d; want 2 and %d", i+1, p.StateSize(), a.Counters.Errors.Load(), want)
		}
	}
}

// A Parallel restores both halves or neither, and refuses a grouping set
// the statement does not have, as one Aggregate does.
func TestParallelRestoreIsAllOrNothing(t *testing.T) {
	newP := func() *Parallel { return NewParallel(cube(Tumble, 0, false), cube(Tumble, 0, false)) }
	group := func(w *stateWriter, set int, aggs func(*stateWriter)) {
		w.uint(uint64(set))
		for range 3 {
			w.value(Null())
		}
		aggs(w)
	}
	good := func(w *stateWriter) { _ = w.aggs(newAggregators(cube(Tumble, 0, false).Aggs)) }
	bad := func(w *stateWriter) {
		for range 3 {
			w.bytes([]byte{0xff}) // a varint cut short
		}
	}
	// One window: a group of set 0 (the first half's), then another.
	doc := func(set int, aggs func(*stateWriter)) []byte {
		w := newSnapshot(newWatermark(500, 1000), 0)
		w.uint(1)
		w.int(0)
		w.uint(2)
		group(w, 0, good)
		group(w, set, aggs)
		w.uint(0) // no windows kept for late updates
		return w.b
	}
	p := newP()
	if err := p.Restore(doc(3, good)); err != nil || p.StateSize() != 2 {
		t.Fatalf("restore: %v, %d groups; want 2", err, p.StateSize())
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		err  string
	}{
		{"bad state in the second half's group", doc(3, bad), "restore aggregate: state: truncated"},
		{"a grouping set the statement lacks", doc(8, good), "state: grouping set out of range"},
	} {
		p := newP()
		err := p.Restore(tc.doc)
		if err == nil || err.Error() != tc.err || p.StateSize() != 0 {
			t.Errorf("%s: %v, %d groups restored; want %q and none", tc.name, err, p.StateSize(), tc.err)
		}
		if err := cube(Tumble, 0, false).Restore(tc.doc); err == nil || err.Error() != tc.err {
			t.Errorf("%s: one Aggregate: %v", tc.name, err)
		}
	}
}

func TestParallelizable(t *testing.T) {
	limited := cube(Tumble, 0, false)
	limited.Limit = 10
	running := cube(NoWindow, 0, false)
	small := cube(Tumble, 0, false)
	small.Sets = cubeSets(2)
	rollup := cube(Tumble, 0, false)
	rollup.Sets = [][]int{{0, 1, 2}, {0, 1}, {0}, {}}
	// Eight sets over four keys, where keys 0, 1 and 2 each split them in
	// two (key 3 is in three): in every split, the half without the key
	// has no set that holds all its others.
	topless := cube(Tumble, 0, false)
	topless.Keys = append(topless.Keys, func(row []Value) Value { return row[4] })
	topless.Sets = [][]int{{0, 1, 2, 3}, {0, 1}, {0, 2}, {0, 3}, {1}, {2}, {3}, {1, 2}}
	for _, tc := range []struct {
		name string
		agg  *Aggregate
		want bool
	}{
		{"CUBE of three", cube(Tumble, 0, false), true},
		{"with LIMIT", limited, false},
		{"without a window", running, false},
		{"CUBE of two", small, false},
		{"ROLLUP", rollup, false},
		{"no set that holds a half's others", topless, false},
	} {
		if got := Parallelizable(tc.agg); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	sa, sb, _ := halves(cube(Tumble, 0, false))
	// Split by the first key: the sets holding a (the fullest leads),
	// then those without it, led by (b, c).
	if !slices.Equal(sa, []int{0, 1, 2, 4}) || !slices.Equal(sb, []int{3, 5, 6, 7}) {
		t.Fatalf("halves %v and %v", sa, sb)
	}
}
