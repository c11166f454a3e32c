package operators

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// Key encodings sort like the values they encode.
func TestKeyOrder(t *testing.T) {
	ordered := []Value{
		Null(), Bool(false), Bool(true),
		Float(math.Inf(-1)), Int(math.MinInt64), Int(-1 << 60), Float(-2.5), Int(-2), Int(-1), Float(-0.5),
		Int(0), Float(0.5), Int(1), Int(2), Float(2.5), Int(1<<53 + 1), Int(1<<53 + 2), Int(math.MaxInt64), Float(math.Inf(1)),
		Str(""), Str("\x00"), Str("\x00a"), Str("a"), Str("a\x00"), Str("ab"), Str("b"), RawJSON("[]"),
	}
	for i := range ordered {
		for j := range ordered {
			got := bytes.Compare(appendKey(nil, ordered[i]), appendKey(nil, ordered[j]))
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("key(%v) vs key(%v) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestKeyOrderRandomStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, r.IntN(4))
		for i := range b {
			b[i] = byte(r.IntN(3)) // 0, 1, 2: stresses the escaping
		}
		return string(b)
	}
	for n := 0; n < 10000; n++ {
		a, b := Str(word()), Str(word())
		got := bytes.Compare(appendKey(nil, a), appendKey(nil, b))
		if want := compareNullsFirst(a, b); got != want {
			t.Fatalf("%q vs %q: key order %d, value order %d", a.S, b.S, got, want)
		}
	}
}

// A float holding an integer is read as that integer for grouping; other
// floats and other kinds stay as they are.
func TestGroupValue(t *testing.T) {
	for _, c := range []struct {
		in, want Value
	}{
		{Float(1), Int(1)},
		{Float(-3), Int(-3)},
		{Float(math.Copysign(0, -1)), Int(0)},
		{Float(1<<53 - 1), Int(1<<53 - 1)},
		{Float(-(1<<53 - 1)), Int(-(1<<53 - 1))},
		{Float(1 << 53), Float(1 << 53)},
		{Float(1.5), Float(1.5)},
		{Float(math.NaN()), Float(math.NaN())},
		{Float(math.Inf(1)), Float(math.Inf(1))},
		{Int(7), Int(7)},
		{Str("1"), Str("1")},
		{Null(), Null()},
	} {
		if got := groupValue(c.in); got != c.want {
			t.Errorf("groupValue(%v) = %#v, want %#v", c.in, got, c.want)
		}
	}
}
