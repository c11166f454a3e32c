package sqlengine_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"sluice/operators"
)

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
