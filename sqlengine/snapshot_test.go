package sqlengine_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"sluice/operators"
	"sluice/sqlengine"
)

// A statement stopped half-way, snapshotted and restored into a fresh
// instance emits exactly what an uninterrupted run emits.
func TestSnapshotRestoreMatchesUninterrupted(t *testing.T) {
	statements := map[string]string{
		"windows": `@EventTime(column="ts", lateness="1s")
SELECT country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users, PERCENTILE(ms, 50) AS p50, PERCENTILE(ms, 90) AS p90, TOPK(page, 2) AS top
FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(country)`,
		"sessions": `@EventTime(column="ts")
SELECT user_id, FIRST(page) AS landing, COUNT(DISTINCT page) AS pages, MEDIAN(ms) AS med, PERCENTILE(ms, 90) AS p90
FROM s GROUP BY SESSION(ts, INTERVAL 5 SECOND), user_id`,
		"tags": `@EventTime(column="ts") @Session(key="user_id", gap="5s")
SELECT user_id, session_id() AS sid, session_seq() AS seq FROM s`,
		"running": `SELECT country, SUM(ms) AS total FROM s GROUP BY country`,
		"late updates": `@EventTime(column="ts", lateness="1s", late="update")
SELECT country, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country`,
	}
	first := [][]byte{
		[]byte(`{"ts":1000,"country":"US","user_id":"a","ms":10,"page":"/x"}`),
		[]byte(`{"ts":2000,"country":"DE","user_id":"b","ms":30,"page":"/y"}`),
		[]byte(`{"ts":11500,"country":"US","user_id":"a","ms":20,"page":"/x"}`),
	}
	second := [][]byte{
		[]byte(`{"ts":9500,"country":"US","user_id":"c","ms":40,"page":"/z"}`),
		[]byte(`{"ts":12000,"country":"US","user_id":"a","ms":50,"page":"/y"}`),
		[]byte(`{"ts":30000,"country":"DE","user_id":"b","ms":60,"page":"/y"}`),
	}
	batch := func(raws [][]byte) []*operators.Record {
		out := make([]*operators.Record, len(raws))
		for i, r := range raws {
			out[i] = &operators.Record{Raw: r}
		}
		return out
	}
	for name, sql := range statements {
		t.Run(name, func(t *testing.T) {
			specs, err := sqlengine.Compile(sql)
			if err != nil {
				t.Fatal(err)
			}
			if specs[0].StateShape == "" {
				t.Fatal("stateful statement without a state shape")
			}
			var want, got []string
			whole := specs[0].Build(&operators.Counters{})
			whole.Process(batch(first), collectRows(&want))
			whole.Process(batch(second), collectRows(&want))
			whole.Finish(collectRows(&want))

			before := specs[0].Build(&operators.Counters{})
			before.Process(batch(first), collectRows(&got))
			after := restored(t, specs[0], before)
			after.Process(batch(second), collectRows(&got))
			after.Finish(collectRows(&got))
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("restored run emitted\n%v\nuninterrupted run emitted\n%v", got, want)
			}
		})
	}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	specs, err := sqlengine.Compile(`SELECT page, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 1 SECOND), page`)
	if err != nil {
		t.Fatal(err)
	}
	op := specs[0].Build(&operators.Counters{}).(operators.Snapshotter)
	if err := op.Restore([]byte{9, 9, 9}); err == nil {
		t.Error("a snapshot of another version was accepted")
	}
	if err := op.Restore([]byte{1, 2}); err == nil {
		t.Error("a truncated snapshot was accepted")
	}
}

// Runtime.Snapshot waits for everything ingested to be processed, and
// Runtime.Restore hands the state to a statement of the same shape.
func TestRuntimeSnapshotRestore(t *testing.T) {
	const sql = `@Name("n") @EventTime(column="ts") SELECT COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 1 HOUR)`
	deploy := func() *operators.Runtime {
		rt := operators.NewRuntime(operators.RuntimeConfig{})
		specs, err := sqlengine.Compile(sql)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Deploy(specs[0]); err != nil {
			t.Fatal(err)
		}
		return rt
	}
	ctx := context.Background()
	rt := deploy()
	for i := 0; i < 50; i++ {
		if err := rt.Ingest("s", []*operators.Record{{Raw: []byte(`{"ts": 1000}`)}, {Raw: []byte(`{"ts": 2000}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	states, err := rt.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := rt.Query("n")
	if in := q.Stats().In; in != 100 {
		t.Fatalf("snapshot taken after %d of 100 events", in)
	}
	rt.Close()

	rt2 := deploy()
	defer rt2.Close()
	restored, err := rt2.Restore(ctx, states)
	if err != nil || len(restored) != 1 || restored[0] != "n" {
		t.Fatalf("restored %v, %v", restored, err)
	}
	sub, _ := rt2.Subscribe("n", 8)
	defer sub.Close()
	// An event an hour later closes the restored window: 100 + 0 new in it.
	if err := rt2.Ingest("s", []*operators.Record{{Raw: []byte(`{"ts": 3700000}`)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-sub.C:
		if got := r.Get("n").Text(); got != "100" {
			t.Errorf("restored window counted %s, want 100", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the restored window never closed")
	}
}
