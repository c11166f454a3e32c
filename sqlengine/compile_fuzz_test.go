package sqlengine_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/operators"
	"sluice/queries"
	"sluice/sqlengine"
)

// FuzzCompile compiles arbitrary text, as POST /v1/queries would: it may
// be refused, but must not panic, and a statement that compiles must
// process events and finish.
func FuzzCompile(f *testing.F) {
	files, _ := fs.Glob(queries.Files, "*.sql")
	for _, name := range files {
		b, _ := fs.ReadFile(queries.Files, name)
		f.Add(string(b))
	}
	golden, _ := filepath.Glob("testdata/golden/*.test")
	for _, path := range golden {
		b, _ := os.ReadFile(path)
		if _, rest, ok := strings.Cut(string(b), "-- statements\n"); ok {
			sql, _, _ := strings.Cut(rest, "\n-- ")
			f.Add(sql)
		}
	}
	f.Add(`SELECT a, COUNT(*) FROM s GROUP BY TUMBLE(ts, INTERVAL 1 SECOND), ROLLUP(a, b) HAVING COUNT(*) > 1 ORDER BY 2 DESC LIMIT 3`)
	events := []*operators.Record{
		{Raw: []byte(`{"ts":1000,"a":"x","b":2,"page":"/p","user_id":"u1","ua":"curl/8.0","ip":"1.2.3.4","latency_ms":12}`)},
		{Raw: []byte(`{"ts":"2025-01-01T00:00:01Z","a":null,"b":"y","page":{"n":1},"user_id":7}`)},
		{Raw: []byte(`{"ts":99999999,"a":[1,2],"b":-1.5e300}`)},
	}
	f.Fuzz(func(t *testing.T, sql string) {
		specs, err := sqlengine.Compile(sql)
		if err != nil {
			return
		}
		for _, spec := range specs {
			op := spec.Build(&operators.Counters{})
			op.Process(events, func([]*operators.Record) {})
			op.Tick(1<<40, func([]*operators.Record) {})
			op.Finish(func([]*operators.Record) {})
		}
	})
}
