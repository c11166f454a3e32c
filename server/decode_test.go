package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"sluice/jsonsyntax"
)

func TestDecodeEvents(t *testing.T) {
	intp := func(i int) *int { return &i }
	cases := []struct {
		name   string
		body   string
		ndjson bool
		want   []string // Raw of each event
		err    *decodeError
	}{
		{name: "one object", body: `{"a":1}`, want: []string{`{"a":1}`}},
		{name: "one object padded", body: " \r\n\t{\"a\":1} \n", want: []string{`{"a":1}`}},
		{name: "pretty object", body: "{\n  \"a\": [1, 2],\n  \"b\": {\"c\": null}\n}\n", want: []string{"{\n  \"a\": [1, 2],\n  \"b\": {\"c\": null}\n}"}},
		{name: "array", body: `[{"a":1}, {"b":"x"} ,{}]`, want: []string{`{"a":1}`, `{"b":"x"}`, `{}`}},
		{name: "pretty array", body: "[\n {\"a\":1},\n {\"b\":2}\n]\n", want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "empty array", body: `[]`, want: []string{}},
		{name: "ndjson detected", body: "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", want: []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}},
		{name: "ndjson detected without final newline", body: "{\"a\":1}\n{\"a\":2}", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "ndjson declared", ndjson: true, body: "{\"a\":1}\n", want: []string{`{"a":1}`}},
		{name: "ndjson blank lines and CRLF", ndjson: true, body: "\r\n{\"a\":1}\r\n\r\n  \n{\"a\":2} \r\n", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "ndjson detected with CRLF", body: "{\"a\":1}\r\n{\"a\":2}\r\n", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "ndjson detected after blank lines", body: "\n\r\n{\"a\":1}\n{\"a\":2}\n", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "ndjson detected after a blank line, bad line", body: "\n{\"a\":1}\n{\"a\":}\n", err: &decodeError{Msg: `line 3: invalid JSON: unexpected '}', expected a value at column 6`, Line: 3}},
		{name: "strings with escapes and unicode", body: `{"s":"a\"b\\c\/\b\f\n\r\t\u00e9\uD83D\uDE00","u":"héllo ✓ 😀"}`, want: []string{`{"s":"a\"b\\c\/\b\f\n\r\t\u00e9\uD83D\uDE00","u":"héllo ✓ 😀"}`}},
		{name: "numbers", body: `{"n":[0,-0,1.5,-2e10,3E+2,4e-3,123456789012345678901234567890]}`, want: []string{`{"n":[0,-0,1.5,-2e10,3E+2,4e-3,123456789012345678901234567890]}`}},

		{name: "empty body", body: "", err: &decodeError{Msg: "empty body: expected a JSON object, a JSON array of objects, or NDJSON"}},
		{name: "blank body", body: " \n\r\n", err: &decodeError{Msg: "empty body: expected a JSON object, a JSON array of objects, or NDJSON"}},
		{name: "blank ndjson", ndjson: true, body: "\n\n", err: &decodeError{Msg: "empty body: expected a JSON object, a JSON array of objects, or NDJSON"}},
		{name: "bad line 3", body: "{\"a\":1}\n{\"a\":2}\n{\"a\":}\n{\"a\":4}\n", err: &decodeError{Msg: `line 3: invalid JSON: unexpected '}', expected a value at column 6`, Line: 3}},
		{name: "bad line after blank lines", ndjson: true, body: "{\"a\":1}\n\n\n{\"a\" 1}\n", err: &decodeError{Msg: `line 4: invalid JSON: unexpected '1', expected ':' after object key at column 6`, Line: 4}},
		{name: "truncated line", ndjson: true, body: "{\"a\":1}\n{\"a\":\"x\n", err: &decodeError{Msg: `line 2: invalid JSON: unterminated string at column 6`, Line: 2}},
		{name: "ndjson non-object", ndjson: true, body: "{\"a\":1}\n[1,2]\n", err: &decodeError{Msg: `line 2: not a JSON object`, Line: 2}},
		{name: "ndjson detected non-object", body: "{\"a\":1}\n42\n", err: &decodeError{Msg: `line 2: not a JSON object`, Line: 2}},
		{name: "two objects on one line", body: `{"a":1} {"a":2}`, err: &decodeError{Msg: `line 1: invalid JSON: unexpected data after the object at column 9 (send one object, an array of objects, or NDJSON with one object per line)`, Line: 1}},
		{name: "ndjson two objects on one line", ndjson: true, body: "{\"a\":1}{\"a\":2}\n", err: &decodeError{Msg: `line 1: invalid JSON: unexpected data after the object at column 8`, Line: 1}},
		{name: "pretty objects concatenated", body: "{\n\"a\":1\n}\n{\"a\":2}\n", err: &decodeError{Msg: `line 4: invalid JSON: unexpected data after the object at column 1 (send one object, an array of objects, or NDJSON with one object per line)`, Line: 4}},
		{name: "scalar body", body: `"hello"`, err: &decodeError{Msg: `line 1: not a JSON object`, Line: 1}},
		{name: "garbage", body: `hello`, err: &decodeError{Msg: `line 1: invalid JSON: unexpected 'h', expected a value at column 1`, Line: 1}},
		{name: "array element not object", body: `[{"a":1},{"a":2},"x"]`, err: &decodeError{Msg: `event 2: not a JSON object`, Index: intp(2)}},
		{name: "array element invalid", body: "[{\"a\":1},\n {\"a\":tru}]", err: &decodeError{Msg: `event 1: invalid JSON: invalid literal, expected true at line 2, column 7`, Index: intp(1)}},
		{name: "array unterminated", body: `[{"a":1}`, err: &decodeError{Msg: `event 0: invalid JSON: unexpected end of input, expected ',' or ']' after the event at line 1, column 9`, Index: intp(0)}},
		{name: "array trailing comma", body: `[{"a":1},]`, err: &decodeError{Msg: `event 1: invalid JSON: unexpected ']', expected a value at line 1, column 10`, Index: intp(1)}},
		{name: "array trailing data", body: `[{"a":1}] x`, err: &decodeError{Msg: `invalid JSON: unexpected data after the array at line 1, column 11`, Line: 1}},
		{name: "control char in string", ndjson: true, body: "{\"a\":\"x\ty\"}\n", err: &decodeError{Msg: `line 1: invalid JSON: control character byte 0x09 in string at column 8`, Line: 1}},
		{name: "invalid utf8", ndjson: true, body: "{\"a\":\"\xff\"}\n", err: &decodeError{Msg: `line 1: invalid JSON: invalid UTF-8 in string at column 7`, Line: 1}},
		{name: "bad escape", ndjson: true, body: `{"a":"\x"}`, err: &decodeError{Msg: `line 1: invalid JSON: invalid escape 'x' in string at column 7`, Line: 1}},
		{name: "leading zero", ndjson: true, body: `{"a":01}`, err: &decodeError{Msg: `line 1: invalid JSON: unexpected '1', expected ',' or '}' after object value at column 7`, Line: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := decodeEvents([]byte(tc.body), tc.ndjson, 42)
			if tc.err != nil {
				if err == nil {
					t.Fatalf("decoded %d events, want error %q", len(recs), tc.err.Msg)
				}
				if got, want := mustJSON(t, err), mustJSON(t, tc.err); got != want {
					t.Fatalf("error\n got %s\nwant %s", got, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			got := make([]string, len(recs))
			for i, r := range recs {
				got[i] = string(r.Raw)
				if r.Arrival != 42 {
					t.Errorf("event %d arrival = %d, want 42", i, r.Arrival)
				}
				if cap(r.Raw) != len(r.Raw) {
					t.Errorf("event %d Raw has spare capacity %d: appending to it would clobber the next event", i, cap(r.Raw)-len(r.Raw))
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("events\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDecodeErrorJSON(t *testing.T) {
	_, err := decodeEvents([]byte("{\"a\":1}\n{\"a\":2}\n{oops}\n"), true, 0)
	if got, want := mustJSON(t, err), `{"error":"line 3: invalid JSON: unexpected 'o', expected a string key at column 2","line":3}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	_, err = decodeEvents([]byte(`[{}, {}, 3]`), false, 0)
	if got, want := mustJSON(t, err), `{"error":"event 2: not a JSON object","index":2}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	_, err = decodeEvents([]byte(`[5]`), false, 0)
	if got, want := mustJSON(t, err), `{"error":"event 0: not a JSON object","index":0}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestScanDepthLimit(t *testing.T) {
	deep := func(n int) []byte {
		return []byte(`{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + "}")
	}
	if _, err := decodeEvents(deep(jsonsyntax.MaxDepth), false, 0); err != nil {
		t.Fatalf("depth %d refused: %v", jsonsyntax.MaxDepth, err)
	}
	if _, err := decodeEvents(deep(jsonsyntax.MaxDepth+1), false, 0); err == nil || !strings.Contains(err.Msg, "nested too deeply") {
		t.Fatalf("depth %d: got %v, want nested too deeply", jsonsyntax.MaxDepth+1, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzDecode holds the scanner to encoding/json (plus UTF-8 validity) and
// the decoder to its promises: events are objects, slices of the body, and
// NDJSON and array forms of the same events decode alike.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"a":1}`, `[{"a":1},{"b":[true,false,null]}]`, "{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}\r\n\r\n{\"b\":2}",
		`{"s":"\u00e9\n\"x\""}`, `{"n":-1.5e+10}`, `[]`, `{}`, `[1]`, `"x"`, `{"a":}`, `{"a":"\xff"}`,
		"{\n \"pretty\": true\n}", `{"a":01}`, `{"a":1.}`, `{"a":tru}`, `[{"a":1},]`, `{"a":"é😀"}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		end, serr := jsonsyntax.Value(body, jsonsyntax.SkipSpace(body, 0), 0)
		valid := serr == nil && jsonsyntax.SkipSpace(body, end) == len(body)
		if want := json.Valid(body) && utf8.Valid(body); valid != want {
			t.Fatalf("scanner says valid=%v, encoding/json+utf8 says %v for %q", valid, want, body)
		}
		recs, derr := decodeEvents(body, ndjson, 7)
		if derr != nil {
			if derr.Msg == "" {
				t.Fatalf("empty error message for %q", body)
			}
			return
		}
		var lines bytes.Buffer
		for i, r := range recs {
			if !json.Valid(r.Raw) || r.Raw[0] != '{' {
				t.Fatalf("event %d is not an object: %q", i, r.Raw)
			}
			if r.Arrival != 7 {
				t.Fatalf("event %d arrival %d", i, r.Arrival)
			}
			if bytes.IndexByte(r.Raw, '\n') < 0 {
				fmt.Fprintf(&lines, "%s\n", r.Raw)
			}
		}
		if lines.Len() > 0 && len(recs) > 0 && bytes.Count(lines.Bytes(), []byte{'\n'}) == len(recs) {
			again, err := decodeEvents(lines.Bytes(), true, 7)
			if err != nil || len(again) != len(recs) {
				t.Fatalf("re-encoding %d events as NDJSON: %d events, %v", len(recs), len(again), err)
			}
		}
	})
}

// TestDecodeRoomFollowsEvents checks that what a body reserves for records
// follows the events found, not its newlines or braces: a few kilobytes of
// gzip can hold millions of either.
func TestDecodeRoomFollowsEvents(t *testing.T) {
	const n = 1 << 20
	cases := []struct {
		name string
		body string
		want int
	}{
		{"blank lines", "{}\n" + strings.Repeat("\n", n) + "{}", 2},
		{"braces in a string", `[{"a":"` + strings.Repeat("}", n) + `"}]`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			recs, err := decodeEvents(body, false, 0)
			runtime.ReadMemStats(&after)
			if err != nil || len(recs) != tc.want {
				t.Fatalf("decoded %d events, error %v; want %d", len(recs), err, tc.want)
			}
			// Room for every separator would be 72 MiB.
			if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
				t.Errorf("decoding allocated %d bytes for %d events", got, tc.want)
			}
		})
	}
}
