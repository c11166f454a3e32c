package sqlengine_test

import (
	"fmt"
	"testing"

	"sluice/operators"
	"sluice/sqlengine"
)

// benchEvents are realistic clickstream events (about 300 bytes each).
func benchEvents(n int) []*operators.Record {
	countries := []string{"US", "DE", "FR", "GB", "JP", "BR", "IN", "CN"}
	devices := []string{"desktop", "mobile", "tablet"}
	out := make([]*operators.Record, n)
	for i := range out {
		raw := fmt.Sprintf(`{"ts":%d,"user_id":"u%05d","mid":"m%05d","ip":"81.2.69.%d","ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","page":"/item/%d","last_page":null,"item_id":"i%d","action":"view","latency_ms":%d,"referrer":"","country":"%s","device":"%s"}`,
			1_700_000_000_000+int64(i)*2, i%5000, i%7000, i%250, i%1000, i%1000, 20+i%400, countries[i%len(countries)], devices[i%len(devices)])
		out[i] = &operators.Record{Raw: []byte(raw)}
	}
	return out
}

func benchStatement(b *testing.B, sql string) {
	specs, err := sqlengine.Compile(sql)
	if err != nil {
		b.Fatal(err)
	}
	op := specs[0].Build(&operators.Counters{})
	events := benchEvents(4096)
	const batch = 512
	out := 0
	emit := func(rows []*operators.Record) { out += len(rows) }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		j := i % len(events)
		op.Process(events[j:j+batch], emit)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkExtract is decoding: pulling three fields out of each event's JSON.
func BenchmarkExtract(b *testing.B) {
	x := operators.NewExtractor([][]string{{"country"}, {"device"}, {"latency_ms"}})
	events := benchEvents(4096)
	row := make([]operators.Value, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.Extract(events[i%len(events)], row)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkFilterProject(b *testing.B) {
	benchStatement(b, `SELECT user_id, page, latency_ms * 2 AS double_ms FROM events WHERE device = 'mobile' AND latency_ms > 100`)
}

func BenchmarkTumblingGroupBy(b *testing.B) {
	benchStatement(b, `@EventTime(column="ts", lateness="5s")
SELECT country, device, COUNT(*) AS views, AVG(latency_ms) AS avg_ms, COUNT(DISTINCT user_id) AS users
FROM events GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country, device`)
}

func BenchmarkCube4(b *testing.B) {
	benchStatement(b, `@EventTime(column="ts", lateness="5s")
SELECT country, device, page, action, COUNT(*) AS views, PERCENTILE(latency_ms, 95) AS p95
FROM events GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(country, device, page, action)`)
}
