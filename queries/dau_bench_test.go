package queries_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sinks/elasticsearch/estest"
	"sluice/plugins/sinks/redis/redistest"
	"sluice/plugins/sources/generator"
)

// BenchmarkDAUSinks runs what DAU needs of the shipped pipeline (collector,
// enrichment, sessionizer, DAU): without sinks, with SADD to a
// redis-server, and with Elasticsearch too, all on this machine. It reports input events per second end to end, every sink write
// acknowledged, and the rows each sink wrote per second.
func BenchmarkDAUSinks(b *testing.B) {
	b.Run("embedded", func(b *testing.B) { benchmarkDAU(b, &operators.Env{}) })
	b.Run("redis", func(b *testing.B) {
		benchmarkDAU(b, &operators.Env{RedisURL: redistest.Start(b)})
	})
	b.Run("redis+es", func(b *testing.B) {
		benchmarkDAU(b, &operators.Env{RedisURL: redistest.Start(b), ESURL: estest.New(b).URL()})
	})
	// The stand-in's checks cost far more than the sink; this endpoint
	// only reads each _bulk request and answers success, to show what the
	// sink itself costs the pipeline.
	b.Run("redis+es-discard", func(b *testing.B) {
		es := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"took":1,"errors":false,"items":[]}`)
		}))
		b.Cleanup(es.Close)
		benchmarkDAU(b, &operators.Env{RedisURL: redistest.Start(b), ESURL: es.URL})
	})
}

func benchmarkDAU(b *testing.B, env *operators.Env) {
	rt := operators.NewRuntime(operators.RuntimeConfig{Env: env, QueueSize: 1024})
	defer rt.Close()
	deployFiles(b, rt, "01_collector.sql", "03_enrichment.sql", "04_sessionizer.sql", "07_dau.sql")
	cfg := generator.DefaultConfig()
	cfg.Users = 100_000
	cfg.AbuseRate = 0
	cfg.Start = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) // away from midnight's half hour
	cfg.Count = b.N
	batches := eventBatches(b, cfg)
	b.ReportAllocs()
	b.ResetTimer()
	ingestAll(b, rt, batches)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	q, _ := rt.Query("dau")
	if err := q.FlushSinks(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "events/s")
	for _, st := range q.Stats().Sinks {
		if st.State != "ok" {
			continue
		}
		if st.Counters["dead_lettered"] != 0 {
			b.Fatalf("%s sink dead-lettered rows: %v", st.Type, st.Counters)
		}
		b.ReportMetric(float64(st.Counters["acked"])/secs, st.Type+"_rows/s")
	}
}
