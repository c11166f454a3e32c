package functions

import (
	"math"
	"testing"

	"sluice/operators"
)

func TestStringFunctions(t *testing.T) {
	runScalarCases(t, []scalarCase{
		{"UPPER", []operators.Value{s("Héllo, World")}, s("HÉLLO, WORLD")},
		{"upper", []operators.Value{i(42)}, s("42")},
		{"LOWER", []operators.Value{s("Chrome OS")}, s("chrome os")},
		{"LENGTH", []operators.Value{s("")}, i(0)},
		{"LENGTH", []operators.Value{s("abc")}, i(3)},
		{"LENGTH", []operators.Value{s("héllo")}, i(5)}, // characters, not bytes
		{"TRIM", []operators.Value{s(" \t a b \n")}, s("a b")},
		{"CONCAT", []operators.Value{s("a"), i(1), null, b(true), f(2.5)}, s("a1true2.5")},
		{"CONCAT", []operators.Value{null, null}, s("")},
		{"REPLACE", []operators.Value{s("a-b-c"), s("-"), s("+")}, s("a+b+c")},
		{"REPLACE", []operators.Value{s("abc"), s(""), s("x")}, s("abc")},
		{"REPLACE", []operators.Value{s("aaa"), s("aa"), s("b")}, s("ba")},
		{"STARTS_WITH", []operators.Value{s("/products/42"), s("/products/")}, b(true)},
		{"STARTS_WITH", []operators.Value{s("/cart"), s("/products/")}, b(false)},
		{"STARTS_WITH", []operators.Value{s("x"), s("")}, b(true)},
	})
}

// The SUBSTRING cases are MySQL's documented examples plus edges.
func TestSubstring(t *testing.T) {
	sub := func(str string, args ...operators.Value) []operators.Value {
		return append([]operators.Value{s(str)}, args...)
	}
	runScalarCases(t, []scalarCase{
		{"SUBSTRING", sub("Quadratically", i(5)), s("ratically")},
		{"SUBSTRING", sub("Quadratically", i(5), i(6)), s("ratica")},
		{"SUBSTRING", sub("Sakila", i(-3)), s("ila")},
		{"SUBSTRING", sub("Sakila", i(-5), i(3)), s("aki")},
		{"SUBSTRING", sub("Sakila", i(0)), s("")},
		{"SUBSTRING", sub("Sakila", i(1), i(0)), s("")},
		{"SUBSTRING", sub("Sakila", i(1), i(-2)), s("")},
		{"SUBSTRING", sub("Sakila", i(7)), s("")},
		{"SUBSTRING", sub("Sakila", i(-7)), s("")},
		{"SUBSTRING", sub("Sakila", i(4), i(100)), s("ila")},
		{"SUBSTRING", sub("Sakila", s("2"), s("2")), s("ak")},
		{"SUBSTRING", sub("Sakila", s("x")), null},
		{"SUBSTRING", sub("naïve café", i(3), i(4)), s("ïve ")},
		{"SUBSTRING", sub("naïve café", i(-4)), s("café")},
		{"SUBSTRING", sub("日本語テキスト", i(3), i(2)), s("語テ")},
		// Extreme positions and lengths must not overflow.
		{"SUBSTRING", sub("Sakila", i(2), i(math.MaxInt64)), s("akila")},
		{"SUBSTRING", sub("naïve", i(2), i(math.MaxInt64)), s("aïve")},
		{"SUBSTRING", sub("Sakila", i(math.MaxInt64), i(math.MaxInt64)), s("")},
		{"SUBSTRING", sub("Sakila", i(math.MinInt64), i(math.MaxInt64)), s("")},
		{"SUBSTRING", sub("Sakila", i(-1), i(math.MaxInt64)), s("a")},
		{"SUBSTRING", sub("Sakila", i(2), i(math.MinInt64)), s("")},
		{"SUBSTRING", sub("Sakila", i(math.MinInt64)), s("")},
		{"SUBSTRING", sub("Sakila", s("2"), s("9223372036854775807")), s("akila")},
		{"SUBSTRING", sub("Sakila", i(2), f(1e300)), null}, // no int64 holds it
		{"SUBSTRING", sub("Sakila", s("nan")), null},
	})
}

// The SPLIT_PART cases follow PostgreSQL's split_part.
func TestSplitPart(t *testing.T) {
	sp := func(str, sep string, n int64) []operators.Value { return []operators.Value{s(str), s(sep), i(n)} }
	runScalarCases(t, []scalarCase{
		{"SPLIT_PART", sp("abc~@~def~@~ghi", "~@~", 2), s("def")},
		{"SPLIT_PART", sp("abc,def,ghi,jkl", ",", -2), s("ghi")},
		{"SPLIT_PART", sp("a,b,c", ",", 1), s("a")},
		{"SPLIT_PART", sp("a,b,c", ",", 3), s("c")},
		{"SPLIT_PART", sp("a,b,c", ",", 4), s("")},
		{"SPLIT_PART", sp("a,b,c", ",", -1), s("c")},
		{"SPLIT_PART", sp("a,b,c", ",", -3), s("a")},
		{"SPLIT_PART", sp("a,b,c", ",", -4), s("")},
		{"SPLIT_PART", sp("a,,c", ",", 2), s("")},
		{"SPLIT_PART", sp("abc", ",", 1), s("abc")},
		{"SPLIT_PART", sp("abc", ",", 2), s("")},
		{"SPLIT_PART", sp("abc", "", 1), s("abc")},
		{"SPLIT_PART", sp("abc", "", 2), s("")},
		{"SPLIT_PART", sp("a,b", ",", 0), null},
		{"SPLIT_PART", sp("/p/42/reviews", "/", 3), s("42")},
	})
}

func TestNullFunctions(t *testing.T) {
	runScalarCases(t, []scalarCase{
		{"COALESCE", []operators.Value{null, null, s("x"), s("y")}, s("x")},
		{"COALESCE", []operators.Value{i(0), s("x")}, i(0)},
		{"COALESCE", []operators.Value{null}, null},
		{"IFNULL", []operators.Value{null, s("unknown")}, s("unknown")},
		{"IFNULL", []operators.Value{s("US"), s("unknown")}, s("US")},
		{"NULLIF", []operators.Value{s("-"), s("-")}, null},
		{"NULLIF", []operators.Value{s("x"), s("-")}, s("x")},
		{"NULLIF", []operators.Value{i(1), f(1)}, null},
		{"NULLIF", []operators.Value{null, i(1)}, null},
		{"NULLIF", []operators.Value{i(1), null}, i(1)},
	})
}
