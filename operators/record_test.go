package operators

import "testing"

// A record with named values on top of its JSON encodes the same from the
// stream's index (with or without a layout) as from a scan of the JSON.
func TestAppendJSONFromIndex(t *testing.T) {
	s := NewSchema("n", "extra")
	vals := []Value{Int(1), Str("e")}
	for _, raw := range []string{
		`{}`,
		`{"n":5}`,
		` { "s" : "hé\"llo" , "n":42,"f":-1.5e2,"b":false,"z":null,"o":{"k":[1,{"z":"}"}]},"a":[1, "]", {}],"esc":"line\nbreak" } `,
		`{"a":1,"a":"dup","n":{"x":1},"t":true}`,
	} {
		want := (&Record{Raw: []byte(raw), Schema: s, Values: vals}).String()
		full := Layouts{n: maxLayouts} // interns no more layouts
		for _, ix := range []*RawIndex{IndexRaw([]byte(raw), nil), IndexRaw([]byte(raw), &full)} {
			if ix == nil {
				t.Fatalf("%s: not indexed", raw)
			}
			if got := (&Record{Raw: []byte(raw), Index: ix, Schema: s, Values: vals}).String(); got != want {
				t.Errorf("%s (layout %v): indexed %s, scanned %s", raw, ix.layout != nil, got, want)
			}
		}
	}
	if got := (&Record{Raw: []byte(`{"a":1,"n":2}`), Schema: s, Values: vals}).String(); got != `{"a":1,"n":1,"extra":"e"}` {
		t.Errorf("overlay %s", got)
	}
	// Keys with escapes (the stream does not index them) stay valid JSON.
	if got := (&Record{Raw: []byte(`{"q\"k":1,"a\u0041":2,"t\tb":3}`), Schema: s, Values: vals}).String(); got != `{"q\"k":1,"aA":2,"t\tb":3,"n":1,"extra":"e"}` {
		t.Errorf("escaped keys %s", got)
	}
}
