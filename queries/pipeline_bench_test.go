package queries_test

import (
	"context"
	"errors"
	"io/fs"
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
	cfg := generator.DefaultConfig()
	cfg.Users = 100_000
	cfg.AbuseRate = 0
	cfg.Count = b.N
	batches := eventBatches(b, cfg)
	b.ReportAllocs()
	b.ResetTimer()
	ingestAll(b, rt, batches)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
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
