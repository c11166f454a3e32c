package sqlengine_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"sluice/operators"
	"sluice/sqlengine"
)

// compileOne compiles a single statement.
func compileOne(tb testing.TB, sql string) *operators.QuerySpec {
	tb.Helper()
	specs, err := sqlengine.Compile(sql)
	if err != nil {
		tb.Fatal(err)
	}
	return specs[0]
}

// feedRandomBatches processes raws through op in batches of 1 to most
// events, their sizes drawn from rng, then finishes it, and returns every
// row it emitted.
func feedRandomBatches(op operators.Operator, raws [][]byte, rng *rand.Rand, most int) []*operators.Record {
	var out []*operators.Record
	emit := func(rows []*operators.Record) { out = append(out, rows...) }
	for len(raws) > 0 {
		n := min(1+rng.IntN(most), len(raws))
		batch := make([]*operators.Record, n)
		for i, raw := range raws[:n] {
			batch[i] = &operators.Record{Raw: raw}
		}
		op.Process(batch, emit)
		raws = raws[n:]
	}
	op.Finish(emit)
	return out
}

// restored snapshots op and returns a fresh instance of spec that has
// restored the snapshot, as a restart from a checkpoint would.
func restored(t *testing.T, spec *operators.QuerySpec, op operators.Operator) operators.Operator {
	t.Helper()
	state, err := op.(operators.Snapshotter).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	fresh := spec.Build(&operators.Counters{})
	if err := fresh.(operators.Snapshotter).Restore(state); err != nil {
		t.Fatal(err)
	}
	return fresh
}

// rowMaps decodes rows' JSON.
func rowMaps(t *testing.T, rows []*operators.Record) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r.AppendJSON(nil), &out[i]); err != nil {
			t.Fatalf("row %s: %v", r, err)
		}
	}
	return out
}

// collectRows appends the text of every row emitted to dst.
func collectRows(dst *[]string) operators.Emit {
	return func(rows []*operators.Record) {
		for _, r := range rows {
			*dst = append(*dst, r.String())
		}
	}
}

// rowDiff describes the first row where got and want differ, or is "".
func rowDiff(got, want []string) string {
	at := func(rows []string, i int) string {
		if i < len(rows) {
			return rows[i]
		}
		return "(none)"
	}
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || got[i] != want[i] {
			return fmt.Sprintf("row %d of %d/%d:\n got %s\nwant %s", i, len(got), len(want), at(got, i), at(want, i))
		}
	}
	return ""
}
