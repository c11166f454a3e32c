package operators

import (
	"math"
	"testing"
)

func TestAppendTextIsText(t *testing.T) {
	for _, v := range []Value{Str("héllo"), RawJSON(`{"a":1}`), Int(-42), Int(0), Float(2.5), Float(1e21), Float(math.Inf(-1)), Bool(true), Bool(false), Null()} {
		if got := string(v.AppendText([]byte("x"))); got != "x"+v.Text() {
			t.Errorf("%v: AppendText %q, Text %q", v, got, v.Text())
		}
	}
	var buf [32]byte
	v := Float(3.25)
	if n := testing.AllocsPerRun(100, func() { v.AppendText(buf[:0]) }); n != 0 {
		t.Errorf("AppendText allocates %v times", n)
	}
}

func TestNumAndInt64(t *testing.T) {
	tests := []struct {
		v      Value
		num    float64
		numOK  bool
		i      int64
		int64K bool
	}{
		{Int(-7), -7, true, -7, true},
		{Bool(true), 1, true, 1, true},
		{Float(2.9), 2.9, true, 2, true},
		{Float(-2.9), -2.9, true, -2, true},
		{Str(" 42 "), 42, true, 42, true},
		{Str("1.5e3"), 1500, true, 1500, true},
		{Str("9223372036854775807"), 9223372036854775807, true, math.MaxInt64, true},
		{Str("x"), 0, false, 0, false},
		{Str(""), 0, false, 0, false},
		{Null(), 0, false, 0, false},
		{RawJSON("[1]"), 0, false, 0, false},
		// ParseFloat takes these; no JSON number is one, so they stay text.
		{Str("nan"), 0, false, 0, false},
		{Str("NaN"), 0, false, 0, false},
		{Str("inf"), 0, false, 0, false},
		{Str("-Infinity"), 0, false, 0, false},
		{Str("+Inf"), 0, false, 0, false},
		{Str("1e400"), 0, false, 0, false},
		// Floats int64 cannot hold have no int64.
		{Str("1e19"), 1e19, true, 0, false},
		{Float(1e300), 1e300, true, 0, false},
		{Float(-1e300), -1e300, true, 0, false},
		{Float(9223372036854775807), 9223372036854775807, true, 0, false}, // rounds to 2^63
		{Float(-9223372036854775808), -9223372036854775808, true, math.MinInt64, true},
		{Float(math.Inf(1)), math.Inf(1), true, 0, false},
	}
	for _, tc := range tests {
		if f, ok := tc.v.Num(); f != tc.num || ok != tc.numOK {
			t.Errorf("%v.Num() = %v, %v; want %v, %v", tc.v, f, ok, tc.num, tc.numOK)
		}
		if i, ok := tc.v.Int64(); i != tc.i || ok != tc.int64K {
			t.Errorf("%v.Int64() = %v, %v; want %v, %v", tc.v, i, ok, tc.i, tc.int64K)
		}
	}
	if _, ok := Float(math.NaN()).Int64(); ok {
		t.Error("NaN has an int64")
	}
}

func TestCompareNonNumbers(t *testing.T) {
	nan := Float(math.NaN())
	tests := []struct {
		a, b Value
		c    int
		ok   bool
	}{
		{Str("nan"), Int(5), 0, false},
		{Str("inf"), Float(1e308), 0, false},
		{Str("NaN"), Str("NaN"), 0, true}, // two strings compare as text
		{Str("5"), Int(5), 0, true},
		{Str("10"), Float(9.5), 1, true},
		{nan, Int(1), 0, false},
		{Int(1), nan, 0, false},
		{nan, nan, 0, false},
		{Float(math.Inf(1)), Int(1), 1, true},
	}
	for _, tc := range tests {
		if c, ok := Compare(tc.a, tc.b); c != tc.c || ok != tc.ok {
			t.Errorf("Compare(%v, %v) = %d, %v; want %d, %v", tc.a, tc.b, c, ok, tc.c, tc.ok)
		}
	}
	if Str("nan").Equal(Int(5)) || Str("inf").Equal(Int(0)) {
		t.Error("a non-number string equals a number")
	}
}
