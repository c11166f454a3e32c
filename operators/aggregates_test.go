package operators

import "testing"

func TestBuiltinAggregates(t *testing.T) {
	vals := []Value{Int(3), Null(), Float(1.5), Int(10), Str("x")}
	tests := []struct {
		name string
		in   []Value
		want Value
	}{
		{"COUNT", vals, Int(4)},
		{"SUM", []Value{Int(3), Int(4), Null()}, Int(7)},
		{"SUM", []Value{Int(3), Float(0.5)}, Float(3.5)},
		{"SUM", []Value{Null()}, Null()},
		{"AVG", []Value{Int(1), Int(2), Null(), Int(6)}, Float(3)},
		{"AVG", nil, Null()},
		{"MIN", []Value{Int(3), Null(), Float(1.5), Int(10)}, Float(1.5)},
		{"MAX", []Value{Int(3), Null(), Float(1.5), Int(10)}, Int(10)},
		{"MAX", []Value{Str("b"), Str("c"), Str("a")}, Str("c")},
		{"FIRST", []Value{Null(), Str("a"), Str("b")}, Str("a")},
		{"LAST", []Value{Str("a"), Str("b"), Null()}, Str("b")},
	}
	for _, tc := range tests {
		f, ok := LookupAggregate(tc.name)
		if !ok {
			t.Fatalf("%s not registered", tc.name)
		}
		mk, err := f.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		a := NewAggregator(mk)
		for _, v := range tc.in {
			a.Add(v)
		}
		if got := a.Result(); got != tc.want {
			t.Errorf("%s(%v) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
		// The state survives a round trip through the codec.
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		c := NewAggregator(mk)
		if err := c.UnmarshalBinary(b); err != nil {
			t.Fatalf("%s: unmarshal: %v", tc.name, err)
		}
		if got := c.Result(); got != tc.want {
			t.Errorf("%s after round trip = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValueCodec(t *testing.T) {
	for _, v := range []Value{Null(), Bool(true), Int(-42), Float(2.25), Str("héllo"), RawJSON(`{"a":1}`)} {
		b := AppendValue(nil, v)
		got, rest, err := ReadValue(b)
		if err != nil || len(rest) != 0 || got != v {
			t.Errorf("%v: got %v, rest %d, err %v", v, got, len(rest), err)
		}
	}
	if _, _, err := ReadValue([]byte{byte(KindString), 10, 'a'}); err == nil {
		t.Error("a truncated string decoded")
	}
}
