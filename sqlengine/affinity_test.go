package sqlengine_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sluice/operators"
	"sluice/sqlengine"
)

func TestClusterAffinityCompiles(t *testing.T) {
	const keyError = `@ClusterAffinity key "user_id" must be a GROUP BY key of every grouping set: the state of each key must stay in one Kafka partition`
	tests := []struct {
		name string
		src  string
		want string // the whole error, or "" when the statement compiles
	}{
		{"session key", `SELECT user_id, COUNT(*) AS n FROM s GROUP BY SESSION(ts, INTERVAL 5 SECOND), user_id`, ""},
		{"one of the keys", `SELECT user_id, page, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page, user_id`, ""},
		{"running totals", `SELECT user_id, SUM(ms) AS total FROM s GROUP BY user_id`, ""},
		{"qualified", `SELECT c.user_id, COUNT(*) AS n FROM s AS c GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), c.user_id`, ""},
		{"in every grouping set", `SELECT user_id, a, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), user_id, ROLLUP(a, b)`, ""},
		{"not a key", `SELECT page, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page`,
			"statement 1 (a) line 2, column 1: " + keyError},
		{"no keys", `SELECT COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND)`,
			"statement 1 (a) line 2, column 1: " + keyError},
		{"rolled up by CUBE", `SELECT user_id, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(user_id, page)`,
			"statement 1 (a) line 2, column 1: " + keyError},
		{"rolled up by ROLLUP", `SELECT user_id, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), ROLLUP(page, user_id)`,
			"statement 1 (a) line 2, column 1: " + keyError},
		{"limit", `SELECT user_id, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), user_id ORDER BY n DESC LIMIT 1`,
			"statement 1 (a) line 2, column 1: @ClusterAffinity with ORDER BY or LIMIT: each Kafka partition would sort and cut only its own rows"},
		{"session tagging", "@Session(key=\"user_id\")\nSELECT user_id FROM s",
			"statement 1 (a) line 2, column 1: @ClusterAffinity keeps a grouped statement's state per Kafka partition; a @Session statement's sessions are not kept so"},
		{"pass-through", `SELECT user_id FROM s`,
			"statement 1 (a) line 2, column 1: @ClusterAffinity needs a GROUP BY: it keeps a grouped statement's state per Kafka partition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := sqlengine.Compile("@Name(\"a\")\n@ClusterAffinity(key=\"user_id\")\n" + tc.src)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				if _, ok := specs[0].Build(&operators.Counters{}).(*operators.Partitioned); !ok || specs[0].Affinity != "user_id" {
					t.Errorf("builds %T with affinity %q, want a Partitioned with user_id", specs[0].Build(&operators.Counters{}), specs[0].Affinity)
				}
			case err == nil || err.Error() != tc.want:
				t.Errorf("error %v\nwant %s", err, tc.want)
			}
		})
	}
}

// The plan says where the state is kept; the state shape tells a
// partitioned statement from the same statement unpartitioned, so a
// replacement that adds or removes the annotation starts fresh; and a
// CUBE that would run in two halves runs as one Aggregate per partition.
func TestClusterAffinityPlan(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(operators.ParallelCores))
	const sql = `SELECT user_id, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), user_id, CUBE(a, b, c)`
	plain := compileOne(t, sql)
	partitioned := compileOne(t, `@ClusterAffinity(key="user_id")`+"\n"+sql)
	if _, ok := plain.Build(&operators.Counters{}).(*operators.Parallel); !ok {
		t.Fatal("the unpartitioned CUBE does not run in parallel: the test proves nothing")
	}
	if partitioned.StateShape != "partitioned:"+plain.StateShape {
		t.Errorf("state shape %q, want the unpartitioned %q prefixed with partitioned:", partitioned.StateShape, plain.StateShape)
	}
	var ops []string
	for _, n := range partitioned.Plan {
		ops = append(ops, n.Op)
		if strings.Contains(n.Detail, "in parallel") {
			t.Errorf("plan node %s says %q", n.Op, n.Detail)
		}
	}
	if got := strings.Join(ops, ","); got != "source,extract,partition,aggregate,project" {
		t.Errorf("plan %s", got)
	}
	if got, want := partitioned.Plan[2].Detail, "state kept per Kafka partition (_kafka_partition), affinity key user_id"; got != want {
		t.Errorf("partition detail %q, want %q", got, want)
	}
}

// When each user's events come from one Kafka partition, a partitioned
// SESSION statement emits the sessions the unpartitioned one does, though
// it closes each partition's sessions by that partition's event time.
func TestClusterAffinitySessionsMatchUnpartitioned(t *testing.T) {
	const sql = `@EventTime(column="ts")
SELECT user_id, COUNT(*) AS n, FIRST(page) AS landing, LAST(page) AS exit
FROM clicks GROUP BY SESSION(ts, INTERVAL 5 SECOND), user_id`
	plain := compileOne(t, sql)
	partitioned := compileOne(t, `@ClusterAffinity(key="user_id")`+"\n"+sql)

	// Users 0, 3, 6, … come over HTTP (no partition), the others from
	// partition 1 or 2; the partitions are interleaved within batches.
	kafka := operators.NewSchema(operators.PartitionField)
	rng := rand.New(rand.NewPCG(7, 8))
	var batches [][]*operators.Record
	var ts int64
	for range 100 {
		batch := make([]*operators.Record, 1+rng.IntN(40))
		for i := range batch {
			ts += rng.Int64N(400)
			user := rng.IntN(20)
			r := &operators.Record{Raw: fmt.Appendf(nil, `{"ts":%d,"user_id":"u%d","page":"/p%d"}`, ts, user, rng.IntN(5))}
			if part := user % 3; part != 0 {
				r.Schema, r.Values = kafka, []operators.Value{operators.Int(int64(part))}
			}
			batch[i] = r
		}
		batches = append(batches, batch)
	}
	run := func(spec *operators.QuerySpec) (rows []string, parts []int64) {
		op := spec.Build(&operators.Counters{})
		for _, b := range batches {
			op.Process(b, collectRows(&rows))
		}
		if p, ok := op.(*operators.Partitioned); ok {
			state, err := p.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			states, err := operators.SplitPartitions(state)
			if err != nil {
				t.Fatal(err)
			}
			parts = slices.Sorted(maps.Keys(states))
		}
		op.Finish(collectRows(&rows))
		slices.Sort(rows)
		return rows, parts
	}
	want, _ := run(plain)
	got, parts := run(partitioned)
	if !slices.Equal(parts, []int64{-1, 1, 2}) {
		t.Errorf("state kept in partitions %v, want [-1 1 2]", parts)
	}
	if len(want) < 100 {
		t.Fatalf("%d session rows: the test proves little", len(want))
	}
	if d := rowDiff(got, want); d != "" {
		t.Errorf("partitioned and unpartitioned sessions differ (sorted): %s", d)
	}
}
