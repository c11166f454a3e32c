package sqlengine_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"sluice/operators"
)

// TestDisorderWithinLatenessChangesNothing delivers the same events once
// in event-time order and once shuffled by up to half the lateness, in
// batches of random size: windows close only once the watermark has
// passed every event that belongs to them, so both runs emit the same
// rows in the same order, and nothing is late.
func TestDisorderWithinLatenessChangesNothing(t *testing.T) {
	statements := map[string]string{
		"tumble cube": `@EventTime(column="ts", lateness="4s")
SELECT a, b, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS lo, MAX(v) AS hi, COUNT(DISTINCT u) AS users
FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b)`,
		"hop": `@EventTime(column="ts", lateness="4s")
SELECT a, COUNT(*) AS n, SUM(v) AS total, MAX(v) AS hi FROM s GROUP BY HOP(ts, INTERVAL 5 SECOND, INTERVAL 20 SECOND), a`,
		"top pages": `@EventTime(column="ts", lateness="4s")
SELECT b, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 30 SECOND), b ORDER BY n DESC, b LIMIT 2`,
	}
	for name, sql := range statements {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(name, "/", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 31))
				events := orderedEvents(rng, 5000)
				// Each event is delivered as if it had waited up to 2 s.
				shuffled := deliveryOrder(rng, events, 1, 2000)
				want, wantLate := runWindowed(t, sql, events, rand.New(rand.NewPCG(seed, 32)))
				got, gotLate := runWindowed(t, sql, shuffled, rand.New(rand.NewPCG(seed, 33)))
				if wantLate != 0 || gotLate != 0 {
					t.Fatalf("late events: %d in order, %d shuffled", wantLate, gotLate)
				}
				if len(want) == 0 {
					t.Fatal("no rows")
				}
				if d := rowDiff(got, want); d != "" {
					t.Fatal(d)
				}
			})
		}
	}
}

type windowEvent struct {
	ts   int64
	a, b string
	u    int
	v    int64
}

func (e windowEvent) json() []byte {
	return fmt.Appendf(nil, `{"ts":%d,"a":%q,"b":%q,"u":"u%d","v":%d}`, e.ts, e.a, e.b, e.u, e.v)
}

// deliveryOrder is events in the order they arrive when one in every of
// them (every event, for 1) waits up to most milliseconds after its time.
func deliveryOrder(rng *rand.Rand, events []windowEvent, every int, most int64) []windowEvent {
	due := make([]int64, len(events))
	for i, e := range events {
		due[i] = e.ts
		if rng.IntN(every) == 0 {
			due[i] += rng.Int64N(most)
		}
	}
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(due[x], due[y]) })
	out := make([]windowEvent, len(events))
	for i, k := range order {
		out[i] = events[k]
	}
	return out
}

func orderedEvents(rng *rand.Rand, n int) []windowEvent {
	out := make([]windowEvent, n)
	var ts int64
	for i := range out {
		ts += rng.Int64N(60)
		out[i] = windowEvent{ts: ts, a: fmt.Sprint("a", rng.IntN(3)), b: fmt.Sprint("b", rng.IntN(4)), u: rng.IntN(200), v: rng.Int64N(1000)}
	}
	return out
}

// runWindowed runs sql over events in batches of random size and returns
// its rows and late count.
func runWindowed(t *testing.T, sql string, events []windowEvent, rng *rand.Rand) ([]string, uint64) {
	t.Helper()
	spec := compileOne(t, sql)
	raws := make([][]byte, len(events))
	for i, e := range events {
		raws[i] = e.json()
	}
	c := &operators.Counters{}
	var rows []string
	for _, r := range feedRandomBatches(spec.Build(c), raws, rng, 250) {
		rows = append(rows, r.String())
	}
	return rows, c.Late.Load()
}

// TestHopMatchesReference checks HOP windows against every window of the
// slide that contains each event, computed naively.
func TestHopMatchesReference(t *testing.T) {
	const size, slide = 20_000, 5_000
	events := orderedEvents(rand.New(rand.NewPCG(4, 5)), 4000)
	rows, late := runWindowed(t, `@EventTime(column="ts")
SELECT a, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS lo FROM s GROUP BY HOP(ts, INTERVAL 5 SECOND, INTERVAL 20 SECOND), a`, events, rand.New(rand.NewPCG(6, 7)))
	if late != 0 {
		t.Fatalf("%d late", late)
	}
	type key struct {
		start int64
		a     string
	}
	type acc struct{ n, total, lo int64 }
	want := map[key]*acc{}
	for _, e := range events {
		// Windows start at multiples of the slide; those covering e
		// start after e.ts-size and at or before e.ts.
		first := e.ts - e.ts%slide - size + slide
		for start := first; start <= e.ts; start += slide {
			k := key{start, e.a}
			w := want[k]
			if w == nil {
				w = &acc{lo: e.v}
				want[k] = w
			}
			w.n++
			w.total += e.v
			w.lo = min(w.lo, e.v)
		}
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		var m struct {
			Start     int64 `json:"window_start"`
			WindowEnd int64 `json:"window_end"`
			A         string
			N         int64
			Total     int64
			Lo        int64
		}
		if err := json.Unmarshal([]byte(r), &m); err != nil {
			t.Fatal(err)
		}
		w := want[key{m.Start, m.A}]
		if w == nil || m.WindowEnd != m.Start+size || m.N != w.n || m.Total != w.total || m.Lo != w.lo {
			t.Fatalf("row %s, want %+v (nil: no such window and group, or its second row)", r, w)
		}
		delete(want, key{m.Start, m.A})
	}
}

// TestLateUpdatesConverge delivers events up to 30 s late to a statement
// that keeps its windows for 60 s (late="update"): every event counts,
// either on time or as an update, so the last row emitted for each window
// and group, matched by _key, equals the totals over all events.
func TestLateUpdatesConverge(t *testing.T) {
	spec := compileOne(t, `@EventTime(column="ts", lateness="1s", late="update", keep="60s")
SELECT a, b, COUNT(*) AS n, SUM(v) AS total, COUNT(DISTINCT u) AS users
FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b)`)
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 51))
		events := orderedEvents(rng, 5000)
		// A tenth of the events arrive up to 30 s after their time.
		arrived := deliveryOrder(rng, events, 10, 30_000)
		raws := make([][]byte, len(arrived))
		for i, e := range arrived {
			raws[i] = e.json()
		}
		c := &operators.Counters{}
		last := map[string]map[string]any{}
		for _, m := range rowMaps(t, feedRandomBatches(spec.Build(c), raws, rand.New(rand.NewPCG(seed, 52)), 200)) {
			last[m["_key"].(string)] = m
		}
		if c.Late.Load() == 0 {
			t.Fatalf("seed %d: no event came late; the test proves nothing", seed)
		}
		type key struct {
			start int64
			set   int
			a, b  string
		}
		type acc struct {
			n, total int64
			users    map[int]bool
		}
		want := map[key]*acc{}
		for _, e := range events {
			for set := range 4 {
				k := key{start: e.ts - e.ts%10_000, set: set}
				if set&2 != 0 {
					k.a = e.a
				}
				if set&1 != 0 {
					k.b = e.b
				}
				w := want[k]
				if w == nil {
					w = &acc{users: map[int]bool{}}
					want[k] = w
				}
				w.n++
				w.total += e.v
				w.users[e.u] = true
			}
		}
		if len(last) != len(want) {
			t.Fatalf("seed %d: rows for %d groups, want %d", seed, len(last), len(want))
		}
		for _, m := range last {
			k := key{start: int64(m["window_start"].(float64))}
			if a, ok := m["a"].(string); ok {
				k.a, k.set = a, k.set|2
			}
			if b, ok := m["b"].(string); ok {
				k.b, k.set = b, k.set|1
			}
			w := want[k]
			if w == nil || int64(m["n"].(float64)) != w.n || int64(m["total"].(float64)) != w.total || int(m["users"].(float64)) != len(w.users) {
				t.Fatalf("seed %d: last row %v, want %+v", seed, m, w)
			}
		}
	}
}
