package sqlengine_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"sluice/operators"
)

// TestCubeMatchesReference runs a CUBE with several aggregates over random
// events, in batches of random size, and compares every row with totals
// computed here the plain way: each event counted in each of the 2^3
// grouping sets of its window. It guards what the aggregate does to be
// fast (a full-key group remembering its groups in the other sets, keys
// carved from a slab, rows sorted on a key prefix), on one core and on
// enough for the CUBE to run as a Parallel.
func TestCubeMatchesReference(t *testing.T) {
	for _, cores := range []int{operators.ParallelCores - 1, operators.ParallelCores} {
		t.Run(fmt.Sprintf("cores=%d", cores), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cores))
			cubeMatchesReference(t)
		})
	}
}

func cubeMatchesReference(t *testing.T) {
	const sql = `@Name("c")
@EventTime(column="ts", lateness="0s")
SELECT a, b, c, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS lo, MAX(v) AS hi, COUNT(DISTINCT u) AS users
FROM s
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b, c)`
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			events := randomCubeEvents(rng, 4000)
			spec := compileOne(t, sql)
			raws := make([][]byte, len(events))
			for i, e := range events {
				raws[i] = e.json()
			}
			var got []string
			for _, m := range rowMaps(t, feedRandomBatches(spec.Build(&operators.Counters{}), raws, rng, 300)) {
				delete(m, "_key")
				b, _ := json.Marshal(m)
				got = append(got, string(b))
			}
			want := cubeReference(events)
			slices.Sort(got)
			if d := rowDiff(got, want); d != "" {
				t.Fatal(d)
			}
		})
	}
}

type cubeEvent struct {
	ts      int64
	a, b, c *string // nil: the field is null
	v       int64
	u       string
}

func (e cubeEvent) json() []byte {
	str := func(p *string) string {
		if p == nil {
			return "null"
		}
		return `"` + *p + `"`
	}
	return fmt.Appendf(nil, `{"ts":%d,"a":%s,"b":%s,"c":%s,"v":%d,"u":%q}`, e.ts, str(e.a), str(e.b), str(e.c), e.v, e.u)
}

// randomCubeEvents are in event-time order (none late), over key domains
// small enough that groups repeat, with a null now and then.
func randomCubeEvents(rng *rand.Rand, n int) []cubeEvent {
	pick := func(vals ...string) *string {
		if rng.IntN(10) == 0 {
			return nil
		}
		return &vals[rng.IntN(len(vals))]
	}
	out := make([]cubeEvent, n)
	var ts int64
	for i := range out {
		ts += rng.Int64N(40)
		out[i] = cubeEvent{
			ts: ts,
			a:  pick("US", "DE", "FR"),
			b:  pick("mobile", "desktop"),
			c:  pick("/", "/a", "/b", "/c", "/d", "/e"),
			v:  rng.Int64N(1000) - 100,
			u:  fmt.Sprint("u", rng.IntN(50)),
		}
	}
	return out
}

// cubeReference is the statement's rows, computed naively and rendered
// like the statement's (without _key), sorted.
func cubeReference(events []cubeEvent) []string {
	type acc struct {
		n, total, lo, hi int64
		users            map[string]bool
	}
	// A null key and a rolled-up one render alike but are groups of
	// different grouping sets.
	type gkey struct {
		start   int64
		set     int
		a, b, c string // "\x00" for null
	}
	null := "\x00"
	val := func(p *string, in bool) string {
		if !in || p == nil {
			return null
		}
		return *p
	}
	groups := map[gkey]*acc{}
	for _, e := range events {
		start := e.ts - e.ts%10000
		for set := range 8 {
			k := gkey{start, set, val(e.a, set&4 != 0), val(e.b, set&2 != 0), val(e.c, set&1 != 0)}
			g := groups[k]
			if g == nil {
				g = &acc{lo: e.v, hi: e.v, users: map[string]bool{}}
				groups[k] = g
			}
			g.n++
			g.total += e.v
			g.lo, g.hi = min(g.lo, e.v), max(g.hi, e.v)
			g.users[e.u] = true
		}
	}
	render := func(s string) any {
		if s == null {
			return nil
		}
		return s
	}
	var out []string
	for k, g := range groups {
		b, _ := json.Marshal(map[string]any{
			"window_start": k.start, "window_end": k.start + 10000,
			"a": render(k.a), "b": render(k.b), "c": render(k.c),
			"n": g.n, "total": g.total, "lo": g.lo, "hi": g.hi, "users": len(g.users),
		})
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}
