package operators

import (
	"encoding/json"
	"testing"

	"github.com/buger/jsonparser"
)

func TestExtract(t *testing.T) {
	x := NewExtractor([][]string{{"s"}, {"n"}, {"f"}, {"b"}, {"o", "k"}, {"a"}, {"missing"}, {"esc"}, {"q\"k"}, {"neg"}})
	raw := []byte(` { "s" : "hé\"llo" , "n":42,"f":-1.5e2,"b":false,"o":{"k":[1,{"z":"}"}],"x":1},"a":[1, "]", {}],` +
		`"esc":"line\nbreak","q\"k":"quoted key","neg":-7, "s":"second"}`)
	row := make([]Value, x.Len())
	x.Extract(&Record{Raw: raw, Index: IndexRaw(raw, nil)}, row)
	want := []Value{Str(`hé"llo`), Int(42), Float(-150), Bool(false), RawJSON(`[1,{"z":"}"}]`), RawJSON(`[1, "]", {}]`), Null(), Str("line\nbreak"), Str("quoted key"), Int(-7)}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("slot %d (%v) = %v, want %v", i, x.paths[i], row[i], want[i])
		}
	}
	// Named values win over the JSON and nested paths reach into them.
	r := &Record{Raw: raw, Schema: NewSchema("n", "o"), Values: []Value{Int(1), RawJSON(`{"k":"v"}`)}}
	x.Extract(r, row)
	if row[1] != Int(1) || row[4] != Str("v") || row[0] != Str(`hé"llo`) {
		t.Errorf("overlay: got %v %v %v", row[1], row[4], row[0])
	}
}

// FuzzExtract checks the one-pass scanner against jsonparser on any valid
// JSON object.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":"x"}`, `{"a":{"b":[1,2,{"c":"]"}]}}`, `{"b":"\"","a":null}`, `{}`,
		`{"a":"\\","b":true}`, `{"a\u0041":1,"a":2}`, `{"a":1.5e-3,"c":{"a":9}}`,
	} {
		f.Add([]byte(s))
	}
	paths := [][]string{{"a"}, {"b"}, {"c"}, {"a", "b"}, {"c", "a"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		x := NewExtractor(paths)
		row := make([]Value, len(paths))
		x.Extract(&Record{Raw: raw}, row)
		// The index gives what the scan gives.
		indexed := make([]Value, len(paths))
		NewExtractor(paths).Extract(&Record{Raw: raw, Index: IndexRaw(raw, nil)}, indexed)
		for i := range row {
			if row[i] != indexed[i] {
				t.Fatalf("%s: path %v scanned %v, indexed %v", raw, paths[i], row[i], indexed[i])
			}
		}
		for i, p := range paths {
			want := Null()
			if b, typ, _, err := jsonparser.Get(raw, p...); err == nil {
				want = FromJSON(b, typ)
			}
			if hasDuplicateKeys(raw) {
				return // which duplicate wins differs between parsers
			}
			if row[i] != want {
				t.Fatalf("%s: path %v = %v, jsonparser says %v", raw, p, row[i], want)
			}
		}
	})
}

func hasDuplicateKeys(raw []byte) bool {
	seen := map[string]bool{}
	dup := false
	_ = jsonparser.ObjectEach(raw, func(k, _ []byte, _ jsonparser.ValueType, _ int) error {
		dup = dup || seen[string(k)]
		seen[string(k)] = true
		return nil
	})
	return dup
}

var benchEvent = []byte(`{"ts":1700000000000,"user_id":"u00042","mid":"m00042","ip":"81.2.69.142","ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","page":"/item/42","last_page":null,"item_id":"i42","action":"view","latency_ms":120,"referrer":"","country":"US","device":"desktop"}`)

var benchPaths = [][]string{{"country"}, {"device"}, {"latency_ms"}}

func BenchmarkExtractScanner(b *testing.B) {
	x := NewExtractor(benchPaths)
	row := make([]Value, len(benchPaths))
	r := &Record{Raw: benchEvent}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		x.Extract(r, row)
	}
}

// BenchmarkExtractEachKey is the jsonparser.EachKey baseline the scanner replaced.
func BenchmarkExtractEachKey(b *testing.B) {
	row := make([]Value, len(benchPaths))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		jsonparser.EachKey(benchEvent, func(i int, v []byte, t jsonparser.ValueType, err error) {
			if err == nil {
				row[i] = FromJSON(v, t)
			}
		}, benchPaths...)
	}
}

// Records with the same keys in the same order share one layout; a stream
// of ever new shapes stops interning them, and its fields are still found.
func TestLayouts(t *testing.T) {
	var ls Layouts
	a := IndexRaw([]byte(`{"a":1,"b":"x"}`), &ls)
	b := IndexRaw([]byte(`{"a":22,"b":"yy"}`), &ls)
	c := IndexRaw([]byte(`{"b":"x","a":1}`), &ls)
	d := IndexRaw([]byte(`{"a":3,"b":"z"}`), &ls)
	if a.layout != b.layout || a.layout != d.layout || a.layout == c.layout {
		t.Errorf("layouts %p %p %p %p: want the first, second and fourth shared", a.layout, b.layout, c.layout, d.layout)
	}
	x := NewExtractor([][]string{{"a"}, {"b"}, {"missing"}})
	row := make([]Value, 3)
	for i := range maxLayouts + 10 {
		raw := []byte(`{"k` + itoa(i) + `":0,"a":` + itoa(i) + `,"b":"v` + itoa(i) + `","a":-1}`)
		ix := IndexRaw(raw, &ls)
		if (ix.layout == nil) != (i >= maxLayouts-2) {
			t.Fatalf("record %d: layout %v", i, ix.layout)
		}
		x.Extract(&Record{Raw: raw, Index: ix}, row)
		if row[0] != Int(int64(i)) || row[1] != Str("v"+itoa(i)) || !row[2].IsNull() {
			t.Fatalf("record %d: extracted %v", i, row)
		}
	}
}

// _arrival is the time sluice received the event, whatever its JSON says.
func TestArrivalIsNotTakenFromTheEvent(t *testing.T) {
	raw := []byte(`{"_arrival":7,"a":1}`)
	var ls Layouts
	records := []*Record{{Arrival: 42, Raw: raw}, {Arrival: 42, Raw: raw, Index: IndexRaw(raw, nil)}, {Arrival: 42, Raw: raw, Index: IndexRaw(raw, &ls)}}
	for _, paths := range [][][]string{{{ArrivalField}}, {{ArrivalField}, {"a"}}, {{"a"}, {ArrivalField}}} {
		x := NewExtractor(paths)
		row := make([]Value, len(paths))
		for i, r := range records {
			x.Extract(r, row)
			for j, p := range paths {
				want := Int(1)
				if p[0] == ArrivalField {
					want = Int(42)
				}
				if row[j] != want {
					t.Errorf("paths %v, record %d: %s = %v, want %v", paths, i, p[0], row[j], want)
				}
			}
		}
	}
}

// Records of two key orders arriving mixed each read their own fields:
// the extractor keeps the positions of every layout it has met.
func TestExtractMixedLayouts(t *testing.T) {
	var ls Layouts
	x := NewExtractor([][]string{{"a"}, {"b"}, {"c"}})
	dst := make([]Value, 3)
	for i := range 6 {
		raw := []byte(`{"a":1,"b":"x"}`)
		if i%2 == 1 {
			raw = []byte(`{"c":true,"b":"y","a":2}`)
		}
		r := &Record{Raw: raw, Index: IndexRaw(raw, &ls)}
		x.Extract(r, dst)
		want := []Value{Int(1), Str("x"), Null()}
		if i%2 == 1 {
			want = []Value{Int(2), Str("y"), Bool(true)}
		}
		for k := range want {
			if dst[k] != want[k] {
				t.Fatalf("record %d field %d: %v, want %v", i, k, dst[k], want[k])
			}
		}
	}
	if len(x.seen) != 2 {
		t.Fatalf("%d layouts remembered, want 2", len(x.seen))
	}
}

// BenchmarkExtractIndexed reads the fields most statements read (strings,
// a user agent, numbers) through a stream's index, as every statement but
// the first does.
func BenchmarkExtractIndexed(b *testing.B) {
	paths := [][]string{{"ts"}, {"user_id"}, {"ua"}, {"page"}, {"latency_ms"}, {"country"}, {"device"}}
	x := NewExtractor(paths)
	row := make([]Value, len(paths))
	var ls Layouts
	r := &Record{Raw: benchEvent, Index: IndexRaw(benchEvent, &ls)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		x.Extract(r, row)
	}
}
