package kafka

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

// FuzzDecode turns arbitrary message values into records: a value that
// becomes a record is one JSON object, anything else a dead letter with a
// reason, and nothing is lost or panics.
func FuzzDecode(f *testing.F) {
	for _, v := range []string{`{"a":1}`, ` {"a":[1,{"b":null}]} `, `[1]`, `{"a":`, ``, "\xff", `{"a":1}{"b":2}`, `"x"`} {
		f.Add([]byte(v))
	}
	d := decoder{topic: "t", stream: "s", log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.Fuzz(func(t *testing.T, value []byte) {
		recs, dead := d.decode([]kafkago.Message{{Value: value, Partition: 1, Offset: 7}}, 1)
		if len(recs)+len(dead) != 1 {
			t.Fatalf("%d records and %d dead letters for one message", len(recs), len(dead))
		}
		if len(recs) == 1 {
			var m map[string]any
			if err := json.Unmarshal(recs[0].Raw, &m); err != nil || m == nil {
				t.Fatalf("record %q is not a JSON object: %v", recs[0].Raw, err)
			}
		} else if dead[0].Get("reason").Text() == "" {
			t.Fatalf("dead letter without a reason for %q", value)
		}
	})
}
