package operators

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
	"weak"
)

// countPerWindow is an event-time tumbling COUNT(*) over field ts.
func countPerWindow(size, lateness, idle int64) (*Aggregate, *Counters) {
	c := &Counters{}
	name := "q"
	mk, _ := aggregateFactory("COUNT")
	return &Aggregate{
		KeyedInput: KeyedInput{
			Extract:   NewExtractor([][]string{{"ts"}}),
			EventTime: func(row []Value) Value { return row[0] },
			Aggs:      []AggSpec{{New: mk}},
			Counters:  c,
		},
		Query:    &name,
		Lateness: lateness,
		Idle:     idle,
		Kind:     Tumble,
		Size:     size,
		Columns:  []string{"n"},
		Project:  []Expr{func(row []Value) Value { return row[2] }},
	}, c
}

func aggregateFactory(name string) (AggregatorFactory, error) {
	f, _ := LookupAggregate(name)
	return f.New(nil)
}

func events(ts ...int) []*Record {
	out := make([]*Record, len(ts))
	for i, t := range ts {
		out[i] = &Record{Raw: []byte(`{"ts":` + itoa(t) + `}`)}
	}
	return out
}

func itoa(i int) string { return Int(int64(i)).Text() }

func collect(rows *[]string) Emit {
	return func(rs []*Record) {
		for _, r := range rs {
			*rows = append(*rows, r.Get("window_start").Text()+":"+r.Get("n").Text())
		}
	}
}

// An idle stream's last window closes once the wall clock has moved on by
// idle plus what the window still needed, and not before.
func TestIdleStreamClosesLastWindow(t *testing.T) {
	a, _ := countPerWindow(10_000, 0, 1_000)
	var rows []string
	a.Process(events(1_000, 4_000), collect(&rows))
	a.Tick(100_000, collect(&rows)) // first tick after input: the quiet period starts here
	if len(rows) != 0 {
		t.Fatalf("emitted %v while input was fresh", rows)
	}
	// Watermark = 4000 - 0 + quiet - 1000: window [0, 10000) needs quiet >= 7000.
	a.Tick(106_999, collect(&rows))
	if len(rows) != 0 {
		t.Fatalf("emitted %v too early", rows)
	}
	a.Tick(107_000, collect(&rows))
	if len(rows) != 1 || rows[0] != "0:2" {
		t.Fatalf("got %v, want [0:2]", rows)
	}
	a.Tick(200_000, collect(&rows))
	if len(rows) != 1 {
		t.Fatalf("a window was emitted twice: %v", rows)
	}
}

func TestLateAfterIdleClose(t *testing.T) {
	a, c := countPerWindow(10_000, 0, 1_000)
	var rows []string
	a.Process(events(1_000), collect(&rows))
	a.Tick(0, collect(&rows))
	a.Tick(12_000, collect(&rows)) // watermark 1000 + 12000 - 1000 closes [0, 10000)
	a.Process(events(2_000, 15_000), collect(&rows))
	if c.Late.Load() != 1 {
		t.Errorf("late = %d, want 1", c.Late.Load())
	}
	a.Finish(collect(&rows))
	if len(rows) != 2 || rows[0] != "0:1" || rows[1] != "10000:1" {
		t.Errorf("got %v", rows)
	}
}

func TestCopyStateKeepsOpenWindows(t *testing.T) {
	old, _ := countPerWindow(10_000, 0, 1_000)
	var rows []string
	old.Process(events(1_000, 2_000), collect(&rows))
	old.arrival = 1234 // as if the events had arrived then
	next, _ := countPerWindow(10_000, 0, 1_000)
	next.CopyState(old)
	next.Process(events(3_000), collect(&rows))
	var arrival int64
	next.Finish(func(rs []*Record) {
		collect(&rows)(rs)
		arrival = rs[0].Arrival
	})
	if len(rows) != 1 || rows[0] != "0:3" {
		t.Errorf("got %v, want [0:3]", rows)
	}
	if arrival != 1234 {
		t.Errorf("rows stamped with arrival %d, want the replaced statement's 1234", arrival)
	}
	if next.StateSize() != 0 {
		t.Errorf("state size %d after finish", next.StateSize())
	}
}

func TestRowKeyIsStable(t *testing.T) {
	k1 := RowKey("q", 10_000, 0, []Value{Str("US"), Null()})
	k2 := RowKey("q", 10_000, 0, []Value{Str("US"), Null()})
	if k1 != k2 || len(k1) != 32 {
		t.Fatalf("keys %q %q", k1, k2)
	}
	// Documents already written under a key must keep it across releases.
	if k := RowKey("q", 10_000, 0, []Value{Str("US"), Null(), Int(7), Float(2.5)}); k != "e31542562af2b91d9b8d0bdbe1e94ac3" {
		t.Errorf("RowKey changed: %s", k)
	}
	for _, other := range []string{
		RowKey("q2", 10_000, 0, []Value{Str("US"), Null()}),
		RowKey("q", 20_000, 0, []Value{Str("US"), Null()}),
		RowKey("q", 10_000, 1, []Value{Str("US"), Null()}),
		RowKey("q", 10_000, 0, []Value{Str("US"), Str("")}),
	} {
		if other == k1 {
			t.Errorf("distinct rows share key %s", k1)
		}
	}
}

// cubeCount is COUNT(*) per CUBE(a, b) over fields a and b, in one
// tumbling window of event time ts.
func cubeCount(maxGroups int) (*Aggregate, *Counters) {
	c := &Counters{}
	name := "cube"
	mk, _ := aggregateFactory("COUNT")
	slot := func(i int) Expr { return func(row []Value) Value { return row[i] } }
	return &Aggregate{
		KeyedInput: KeyedInput{
			Extract:   NewExtractor([][]string{{"ts"}, {"a"}, {"b"}}),
			EventTime: slot(0),
			Keys:      []Expr{slot(1), slot(2)},
			Aggs:      []AggSpec{{New: mk}},
			Counters:  c,
		},
		Query:     &name,
		Kind:      Tumble,
		Size:      10_000,
		Sets:      [][]int{{0, 1}, {0}, {1}, {}},
		Columns:   []string{"a", "b", "n"},
		Project:   []Expr{slot(0), slot(1), slot(4)},
		MaxGroups: maxGroups,
	}, c
}

// Past MaxGroups, an event whose group cannot be opened is an error, and
// the groups of the other grouping sets that exist still count it.
func TestCubeOverMaxGroups(t *testing.T) {
	a, c := cubeCount(5)
	var batch []*Record
	for _, ab := range []string{`"x",1`, `"x",2`, `"y",1`, `"x",2`} {
		batch = append(batch, &Record{Raw: []byte(`{"ts":1000,"a":` + ab[:3] + `,"b":` + ab[4:] + `}`)})
	}
	var rows []string
	a.Process(batch, func(rs []*Record) {})
	a.Finish(func(rs []*Record) {
		for _, r := range rs {
			rows = append(rows, r.Get("a").Text()+"/"+r.Get("b").Text()+":"+r.Get("n").Text())
		}
	})
	// (x,1) opens (x), (1) and (); (x,2) opens the fifth group and finds
	// no room for (2); (y,1) and (y) find none either.
	want := "x/1:1 x/2:2 x/:3 /1:2 /:4" // NULL is the rolled-up key
	if got := strings.Join(rows, " "); got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
	if e := c.Errors.Load(); e != 4 {
		t.Errorf("errors = %d, want 4: (2) twice, (y,1) and (y)", e)
	}
}

// A windowed statement's rows lead with window_start and window_end, once,
// whether or not its projection names them.
func TestWindowColumnsLead(t *testing.T) {
	a, _ := countPerWindow(10_000, 0, 1_000)
	a.Columns = []string{"n", "window_end", "twice"}
	a.Project = []Expr{
		func(row []Value) Value { return row[2] },
		func(row []Value) Value { return row[1] },
		func(row []Value) Value { return Int(2 * row[2].I) },
	}
	var rows []string
	a.Process(events(1_000, 2_000), func([]*Record) {})
	a.Finish(func(rs []*Record) {
		for _, r := range rs {
			rows = append(rows, strings.Join(r.Schema.Names, ",")+" "+r.String())
		}
	})
	if len(rows) != 1 || !strings.HasPrefix(rows[0], `window_start,window_end,n,twice,_key {"window_start":0,"window_end":10000,"n":2,"twice":4,"_key":"`) {
		t.Errorf("rows %q", rows)
	}
}

// ORDER BY several terms, then LIMIT, picks a window's top rows.
func TestWindowOrderLimit(t *testing.T) {
	c := &Counters{}
	name := "top"
	mk, _ := aggregateFactory("COUNT")
	slot := func(i int) Expr { return func(row []Value) Value { return row[i] } }
	a := &Aggregate{
		KeyedInput: KeyedInput{
			Extract:   NewExtractor([][]string{{"ts"}, {"c"}}),
			EventTime: slot(0),
			Keys:      []Expr{slot(1)},
			Aggs:      []AggSpec{{New: mk}},
			Counters:  c,
		},
		Query:   &name,
		Kind:    Tumble,
		Size:    10_000,
		Columns: []string{"c", "n"},
		Project: []Expr{slot(0), slot(3)},
		Order:   []OrderKey{{Expr: slot(3), Desc: true}, {Expr: slot(0)}},
		Limit:   3,
	}
	counts := map[string]int{"a": 1, "b": 3, "c": 2, "d": 3, "e": 2}
	var batch []*Record
	for k, n := range counts {
		for range n {
			batch = append(batch, &Record{Raw: []byte(`{"ts":1000,"c":"` + k + `"}`)})
		}
	}
	var rows []string
	a.Process(batch, func([]*Record) {})
	a.Finish(func(rs []*Record) {
		for _, r := range rs {
			rows = append(rows, r.Get("c").Text()+":"+r.Get("n").Text())
		}
	})
	if got, want := strings.Join(rows, " "), "b:3 d:3 c:2"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}

// A closed window's memory goes to the next window to open: its groups are
// carved from the same chunks, their aggregators start empty, and a busy
// window's room is not held through a quiet one.
func TestClosedWindowMemoryIsReused(t *testing.T) {
	a, _ := cubeCount(0)
	window := func(start, keys int) []*Record {
		var batch []*Record
		for i := range keys {
			batch = append(batch, &Record{Raw: []byte(`{"ts":` + itoa(start+i%10) + `,"a":"k` + itoa(i) + `","b":1}`)})
		}
		return batch
	}
	total := map[int]string{} // window start → the () row's count
	emit := func(rs []*Record) {
		for _, r := range rs {
			if r.Get("a").IsNull() && r.Get("b").IsNull() {
				total[int(r.Get("window_start").I)] = r.Get("n").Text()
			}
		}
	}
	// A window closes after the batch that opens the next one: window 0's
	// memory goes to window 20000.
	a.Process(window(0, 300), emit)
	first := &a.windows[0].chunks[0].groups[0]
	a.Process(window(10_000, 300), emit)
	a.Process(window(20_000, 300), emit)
	if &a.windows[20_000].chunks[0].groups[0] != first {
		t.Fatal("window 20000 did not take window 0's memory")
	}
	a.Process(window(30_000, 3), emit) // in window 10000's memory
	a.Process(window(40_000, 1), emit) // closes 30000: 3+3+1+1 groups
	spare := a.spare
	if spare == nil || len(spare.spare) != 2 || spare.mapSize != 8 {
		t.Fatalf("spare after a quiet window: %+v, want 2 chunks (4+8 groups) and a map for 8", spare)
	}
	a.Finish(emit)
	want := map[int]string{0: "300", 10_000: "300", 20_000: "300", 30_000: "3", 40_000: "1"}
	for start, n := range want {
		if total[start] != n {
			t.Errorf("window %d counted %s, want %s", start, total[start], n)
		}
	}
	if a.StateSize() != 0 {
		t.Errorf("%d groups open after Finish", a.StateSize())
	}
}

// lastPerKey is TUMBLE(10 s) LAST(p) GROUP BY k over records with named
// values ts, k and p.
func lastPerKey() (*Aggregate, func(start, keys int, payload func(i int) string) []*Record) {
	name := "q"
	mk, _ := aggregateFactory("LAST")
	slot := func(i int) Expr { return func(row []Value) Value { return row[i] } }
	a := &Aggregate{
		KeyedInput: KeyedInput{
			Extract:   NewExtractor([][]string{{"ts"}, {"k"}, {"p"}}),
			EventTime: slot(0),
			Keys:      []Expr{slot(1)},
			Aggs:      []AggSpec{{Arg: slot(2), New: mk}},
			Counters:  &Counters{},
		},
		Query: &name, Kind: Tumble, Size: 10_000,
		Columns: []string{"k", "v"}, Project: []Expr{slot(0), slot(3)},
	}
	schema := NewSchema("ts", "k", "p")
	batch := func(start, keys int, payload func(i int) string) []*Record {
		var b []*Record
		for i := range keys {
			b = append(b, &Record{Schema: schema, Values: []Value{Int(int64(start + i%10)), Str("k" + itoa(i)), Str(payload(i))}})
		}
		return b
	}
	return a, batch
}

// collected reports whether the GC has freed what p points to.
func collected[T any](p weak.Pointer[T]) bool {
	for range 3 {
		runtime.GC()
	}
	return p.Value() == nil
}

// The memory a closed window hands on holds none of its state: not in the
// slots later windows carve, not in those they leave unused, and not after
// the last window closed.
func TestRecycledWindowKeepsNoState(t *testing.T) {
	emit := func([]*Record) {}
	big := func(mark int, p *weak.Pointer[byte]) func(int) string {
		return func(i int) string {
			s := strings.Repeat("x", 1<<16) + itoa(i)
			if i == mark {
				*p = weak.Make(unsafe.StringData(s))
			}
			return s
		}
	}
	small := func(int) string { return "v" }

	t.Run("room later windows leave unused", func(t *testing.T) {
		a, batch := lastPerKey()
		var p weak.Pointer[byte]
		a.Process(batch(0, 1000, big(999, &p)), emit) // group 999 sits where 600-group windows never carve
		for w := 1; w <= 5; w++ {
			a.Process(batch(w*10_000, 600, small), emit)
		}
		if !collected(p) {
			t.Error("a busy window's LAST value is still held")
		}
		runtime.KeepAlive(a)
	})
	t.Run("chunks quiet windows leave unused", func(t *testing.T) {
		a, batch := lastPerKey()
		a.Process(batch(0, 1000, small), emit)
		a.Process(batch(10_000, 1, small), emit)
		chunk := weak.Make(&a.spare.spare[len(a.spare.spare)-1].groups[:1][0])
		for w := 2; w <= 5; w++ {
			a.Process(batch(w*10_000, 1, small), emit)
		}
		if !collected(chunk) {
			t.Error("a busy window's 512-group chunk is still held after four one-group windows")
		}
		runtime.KeepAlive(a)
	})
	t.Run("after Finish", func(t *testing.T) {
		a, batch := lastPerKey()
		var p weak.Pointer[byte]
		a.Process(batch(0, 100, big(50, &p)), emit)
		a.Finish(emit)
		if !collected(p) {
			t.Error("a LAST value is still held after Finish closed its window")
		}
		runtime.KeepAlive(a)
	})
}

// An event of a HOP whose first window was already emitted goes into its
// open window and counts as late once: dropped from the emitted one, or
// taken by it (LateFor) as a TUMBLE's late update is.
func TestHopEventPartlyLate(t *testing.T) {
	for _, c := range []struct {
		name     string
		lateFor  int64
		want     []string
		wantLate uint64
	}{
		{"dropped", 0, []string{"-5000:1", "0:1", "5000:2", "10000:1"}, 1},
		{"updated", 20_000, []string{"-5000:1", "0:1", "0:2", "5000:2", "10000:1"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, counters := countPerWindow(10_000, 0, 0)
			a.Kind, a.Slide, a.LateFor = Hop, 5_000, c.lateFor
			var rows []string
			a.Process(events(1_000), collect(&rows))
			a.Process(events(12_000), collect(&rows)) // emits [0, 10000)
			a.Process(events(7_000), collect(&rows))  // in [0, 10000) and [5000, 15000)
			a.Finish(collect(&rows))
			if !slices.Equal(rows, c.want) {
				t.Errorf("rows %q, want %q", rows, c.want)
			}
			if late := counters.Late.Load(); late != c.wantLate {
				t.Errorf("late = %d, want %d", late, c.wantLate)
			}
		})
	}
}
