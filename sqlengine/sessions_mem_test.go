package sqlengine_test

import (
	"fmt"
	"runtime"
	"testing"

	"sluice/operators"
	"sluice/sqlengine"
)

// BenchmarkOpenSessionMemory holds 1,000,000 open sessions of the shipped
// sessionizer's shape and reports heap bytes per open session.
func BenchmarkOpenSessionMemory(b *testing.B) {
	const users = 1_000_000
	specs, err := sqlengine.Compile(`@EventTime(column="ts", lateness="5s")
SELECT user_id, FIRST(page) AS landing_page, LAST(page) AS exit_page, COUNT(DISTINCT page) AS pages,
       FIRST(country) AS country, FIRST(device) AS device
FROM enriched GROUP BY SESSION(ts, INTERVAL 30 MINUTE, INTERVAL 4 HOUR), user_id`)
	if err != nil {
		b.Fatal(err)
	}
	pages := []string{"/", "/item/1", "/item/2", "/search?q=shoes", "/cart"}
	countries := []string{"US", "DE", "JP", "BR"}
	for n := 0; n < b.N; n++ {
		op := specs[0].Build(&operators.Counters{})
		batch := make([]*operators.Record, 0, 1000)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for u := 0; u < users; u++ {
			raw := fmt.Sprintf(`{"ts":%d,"user_id":"u%07d","page":%q,"country":%q,"device":"mobile"}`, 1_700_000_000_000+u, u, pages[u%len(pages)], countries[u%len(countries)])
			batch = append(batch, &operators.Record{Raw: []byte(raw)})
			if len(batch) == cap(batch) {
				op.Process(batch, func([]*operators.Record) {})
				batch = batch[:0]
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := op.StateSize(); got != users {
			b.Fatalf("%d open sessions, want %d", got, users)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/users, "bytes/session")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB/1M-sessions")
		runtime.KeepAlive(op)
	}
}
