package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/operators"
	"sluice/plugins/sources/kafka/kafkatest"
)

// event is a typical clickstream event, about 200 bytes.
func event(i int) []byte {
	return fmt.Appendf(nil, `{"ts":%d,"user_id":"u%06d","page":"/product/%d","country":"DE","device":"mobile","ua":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)","latency_ms":%d}`,
		1767225600000+int64(i), i%100000, i%500, i%250)
}

// fill produces n events over the topic's partitions, 2000 per request.
func fill(b *testing.B, c *kafkatest.Cluster, topic string, partitions, n int) {
	const chunk = 2000
	for p := range partitions {
		var msgs []kafkatest.Message
		for i := p; i < n; i += partitions {
			msgs = append(msgs, kafkatest.Message{Partition: p, Value: event(i)})
			if len(msgs) == chunk {
				c.Produce(b, topic, msgs...)
				msgs = msgs[:0]
			}
		}
		if len(msgs) > 0 {
			c.Produce(b, topic, msgs...)
		}
	}
}

// counter takes every batch and counts records.
type counter struct{ n atomic.Int64 }

func (c *counter) Declare(string) {}

func (c *counter) Pending(string) int { return 0 }

func (c *counter) Ingest(_ string, batch []*operators.Record) error {
	c.n.Add(int64(len(batch)))
	return nil
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// BenchmarkConsume is the source alone: fetch, validate, build records and
// hand them on, from a topic of 4 partitions already holding b.N events.
func BenchmarkConsume(b *testing.B) {
	benchmarkConsume(b, func() Ingester { return &counter{} }, func(t Ingester) int64 { return t.(*counter).n.Load() })
}

// BenchmarkConsumeIntoRuntime hands the records to a real operators.Runtime
// stream with one reader-less queue, so back-pressure retries are included.
func BenchmarkConsumeIntoRuntime(b *testing.B) {
	benchmarkConsume(b,
		func() Ingester { return operators.NewRuntime(operators.RuntimeConfig{}) },
		func(t Ingester) int64 {
			for _, s := range t.(*operators.Runtime).Streams() {
				if s.Name == "ev" {
					return int64(s.Ingested)
				}
			}
			return 0
		})
}

func benchmarkConsume(b *testing.B, newTarget func() Ingester, count func(Ingester) int64) {
	c := kafkatest.Start(b, kafkatest.Topic("events", 4))
	fill(b, c, "events", 4, b.N)
	tg := newTarget()
	b.ReportAllocs()
	b.ResetTimer()
	s, err := Open(Config{Brokers: c.Brokers, Topic: "events", Group: "bench", Stream: "ev", Logger: quiet()}, tg)
	if err != nil {
		b.Fatal(err)
	}
	for count(tg) < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	_ = s.Close()
}

// BenchmarkDecode is the per-message work of the source without the
// network: validation and record building for batches of 1000.
func BenchmarkDecode(b *testing.B) {
	msgs := make([]kafkago.Message, 1000)
	now := time.Now()
	for i := range msgs {
		msgs[i] = kafkago.Message{Partition: i % 4, Offset: int64(i), Key: []byte("k"), Value: event(i), Time: now}
	}
	d := decoder{topic: "events", stream: "ev", log: quiet()}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += len(msgs) {
		recs, _ := d.decode(msgs, 0)
		if len(recs) != len(msgs) {
			b.Fatal("decode dropped records")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPublish is collector mode: batches of 500 events published
// with acks=all, one after another.
func BenchmarkPublish(b *testing.B) {
	c := kafkatest.Start(b, kafkatest.Topic("events", 4))
	p, err := NewProducer(c.Brokers)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	batch := make([][]byte, 500)
	for i := range batch {
		batch[i] = event(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += len(batch) {
		if err := p.Publish(ctx, "events", batch[:min(len(batch), b.N-done)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
