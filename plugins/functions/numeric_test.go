package functions

import (
	"math"
	"testing"

	"sluice/operators"
)

func TestNumericFunctions(t *testing.T) {
	v := func(args ...operators.Value) []operators.Value { return args }
	runScalarCases(t, []scalarCase{
		{"ABS", v(i(-7)), i(7)},
		{"ABS", v(i(7)), i(7)},
		{"ABS", v(f(-2.5)), f(2.5)},
		{"ABS", v(s("-3")), i(3)},
		{"ABS", v(s("-3.25")), f(3.25)},
		{"ABS", v(i(math.MinInt64)), f(9223372036854775808)},
		{"ABS", v(s("abc")), null},
		{"ABS", v(js(`[1]`)), null},
		{"ABS", v(s("nan")), null}, // ParseFloat's NaN and Inf are not numbers here
		{"ABS", v(s("-Inf")), null},
		{"ROUND", v(s("inf")), null},
		{"MOD", v(s("NaN"), i(2)), null},

		{"ROUND", v(f(2.5)), f(3)},
		{"ROUND", v(f(-2.5)), f(-3)},
		{"ROUND", v(f(2.4)), f(2)},
		{"ROUND", v(f(1.005), i(2)), f(1.01)},
		{"ROUND", v(f(2.675), i(2)), f(2.68)},
		{"ROUND", v(f(-1.005), i(2)), f(-1.01)},
		{"ROUND", v(f(3.14159), i(3)), f(3.142)},
		{"ROUND", v(f(0.0004), i(3)), f(0)},
		{"ROUND", v(f(0.0005), i(3)), f(0.001)},
		{"ROUND", v(f(0.5)), f(1)},
		{"ROUND", v(f(0.49)), f(0)},
		{"ROUND", v(f(1234.5678), i(-2)), f(1200)},
		{"ROUND", v(f(1250), i(-2)), f(1300)},
		{"ROUND", v(f(1.5), i(20)), f(1.5)},
		{"ROUND", v(f(123.456), i(10)), f(123.456)},
		{"ROUND", v(f(99.95), i(1)), f(100)},
		{"ROUND", v(i(1234)), i(1234)},
		{"ROUND", v(i(1234), i(2)), i(1234)},
		{"ROUND", v(i(1250), i(-2)), i(1300)},
		{"ROUND", v(i(1249), i(-2)), i(1200)},
		{"ROUND", v(i(-1250), i(-2)), i(-1300)},
		{"ROUND", v(i(-1249), i(-2)), i(-1200)},
		{"ROUND", v(i(5), i(-1)), i(10)},
		{"ROUND", v(i(4), i(-1)), i(0)},
		{"ROUND", v(i(123), i(-30)), i(0)},
		{"ROUND", v(s("2.5")), f(3)},

		{"FLOOR", v(f(2.7)), i(2)},
		{"FLOOR", v(f(-2.2)), i(-3)},
		{"FLOOR", v(i(5)), i(5)},
		{"FLOOR", v(f(1e300)), f(1e300)},
		{"CEIL", v(f(2.2)), i(3)},
		{"CEIL", v(f(-2.7)), i(-2)},
		{"CEIL", v(s("4.01")), i(5)},

		{"GREATEST", v(i(3), f(7.5), i(5)), f(7.5)},
		{"GREATEST", v(s("apple"), s("pear"), s("fig")), s("pear")},
		{"GREATEST", v(i(3)), i(3)},
		{"GREATEST", v(i(3), s("x")), null},
		{"LEAST", v(i(3), f(-7.5), i(5)), f(-7.5)},
		{"LEAST", v(s("b"), s("a")), s("a")},

		{"MOD", v(i(10), i(3)), i(1)},
		{"MOD", v(i(-10), i(3)), i(-1)},
		{"MOD", v(i(10), i(-3)), i(1)},
		{"MOD", v(i(10), i(0)), null},
		{"MOD", v(i(math.MinInt64), i(-1)), i(0)},
		{"MOD", v(f(10.5), i(3)), f(1.5)},
		{"MOD", v(f(1), f(0)), null},
		{"MOD", v(s("x"), i(2)), null},
	})
}

func TestConversions(t *testing.T) {
	v := func(args ...operators.Value) []operators.Value { return args }
	runScalarCases(t, []scalarCase{
		{"TO_INT", v(s("42")), i(42)},
		{"TO_INT", v(s(" 42 ")), i(42)},
		{"TO_INT", v(s("3.9")), i(3)},
		{"TO_INT", v(f(-3.9)), i(-3)},
		{"TO_INT", v(b(true)), i(1)},
		{"TO_INT", v(s("abc")), null},
		{"TO_INT", v(f(1e30)), null},
		{"TO_INT", v(js(`{"a":1}`)), null},
		{"TO_FLOAT", v(s("2.5")), f(2.5)},
		{"TO_FLOAT", v(i(3)), f(3)},
		{"TO_FLOAT", v(s("x")), null},
		{"TO_FLOAT", v(js(`1`)), null},
		{"TO_STRING", v(i(42)), s("42")},
		{"TO_STRING", v(f(2.5)), s("2.5")},
		{"TO_STRING", v(b(false)), s("false")},
		{"TO_STRING", v(s("x")), s("x")},
		{"TO_STRING", v(js(`{"a":[1,2]}`)), s(`{"a":[1,2]}`)},
	})
}

func TestRoundDoesNotAllocate(t *testing.T) {
	args := []operators.Value{f(1234.56789), i(2)}
	fn, _ := operators.LookupScalar("ROUND")
	if n := testing.AllocsPerRun(100, func() { fn.Eval(args) }); n != 0 {
		t.Errorf("ROUND allocates %v times per call", n)
	}
}
