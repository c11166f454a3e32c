package operators

import "testing"

// SELECT *, x keeps the input's named values that x does not redefine,
// for inputs of alternating schemas.
func TestMapStarOverlay(t *testing.T) {
	m := &Map{
		Extract: NewExtractor([][]string{{"n"}}),
		Star:    true,
		Columns: []string{"x"},
		Project: []Expr{func(row []Value) Value {
			n, _ := row[0].Num()
			return Float(n * 2)
		}},
	}
	ax := NewSchema("a", "x")
	b := NewSchema("b")
	in := []*Record{
		{Raw: []byte(`{"n":1}`), Schema: ax, Values: []Value{Str("a1"), Str("old")}},
		{Raw: []byte(`{"n":2}`), Schema: b, Values: []Value{Int(7)}},
		{Raw: []byte(`{"n":3}`)},
		{Raw: []byte(`{"n":4}`), Schema: ax, Values: []Value{Str("a4"), Str("old")}},
	}
	want := []string{
		`{"n":1,"a":"a1","x":2}`,
		`{"n":2,"b":7,"x":4}`,
		`{"n":3,"x":6}`,
		`{"n":4,"a":"a4","x":8}`,
	}
	var got []*Record
	m.Process(in, func(rs []*Record) { got = append(got, rs...) })
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.String() != want[i] {
			t.Errorf("row %d = %s, want %s", i, r, want[i])
		}
	}
	if got[0].Schema != got[3].Schema {
		t.Error("inputs of one schema got different output schemas")
	}
}
