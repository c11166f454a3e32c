package sqlengine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"sluice/operators"
)

// TestRestoreAnywhereMatchesUninterrupted snapshots a statement after
// random batches, restores the snapshot into a fresh instance and goes on
// with that one, and requires exactly the rows, in order, of a run that
// was never interrupted. The groups grow past the exact phases of
// PERCENTILE (128 values) and COUNT(DISTINCT) (1024 values), so their
// sketches are restored mid-stream too. This is what makes a replay after
// a crash write the same documents as a run that never crashed.
func TestRestoreAnywhereMatchesUninterrupted(t *testing.T) {
	statements := map[string]string{
		"cube": `@EventTime(column="ts", lateness="2s")
SELECT a, b, COUNT(*) AS n, COUNT(DISTINCT u) AS users, PERCENTILE(v, 50) AS p50, PERCENTILE(v, 95) AS p95, MEDIAN(v) AS med, TOPK(b, 2) AS top, TOPK(u, 3) AS top_users
FROM s GROUP BY TUMBLE(ts, INTERVAL 60 SECOND), CUBE(a, b)`,
		"sessions": `@EventTime(column="ts")
SELECT a, COUNT(*) AS n, COUNT(DISTINCT u) AS users, PERCENTILE(v, 90) AS p90, FIRST(b) AS landing, LAST(b) AS exit
FROM s GROUP BY SESSION(ts, INTERVAL 3 SECOND), a`,
		"tags": `@EventTime(column="ts", lateness="1s") @Session(key="u", gap="3s", max_duration="10s")
SELECT u, session_id() AS sid, session_seq() AS seq FROM s`,
		"hop": `@EventTime(column="ts", lateness="1s")
SELECT b, COUNT(*) AS n, PERCENTILE(v, 99) AS p99, COUNT(DISTINCT u) AS users FROM s GROUP BY HOP(ts, INTERVAL 10 SECOND, INTERVAL 40 SECOND), b`,
		"late updates": `@EventTime(column="ts", lateness="1s", late="update")
SELECT a, COUNT(*) AS n, PERCENTILE(v, 75) AS p75 FROM s GROUP BY TUMBLE(ts, INTERVAL 30 SECOND), a`,
	}
	for name, sql := range statements {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(name, "/", seed), func(t *testing.T) {
				spec := compileOne(t, sql)
				batches := randomRestoreBatches(rand.New(rand.NewPCG(seed, 21)))
				var want, got []string
				whole := spec.Build(&operators.Counters{})
				for _, b := range batches {
					whole.Process(b, collectRows(&want))
				}
				whole.Finish(collectRows(&want))

				rng := rand.New(rand.NewPCG(seed, 22))
				op := spec.Build(&operators.Counters{})
				restores := 0
				for _, b := range batches {
					op.Process(b, collectRows(&got))
					if rng.IntN(4) != 0 {
						continue
					}
					op = restored(t, spec, op)
					restores++
				}
				op.Finish(collectRows(&got))
				if restores == 0 || len(want) == 0 {
					t.Fatalf("%d restores, %d rows: the test proves nothing", restores, len(want))
				}
				if d := rowDiff(got, want); d != "" {
					t.Fatalf("after %d restores, %s", restores, d)
				}
			})
		}
	}
}

// randomRestoreBatches are 20,000 events in batches of up to 500, mostly in
// event-time order with some a second or two late; few keys, so groups
// grow large, and up to 3,000 distinct users.
func randomRestoreBatches(rng *rand.Rand) [][]*operators.Record {
	var out [][]*operators.Record
	var ts int64
	for left := 20000; left > 0; {
		n := min(1+rng.IntN(500), left)
		left -= n
		batch := make([]*operators.Record, n)
		for i := range batch {
			ts += rng.Int64N(12)
			at := ts
			if rng.IntN(20) == 0 {
				at -= rng.Int64N(2500)
			}
			raw := fmt.Appendf(nil, `{"ts":%d,"a":"%c","b":"%c","u":"u%d","v":%.3f}`,
				at, 'p'+rng.IntN(3), 'x'+rng.IntN(2), rng.IntN(3000), rng.ExpFloat64()*100)
			batch[i] = &operators.Record{Raw: raw}
		}
		out = append(out, batch)
	}
	return out
}
