package queries_test

import (
	"encoding/json"
	"io/fs"
	"testing"

	"sluice/operators"
	"sluice/plugins/sources/generator"
	"sluice/queries"
	"sluice/sqlengine"
)

// FuzzShippedStatements sends arbitrary JSON objects, as ingest accepts
// them, through every shipped statement: fields of any type, or missing,
// must give NULLs or errors counted per statement, never a panic.
func FuzzShippedStatements(f *testing.F) {
	g, err := generator.New(generator.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	for range 20 {
		e, _ := g.Next()
		f.Add(e.AppendJSON(nil))
	}
	f.Add([]byte(`{"ts":"yesterday","ua":7,"ip":"::ffff:1.2.3.4","user_id":null,"page":{"a":[1]},"latency_ms":"12","item_id":true}`))
	f.Add([]byte(`{"ts":-9223372036854775808,"ip":"999.1.1.1","mid":"","last_page":"","action":"purchase"}`))
	var specs []*operators.QuerySpec
	files, _ := fs.Glob(queries.Files, "*.sql")
	for _, name := range files {
		src, err := fs.ReadFile(queries.Files, name)
		if err != nil {
			f.Fatal(err)
		}
		s, err := sqlengine.Compile(string(src))
		if err != nil {
			f.Fatal(err)
		}
		specs = append(specs, s...)
	}
	if len(specs) == 0 {
		f.Fatal("no shipped statements to fuzz")
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]any
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return // ingest refuses what is not a JSON object
		}
		for _, spec := range specs {
			op := spec.Build(&operators.Counters{})
			op.Process([]*operators.Record{{Raw: raw, Arrival: 1_700_000_000_000}}, func([]*operators.Record) {})
			op.Finish(func([]*operators.Record) {})
		}
	})
}
