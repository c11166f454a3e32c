// Package kafka is the @Sink(type="kafka") plugin, which @PublishOn also
// compiles to: it writes each output row as a JSON message to a topic,
// keyed by a column, in batches acknowledged by all in-sync replicas.
package kafka

import (
	"errors"
	"fmt"
	"strings"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
	"sluice/plugins/sinks/rowtemplate"
)

// The compiler turns @PublishOn(topic=…, key=…) into a declaration of this
// sink with those two arguments.
func init() {
	operators.RegisterSink(operators.SinkPlugin{
		Name: "kafka",
		Doc:  "Writes each row as a JSON message to a Kafka topic, keyed by a column, batched, acks=all.",
		Args: append([]operators.ArgSpec{
			{Name: "topic", Required: true, Doc: "the topic written to"},
			{Name: "key", Doc: `message key: a column ("user_id") or a template ("{country}:{user_id}"); rows where it is NULL get no key. Without it messages have no key.`},
		}, buffer.Args...),
		New: New,
	})
}

// Sink writes rows to one topic through a delivery buffer.
type Sink struct {
	*buffer.Buffer // Write, Flush, Counters and Stats
	w              *kafkago.Writer
}

// New builds a Kafka sink from @Sink(type="kafka", …) or @PublishOn(…).
func New(cfg operators.SinkConfig) (operators.Sink, error) {
	p, err := newSender(cfg.Args, cfg.Columns)
	if err != nil {
		return nil, fmt.Errorf("kafka sink: %w", err)
	}
	opt, err := buffer.ParseOptions(cfg.Args)
	if err != nil {
		return nil, fmt.Errorf("kafka sink: %w", err)
	}
	if cfg.Env == nil || len(cfg.Env.KafkaBrokers) == 0 {
		return nil, fmt.Errorf("kafka sink: no Kafka brokers (set --kafka-brokers): %w", operators.ErrNotConfigured)
	}
	p.w = &kafkago.Writer{
		Addr:  kafkago.TCP(cfg.Env.KafkaBrokers...),
		Topic: p.topic,
		// Java clients' partitioner, so a key lands on the partition any
		// other producer of the topic would choose.
		Balancer:     &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll,
		// One buffer batch is one WriteMessages call: the writer must not
		// hold a partial batch back for long, nor retry on its own (the
		// buffer retries with backoff and counts it).
		BatchSize:    opt.MaxBatch,
		BatchBytes:   maxBatchBytes,
		BatchTimeout: batchTimeout,
		MaxAttempts:  1,
		Completion:   completed,
	}
	return &Sink{Buffer: buffer.New(cfg.Query, "kafka", cfg.Env, opt, p.send), w: p.w}, nil
}

func newSender(a map[string]string, columns []string) (*sender, error) {
	for name := range a {
		if name != "topic" && name != "key" && !buffer.IsArg(name) {
			return nil, fmt.Errorf("unknown argument %s (want topic, key or a buffer argument)", name)
		}
	}
	p := &sender{topic: strings.TrimSpace(a["topic"])}
	if p.topic == "" {
		return nil, errors.New(`argument topic is required, e.g. topic="mobile-events"`)
	}
	if k := a["key"]; strings.TrimSpace(k) != "" {
		t, err := rowtemplate.Field(k)
		if err == nil {
			err = t.Check(columns)
		}
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		p.key = t
	}
	return p, nil
}

// Close delivers what is queued and closes the connections.
func (s *Sink) Close() error {
	berr := s.Buffer.Close()
	if err := s.w.Close(); err != nil {
		return errors.Join(berr, fmt.Errorf("kafka sink close: %w", err))
	}
	return berr
}
