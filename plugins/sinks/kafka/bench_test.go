package kafka

import (
	"context"
	"fmt"
	"testing"

	"sluice/operators"
	"sluice/plugins/sinks/sinktest"
	"sluice/plugins/sources/kafka/kafkatest"
)

// BenchmarkSink is the distributor path: rows keyed by user_id written in
// batches of 1000 to a topic of 4 partitions, Flush included.
func BenchmarkSink(b *testing.B) {
	c := kafkatest.Start(b, kafkatest.Topic("routed", 4))
	s := newSink(b, &operators.Env{KafkaBrokers: c.Brokers}, map[string]string{"topic": "routed", "key": "user_id", "batch": "1000"}, "user_id", "n", "page")
	rows := make([]*operators.Record, 1000)
	for i := range rows {
		rows[i] = userRow(operators.Str(fmt.Sprintf("u%06d", i*7919%100000)), i)
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
