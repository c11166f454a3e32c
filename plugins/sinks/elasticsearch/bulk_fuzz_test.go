package elasticsearch

import (
	"testing"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
)

// FuzzBulkAnswer reads arbitrary bytes as the answer to a three-document
// _bulk request, as a broken proxy or server might send: the answer may be
// refused as a whole, but must not panic, and an accepted one puts each
// refused document in retry or rejected at most once.
func FuzzBulkAnswer(f *testing.F) {
	f.Add([]byte(`{"errors":true,"items":[{"index":{"_id":"a","status":201}},{"index":{"_id":"b","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},{"create":{"_id":"c","status":409,"error":{"type":"version_conflict_engine_exception"}}}]}`))
	f.Add([]byte(`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}},{"index":{"status":503}},{"index":{"status":200}}]}`))
	f.Add([]byte(`{"items":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := &writer{sent: []*operators.Record{{}, {}, {}}}
		res, err := w.items(body, buffer.Result{})
		if err != nil {
			return
		}
		seen := map[*operators.Record]int{}
		for _, r := range res.Retry {
			seen[r]++
		}
		for _, r := range res.Rejected {
			seen[r.Row]++
		}
		for r, n := range seen {
			if n > 1 {
				t.Fatalf("document %p refused %d times in one answer", r, n)
			}
		}
	})
}

// An answer whose items do not say, once each, how their document fared
// is refused as a whole: the batch is sent again (by _id, so harmlessly)
// rather than counted as written.
func TestBulkAnswerMalformedItems(t *testing.T) {
	for name, body := range map[string]string{
		"two actions":    `{"items":[{"index":{"status":500},"create":{"status":500}},{"index":{"status":201}},{"index":{"status":201}}]}`,
		"no action":      `{"items":[{},{"index":{"status":201}},{"index":{"status":201}}]}`,
		"no status":      `{"items":[{"index":{"_id":"a"}},{"index":{"status":201}},{"index":{"status":201}}]}`,
		"not an object":  `{"items":[7,{"index":{"status":201}},{"index":{"status":201}}]}`,
		"too few items":  `{"items":[{"index":{"status":201}}]}`,
		"too many items": `{"items":[{"index":{"status":201}},{"index":{"status":201}},{"index":{"status":201}},{"index":{"status":201}}]}`,
	} {
		w := &writer{sent: []*operators.Record{{}, {}, {}}}
		if _, err := w.items([]byte(body), buffer.Result{}); err == nil {
			t.Errorf("%s: answer accepted", name)
		}
	}
	w := &writer{sent: []*operators.Record{{}, {}, {}}}
	res, err := w.items([]byte(`{"items":[{"index":{"status":201}},{"index":{"status":429}},{"create":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}`), buffer.Result{})
	if err != nil || len(res.Retry) != 1 || res.Retry[0] != w.sent[1] || len(res.Rejected) != 1 || res.Rejected[0].Row != w.sent[2] {
		t.Fatalf("well-formed answer: %+v, %v", res, err)
	}
}
