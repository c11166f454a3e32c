package redis

import (
	"context"
	"fmt"
	"testing"

	"sluice/operators"
	"sluice/plugins/sinks/redis/redistest"
	"sluice/plugins/sinks/sinktest"
)

// BenchmarkSetPipelined is DAU's write path: SADD dau:{date} mid for rows
// of distinct devices, 1000 per pipelined round trip.
func BenchmarkSetPipelined(b *testing.B) {
	benchmarkMode(b, map[string]string{"mode": "set", "key": "dau:{date}", "member": "mid", "ttl": "48h"})
}

// BenchmarkListPipelined is the recommendation path: LREM+LPUSH+LTRIM in MULTI.
func BenchmarkListPipelined(b *testing.B) {
	benchmarkMode(b, map[string]string{"mode": "list", "key": "rec:{date}", "member": "mid", "max_len": "50"})
}

func benchmarkMode(b *testing.B, args map[string]string) {
	srv := redistest.NewServer(b)
	args["batch"] = "1000"
	s := newSink(b, &operators.Env{RedisURL: srv.URL()}, args)
	schema := operators.NewSchema("date", "mid")
	rows := make([]*operators.Record, 1000)
	for i := range rows {
		rows[i] = &operators.Record{Schema: schema, Values: []operators.Value{operators.Str("2026-11-21"), operators.Str(fmt.Sprintf("device-%07d", i))}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for written := 0; written < b.N; written += len(rows) {
		if err := s.Write(ctx, rows[:min(len(rows), b.N-written)]); err != nil {
			b.Fatal(err)
		}
	}
	sinktest.Flush(b, s)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
