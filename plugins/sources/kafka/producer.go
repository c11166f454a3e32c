package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Producer publishes ingested events to a stream's topic in collector mode:
// Publish returns only once every in-sync replica has the events
// (acks=all), so an event acknowledged to its sender survives a crash of
// sluice. Concurrent Publish calls share produce requests.
type Producer struct {
	w *kafkago.Writer
}

// NewProducer connects lazily; with no brokers it returns an error wrapping
// operators.ErrNotConfigured.
func NewProducer(brokers []string) (*Producer, error) {
	if len(brokers) == 0 {
		return nil, errNoBrokers
	}
	return &Producer{w: &kafkago.Writer{
		Addr:         kafkago.TCP(brokers...),
		RequiredAcks: kafkago.RequireAll,
		Balancer:     &kafkago.RoundRobin{},
		// A synchronous write waits for its partition batches to fill or
		// time out; a large batch and a short timeout bound the wait to
		// about a millisecond past the broker's acknowledgement.
		BatchSize:    10000,
		BatchTimeout: time.Millisecond,
		MaxAttempts:  3,
	}}, nil
}

// Publish writes values (one JSON event each) to topic and waits for the
// acknowledgement. On error some of the events may have been written; the
// sender retrying the whole request gives at-least-once delivery.
func (p *Producer) Publish(ctx context.Context, topic string, values [][]byte) error {
	if len(values) == 0 {
		return nil
	}
	msgs := make([]kafkago.Message, len(values))
	for i, v := range values {
		msgs[i] = kafkago.Message{Topic: topic, Value: v}
	}
	err := p.w.WriteMessages(ctx, msgs...)
	if err == nil {
		return nil
	}
	var werrs kafkago.WriteErrors
	if errors.As(err, &werrs) {
		return fmt.Errorf("kafka publish to %q: %d of %d events not acknowledged: %w", topic, werrs.Count(), len(values), err)
	}
	return fmt.Errorf("kafka publish %d events to %q: %w", len(values), topic, err)
}

// Close waits for writes in flight and closes the connections.
func (p *Producer) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("kafka producer close: %w", err)
	}
	return nil
}
