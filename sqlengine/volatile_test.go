package sqlengine_test

import (
	"testing"

	"sluice/operators"
	_ "sluice/plugins/functions/redislookup"
	"sluice/sqlengine"
)

// calls counts the evaluations of the test functions below.
var calls = map[string]int64{}

func init() {
	for _, f := range []struct {
		name     string
		volatile bool
	}{{"test_volatile", true}, {"test_stable", false}} {
		operators.RegisterScalar(operators.ScalarFunc{Name: f.name, MinArgs: 1, MaxArgs: 1, Volatile: f.volatile,
			Eval: func([]operators.Value) operators.Value { calls[f.name]++; return operators.Int(calls[f.name]) }})
	}
}

// A function over constants is evaluated once, when the statement is
// compiled, unless it is volatile (NOW, Redis lookups, the bot signature
// cache): then once per row.
func TestVolatileFunctionsRunPerRow(t *testing.T) {
	specs, err := sqlengine.Compile(`SELECT test_volatile(1) AS v, test_stable(1) AS s FROM e`)
	if err != nil {
		t.Fatal(err)
	}
	clear(calls)
	op := specs[0].Build(&operators.Counters{})
	batch := []*operators.Record{{Raw: []byte(`{}`)}, {Raw: []byte(`{}`)}, {Raw: []byte(`{}`)}}
	var got []string
	op.Process(batch, func(rows []*operators.Record) {
		for _, r := range rows {
			got = append(got, r.Get("v").Text()+"/"+r.Get("s").Text())
		}
	})
	// test_stable ran once at compile time (1); test_volatile once per row.
	if want := "1/1 2/1 3/1"; len(got) != len(batch) || got[0]+" "+got[1]+" "+got[2] != want {
		t.Errorf("rows %v, want %s", got, want)
	}
	for _, name := range []string{"now", "redis_get", "redis_hget", "redis_zrange", "redis_smembers", "bot_signature"} {
		if f, ok := operators.LookupScalar(name); !ok || !f.Volatile {
			t.Errorf("%s: registered %v, volatile %v", name, ok, f.Volatile)
		}
	}
}
