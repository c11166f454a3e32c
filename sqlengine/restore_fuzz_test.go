package sqlengine_test

import (
	"math/rand/v2"
	"testing"

	"sluice/operators"
)

// restoreStatements are statements of each stateful kind.
var restoreStatements = []string{
	`@EventTime(column="ts", lateness="2s")
SELECT a, b, COUNT(*) AS n, COUNT(DISTINCT u) AS users, PERCENTILE(v, 95) AS p95, TOPK(b, 2) AS top
FROM s GROUP BY TUMBLE(ts, INTERVAL 60 SECOND), CUBE(a, b)`,
	`@EventTime(column="ts", lateness="1s", late="update")
SELECT a, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 30 SECOND), a`,
	`@EventTime(column="ts")
SELECT a, COUNT(*) AS n, FIRST(b) AS landing FROM s GROUP BY SESSION(ts, INTERVAL 3 SECOND), a`,
	`@EventTime(column="ts", lateness="1s") @Session(key="u", gap="3s")
SELECT u, session_id() AS sid, session_seq() AS seq FROM s`,
	`SELECT a, SUM(v) AS total FROM s GROUP BY a`,
	`@ClusterAffinity(key="a") @EventTime(column="ts")
SELECT a, COUNT(*) AS n FROM s GROUP BY SESSION(ts, INTERVAL 3 SECOND), a`,
}

// FuzzRestore restores arbitrary bytes into each stateful statement, as a
// damaged checkpoint would: Restore may refuse them, but must not panic,
// and a statement that accepted them must go on processing and finish.
func FuzzRestore(f *testing.F) {
	specs := make([]*operators.QuerySpec, len(restoreStatements))
	for i, sql := range restoreStatements {
		specs[i] = compileOne(f, sql)
	}
	// Small states: the fuzzer mutates large inputs slowly.
	var batches [][]*operators.Record
	for _, b := range randomRestoreBatches(rand.New(rand.NewPCG(1, 2)))[:4] {
		batches = append(batches, b[:min(len(b), 40)])
	}
	for _, spec := range specs {
		op := spec.Build(&operators.Counters{})
		for _, b := range batches {
			op.Process(b, func([]*operators.Record) {})
			state, err := op.(operators.Snapshotter).Snapshot()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(state)
		}
	}
	f.Fuzz(func(t *testing.T, state []byte) {
		for _, spec := range specs {
			op := spec.Build(&operators.Counters{})
			if op.(operators.Snapshotter).Restore(state) != nil {
				continue
			}
			op.Process(batches[0], func([]*operators.Record) {})
			op.Tick(1<<50, func([]*operators.Record) {})
			op.Finish(func([]*operators.Record) {})
		}
	})
}
