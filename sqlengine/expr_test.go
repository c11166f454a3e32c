package sqlengine_test

import (
	"testing"

	"sluice/operators"
	"sluice/sqlengine"
)

// eval compiles "SELECT expr AS v FROM s" and runs one event through it.
func eval(t *testing.T, expr, event string) (operators.Value, bool) {
	t.Helper()
	specs, err := sqlengine.Compile("SELECT " + expr + " AS v FROM s")
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	op := specs[0].Build(&operators.Counters{})
	var got []*operators.Record
	op.Process([]*operators.Record{{Arrival: 1234, Raw: []byte(event)}}, func(rows []*operators.Record) { got = append(got, rows...) })
	if len(got) == 0 {
		return operators.Value{}, false
	}
	return got[0].Values[0], true
}

func TestExpressions(t *testing.T) {
	event := `{"a": 7, "b": 2, "f": 1.5, "s": "Hello", "n": null, "ok": true,
		"req": {"headers": {"ua": "curl/8.0"}}, "tags": ["x", "y"], "ts": "2026-11-21T10:00:00Z"}`
	tests := []struct {
		expr string
		want operators.Value
	}{
		{"a + b", operators.Int(9)},
		{"a - b * 3", operators.Int(1)},
		{"a / b", operators.Float(3.5)},
		{"a DIV b", operators.Int(3)},
		{"a % b", operators.Int(1)},
		{"a / 0", operators.Null()},
		{"f * 2", operators.Float(3)},
		{"-a", operators.Int(-7)},
		{"a + n", operators.Null()},
		{"a > b AND s = 'Hello'", operators.Bool(true)},
		{"a < b OR n IS NULL", operators.Bool(true)},
		{"n = 1 AND a < b", operators.Bool(false)},
		{"n = 1 OR a < b", operators.Null()},
		{"NOT ok", operators.Bool(false)},
		{"!ok", operators.Bool(false)},
		{"NOT n", operators.Null()},
		{"!n", operators.Null()},
		{"a BETWEEN 1 AND 7", operators.Bool(true)},
		{"a NOT BETWEEN 1 AND 7", operators.Bool(false)},
		{"s IN ('x', 'Hello')", operators.Bool(true)},
		{"a IN (1, 2)", operators.Bool(false)},
		{"a NOT IN (1, 2)", operators.Bool(true)},
		{"s LIKE 'He%'", operators.Bool(true)},
		{"s LIKE '%llo'", operators.Bool(true)},
		{"s LIKE '%ell%'", operators.Bool(true)},
		{"s LIKE 'H_llo'", operators.Bool(true)},
		{"s NOT LIKE 'h%'", operators.Bool(true)},
		{"s REGEXP '^H.*o$'", operators.Bool(true)},
		{"missing IS NULL", operators.Bool(true)},
		{"s IS NOT NULL", operators.Bool(true)},
		{"CASE WHEN a > 5 THEN 'big' ELSE 'small' END", operators.Str("big")},
		{"CASE s WHEN 'x' THEN 1 WHEN 'Hello' THEN 2 END", operators.Int(2)},
		{"CASE WHEN a > 50 THEN 'big' END", operators.Null()},
		{"IF(ok, 'yes', 'no')", operators.Str("yes")},
		{"req.headers.ua", operators.Str("curl/8.0")},
		{"`req.headers.ua`", operators.Str("curl/8.0")},
		{"s.req.headers", operators.RawJSON(`{"ua": "curl/8.0"}`)},
		{"tags", operators.RawJSON(`["x", "y"]`)},
		{"CAST(f AS SIGNED)", operators.Int(1)},
		{"CAST(a AS CHAR)", operators.Str("7")},
		{"CAST(a AS NCHAR)", operators.Str("7")},
		{"CAST(a AS UNSIGNED)", operators.Int(7)},
		{"CAST('2.5' AS DECIMAL)", operators.Float(2.5)},
		{"CAST(f AS DECIMAL(10, 2))", operators.Float(1.5)},
		{"CAST(s AS DECIMAL)", operators.Null()},
		{"CAST('nan' AS DECIMAL)", operators.Null()},
		{"CAST('inf' AS SIGNED)", operators.Null()},
		{"CAST(1e300 AS SIGNED)", operators.Null()},
		// The README's examples.
		{"SUBSTRING(s, -4, 3)", operators.Str("ell")},
		{"SUBSTRING(req.headers.ua, 1, 4)", operators.Str("curl")},
		{"`SUBSTRING`(UPPER(s), 1, 4)", operators.Str("HELL")},
		{"`SUBSTRING`('Sakila', -5, 3)", operators.Str("aki")},
		{"NOW() - UNIX_MILLIS(ts) > 0", operators.Bool(true)},
		{"UNIX_MILLIS(ts)", operators.Int(1795255200000)},
		{"UPPER(s)", operators.Str("HELLO")},
		{"SUBSTRING(s, 2, 3)", operators.Str("ell")},
		{"'a' = 'a'", operators.Bool(true)},
		{"a = 7.0", operators.Bool(true)},
		{"a <=> n", operators.Bool(false)},
		{"n <=> NULL", operators.Bool(true)},
		{"_arrival", operators.Int(1234)},
		{"a & 3", operators.Int(3)},
		{"a | 8", operators.Int(15)},
		{"a ^ b", operators.Int(5)},
		{"a << 2", operators.Int(28)},
		{"a >> 1", operators.Int(3)},
		{"f | 0", operators.Int(1)},
		{"f % 1", operators.Float(0.5)},
		{"f DIV 0.5", operators.Int(3)},
		{"a DIV 0", operators.Null()},
		{"a % 0", operators.Null()},
		{"f DIV 0", operators.Null()},
		{"2 + 3 * 4", operators.Int(14)},
		{"7 / 2", operators.Float(3.5)},
		{"-(2 - 5)", operators.Int(3)},
		{"a > 10 - 4", operators.Bool(true)},
		{"a IN (b + 5, 1)", operators.Bool(true)},
		{"a NOT IN (b, b + 1)", operators.Bool(true)},
		{"n IN (1, 2)", operators.Null()},
		{"CASE WHEN n THEN 1 ELSE 2 END", operators.Int(2)},
		{"CASE n WHEN 1 THEN 1 ELSE 2 END", operators.Int(2)},
		{"CASE b WHEN 1 + 1 THEN 'two' END", operators.Str("two")},
		// IN is x = a OR x = b: a NULL in the list makes "no match" unknown.
		{"1 IN (2, NULL)", operators.Null()},
		{"1 NOT IN (2, NULL)", operators.Null()},
		{"1 IN (1, NULL)", operators.Bool(true)},
		{"1 NOT IN (1, NULL)", operators.Bool(false)},
		{"a IN (b, n)", operators.Null()},
		{"a NOT IN (b, n)", operators.Null()},
		{"a IN (n, b + 5)", operators.Bool(true)},
		{"a NOT IN (n, b + 5)", operators.Bool(false)},
		{"a NOT IN (b, missing)", operators.Null()},
		// BETWEEN is x >= lo AND x <= hi: one false side decides.
		{"5 BETWEEN 6 AND NULL", operators.Bool(false)},
		{"5 NOT BETWEEN 6 AND NULL", operators.Bool(true)},
		{"5 BETWEEN 1 AND NULL", operators.Null()},
		{"5 NOT BETWEEN 1 AND NULL", operators.Null()},
		{"5 BETWEEN NULL AND 4", operators.Bool(false)},
		{"5 NOT BETWEEN NULL AND 4", operators.Bool(true)},
		{"5 BETWEEN NULL AND 9", operators.Null()},
		{"a BETWEEN n AND b", operators.Bool(false)},
		{"n BETWEEN 1 AND 9", operators.Null()},
		{"5 BETWEEN 6 AND 1", operators.Bool(false)},
		{"5 NOT BETWEEN 6 AND 1", operators.Bool(true)},
	}
	for _, tc := range tests {
		got, ok := eval(t, tc.expr, event)
		if !ok {
			t.Errorf("%s: no row", tc.expr)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %v (%s), want %v (%s)", tc.expr, got, got.Kind, tc.want, tc.want.Kind)
		}
	}
}

func TestWhereFilters(t *testing.T) {
	specs, err := sqlengine.Compile("SELECT page FROM s WHERE latency_ms > 100 AND page LIKE '/item/%'")
	if err != nil {
		t.Fatal(err)
	}
	op := specs[0].Build(&operators.Counters{})
	var got []string
	op.Process([]*operators.Record{
		{Raw: []byte(`{"page": "/item/1", "latency_ms": 150}`)},
		{Raw: []byte(`{"page": "/item/2", "latency_ms": 50}`)},
		{Raw: []byte(`{"page": "/", "latency_ms": 500}`)},
		{Raw: []byte(`{"page": "/item/3", "latency_ms": 101}`)},
	}, func(rows []*operators.Record) {
		for _, r := range rows {
			got = append(got, r.String())
		}
	})
	want := []string{`{"page":"/item/1"}`, `{"page":"/item/3"}`}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSelectStarWithExtras(t *testing.T) {
	specs, err := sqlengine.Compile("SELECT *, UPPER(page) AS page, a + 1 AS b FROM s")
	if err != nil {
		t.Fatal(err)
	}
	op := specs[0].Build(&operators.Counters{})
	var got string
	op.Process([]*operators.Record{{Raw: []byte(`{"page":"/x","a":1,"b":"old"}`)}}, func(rows []*operators.Record) { got = rows[0].String() })
	if want := `{"a":1,"page":"/X","b":2}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
