package kafka

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/jsonsyntax"
)

func TestNotObject(t *testing.T) {
	deep := func(arrays int) string {
		return `{"a":` + strings.Repeat("[", arrays) + strings.Repeat("]", arrays) + "}"
	}
	cases := []struct {
		name  string
		value string
		want  string // the dead-letter reason; "" for a record
	}{
		{name: "object", value: `{"a":1}`},
		{name: "object padded", value: " \r\n{\"a\":[1,{\"b\":null}]} \n"},
		{name: "deepest nesting", value: deep(jsonsyntax.MaxDepth - 1)},
		{name: "empty", value: ``, want: "empty message value"},
		{name: "blank", value: " \n", want: "empty message value"},
		{name: "not JSON", value: `not json`, want: "message value is not a JSON object (starts with 'n')"},
		{name: "array", value: `[1,2]`, want: "message value is not a JSON object (starts with '[')"},
		{name: "binary", value: "\xff\x00", want: "message value is not a JSON object (starts with byte 0xff)"},
		{name: "truncated object", value: `{"a":`, want: "message value is not valid JSON: unexpected end of input, expected a value at byte 5"},
		{name: "truncated object padded", value: `  {"a":1`, want: "message value is not valid JSON: unexpected end of input, expected ',' or '}' after object value at byte 8"},
		{name: "invalid UTF-8 in a string", value: "{\"a\":\"\xff\"}", want: "message value is not valid JSON: invalid UTF-8 in string at byte 6"},
		{name: "two objects", value: `{"a":1}{"b":2}`, want: "message value is not valid JSON: unexpected data after the object at byte 7"},
		{name: "trailing data", value: `{"a":1} x`, want: "message value is not valid JSON: unexpected data after the object at byte 8"},
		{name: "nested too deeply", value: deep(jsonsyntax.MaxDepth), want: "message value is not valid JSON: nested too deeply at byte 10004"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := notObject([]byte(tc.value)); got != tc.want {
				t.Fatalf("reason %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzDecode turns arbitrary message values into records: a value that
// becomes a record is one JSON object of valid UTF-8, exactly those are
// records, anything else a dead letter with a reason, and nothing is lost or
// panics.
func FuzzDecode(f *testing.F) {
	for _, v := range []string{`{"a":1}`, ` {"a":[1,{"b":null}]} `, `[1]`, `{"a":`, ``, "\xff", `{"a":1}{"b":2}`, `"x"`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(v))
	}
	d := decoder{topic: "t", stream: "s", log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.Fuzz(func(t *testing.T, value []byte) {
		recs, dead := d.decode([]kafkago.Message{{Value: value, Partition: 1, Offset: 7}}, 1)
		if len(recs)+len(dead) != 1 {
			t.Fatalf("%d records and %d dead letters for one message", len(recs), len(dead))
		}
		object := json.Valid(value) && utf8.Valid(value) && bytes.HasPrefix(bytes.TrimLeft(value, " \t\r\n"), []byte("{"))
		if (len(recs) == 1) != object {
			t.Fatalf("record=%v, want %v (encoding/json+utf8) for %q", len(recs) == 1, object, value)
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
