package queries_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/generator"
	"sluice/queries"
	"sluice/sqlengine"
)

// BenchmarkShippedPipeline runs the whole shipped pipeline in one runtime,
// without HTTP: events in through Ingest, out through every statement.
func BenchmarkShippedPipeline(b *testing.B) {
	rt := operators.NewRuntime(operators.RuntimeConfig{QueueSize: 1024})
	defer rt.Close()
	files, _ := fs.Glob(queries.Files, "*.sql")
	deployFiles(b, rt, files...)
	batches := eventBatches(b, benchConfig(b))
	b.ReportAllocs()
	b.ResetTimer()
	ingestAll(b, rt, batches)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchConfig is the generator's traffic for the pipeline benchmarks:
// b.N events of 100,000 users, about 200 per second of event time (some
// 2,000 per 10-second window); or SLUICE_BENCH_RATE per second, with as
// many users as that rate needs.
func benchConfig(b *testing.B) generator.Config {
	cfg := generator.DefaultConfig()
	cfg.Users = 100_000
	cfg.AbuseRate = 0
	cfg.Count = b.N
	if s := os.Getenv("SLUICE_BENCH_RATE"); s != "" {
		rate, err := strconv.ParseFloat(s, 64)
		if err != nil {
			b.Fatalf("SLUICE_BENCH_RATE=%q: %v", s, err)
		}
		cfg.Rate = rate
		cfg = cfg.WithUsersForRate()
	}
	return cfg
}

// eventBatches generates the config's events as 1000-event batches.
func eventBatches(b *testing.B, cfg generator.Config) [][]*operators.Record {
	g, err := generator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var batches [][]*operators.Record
	for {
		batch := make([]*operators.Record, 0, 1000)
		for len(batch) < cap(batch) {
			raw, ok := g.AppendNext(nil)
			if !ok {
				break
			}
			batch = append(batch, &operators.Record{Raw: raw[:len(raw)-1]})
		}
		if len(batch) > 0 {
			batches = append(batches, batch)
		}
		if len(batch) < cap(batch) {
			return batches
		}
	}
}

// ingestAll puts every batch on the stream "events", waiting out
// back-pressure, and waits until the runtime has processed them all.
func ingestAll(b *testing.B, rt *operators.Runtime, batches [][]*operators.Record) {
	for _, batch := range batches {
		for {
			err := rt.Ingest("events", batch)
			if err == nil {
				break
			}
			if !errors.Is(err, operators.ErrBackpressure) {
				b.Fatal(err)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := rt.Drain(ctx); err != nil {
		b.Fatal(err)
	}
}

// deployFiles deploys shipped query files into rt.
func deployFiles(b *testing.B, rt *operators.Runtime, files ...string) {
	for _, f := range files {
		src, _ := fs.ReadFile(queries.Files, f)
		specs, err := sqlengine.Compile(string(src))
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range specs {
			if _, err := rt.Deploy(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPageMetrics runs the shipped 4-dimension CUBE (page_metrics) on
// its own, in this goroutine, over generated events that went through the
// collector and enrichment statements first: its CPU cost per event.
func BenchmarkPageMetrics(b *testing.B) {
	batches := eventBatches(b, benchConfig(b))
	for _, f := range []string{"01_collector.sql", "03_enrichment.sql"} {
		op := buildFirst(b, f)
		for i, batch := range batches {
			var out []*operators.Record
			op.Process(batch, func(rows []*operators.Record) { out = append(out, rows...) })
			batches[i] = out
		}
	}
	op := buildFirst(b, "06_metrics.sql")
	rows := 0
	emit := func(out []*operators.Record) { rows += len(out) }
	b.ReportAllocs()
	b.ResetTimer()
	for _, batch := range batches {
		op.Process(batch, emit)
	}
	op.Finish(emit)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/event")
}

// buildFirst builds the first statement of a shipped file as a bare
// operator, outside any runtime.
func buildFirst(b *testing.B, file string) operators.Operator {
	src, _ := fs.ReadFile(queries.Files, file)
	specs, err := sqlengine.Compile(string(src))
	if err != nil {
		b.Fatal(err)
	}
	return specs[0].Build(&operators.Counters{})
}
