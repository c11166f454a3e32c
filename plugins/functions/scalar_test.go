package functions

import (
	"testing"

	"sluice/operators"
)

// Shorthands for test tables.
var (
	null = operators.Null()
	i    = operators.Int
	f    = operators.Float
	s    = operators.Str
	b    = operators.Bool
	js   = operators.RawJSON
)

type scalarCase struct {
	name string
	args []operators.Value
	want operators.Value
}

// call evaluates a registered scalar as the engine would, checking arity.
func call(t testing.TB, name string, args ...operators.Value) operators.Value {
	t.Helper()
	fn, ok := operators.LookupScalar(name)
	if !ok {
		t.Fatalf("scalar %s is not registered", name)
	}
	if len(args) < fn.MinArgs || (fn.MaxArgs >= 0 && len(args) > fn.MaxArgs) {
		t.Fatalf("%s takes %d..%d arguments, test passes %d", name, fn.MinArgs, fn.MaxArgs, len(args))
	}
	return fn.Eval(args)
}

// sameValue is exact equality of kind and content (NULL equals NULL here).
func sameValue(a, b operators.Value) bool { return a == b }

func runScalarCases(t *testing.T, cases []scalarCase) {
	t.Helper()
	for _, c := range cases {
		if got := call(t, c.name, c.args...); !sameValue(got, c.want) {
			t.Errorf("%s%v = %v (%s), want %v (%s)", c.name, c.args, got, got.Kind, c.want, c.want.Kind)
		}
	}
}

func TestEveryFunctionIsDocumented(t *testing.T) {
	names := []string{
		"UPPER", "LOWER", "LENGTH", "CONCAT", "SUBSTRING", "TRIM", "REPLACE", "SPLIT_PART", "STARTS_WITH",
		"COALESCE", "IFNULL", "NULLIF", "ABS", "ROUND", "FLOOR", "CEIL", "GREATEST", "LEAST", "MOD",
		"TO_INT", "TO_FLOAT", "TO_STRING", "URL_PATH", "URL_HOST", "URL_PARAM", "JSON_EXTRACT",
		"DATE_FORMAT", "TO_DATE", "HOUR", "MINUTE", "DAY", "MONTH", "YEAR", "DAYOFWEEK", "FROM_UNIXTIME",
		"UNIX_MILLIS", "NOW", "device_type", "browser", "browser_version", "os", "is_bot", "bot_signature",
		"geo_country", "geo_region", "geo_city",
	}
	for _, n := range names {
		fn, ok := operators.LookupScalar(n)
		if !ok || fn.Doc == "" || fn.Eval == nil {
			t.Errorf("scalar %s: registered %v, doc %q", n, ok, fn.Doc)
		}
	}
	for _, n := range []string{"COUNT_DISTINCT", "PERCENTILE", "MEDIAN", "TOPK"} {
		fn, ok := operators.LookupAggregate(n)
		if !ok || fn.Doc == "" || fn.New == nil {
			t.Errorf("aggregate %s: registered %v, doc %q", n, ok, fn.Doc)
		}
	}
	if _, ok := operators.LookupSink("bot_signatures"); !ok {
		t.Error("sink bot_signatures is not registered")
	}
}

func TestStrictFunctionsPropagateNull(t *testing.T) {
	for _, c := range []struct {
		name string
		args []operators.Value
	}{
		{"UPPER", []operators.Value{null}},
		{"SUBSTRING", []operators.Value{s("abc"), null}},
		{"REPLACE", []operators.Value{s("abc"), s("b"), null}},
		{"ROUND", []operators.Value{f(1.5), null}},
		{"DATE_FORMAT", []operators.Value{null, s("yyyy")}},
		{"JSON_EXTRACT", []operators.Value{js(`{"a":1}`), null}},
		{"URL_PARAM", []operators.Value{null, s("q")}},
		{"GREATEST", []operators.Value{i(1), null, i(3)}},
		{"device_type", []operators.Value{null}},
		{"geo_country", []operators.Value{null}},
	} {
		if got := call(t, c.name, c.args...); !got.IsNull() {
			t.Errorf("%s%v = %v, want NULL", c.name, c.args, got)
		}
	}
}
