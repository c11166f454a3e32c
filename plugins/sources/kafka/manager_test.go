package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"sluice/operators"
	"sluice/plugins/sources/kafka/kafkatest"
)

func TestProducerAcksAll(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2))
	var mu sync.Mutex
	var acks []int16
	fake := c.Fake()
	fake.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mu.Lock()
		acks = append(acks, req.(*kmsg.ProduceRequest).Acks)
		mu.Unlock()
		return nil, nil, false
	})
	p, err := NewProducer(c.Brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var values [][]byte
	want := map[string]bool{}
	for i := range 50 {
		v := fmt.Sprintf(`{"i":%d}`, i)
		values = append(values, []byte(v))
		want[v] = true
	}
	if err := p.Publish(context.Background(), "events", values); err != nil {
		t.Fatal(err)
	}
	// Publish returned: the events are stored, no waiting.
	got := c.ReadAll(t, "events")
	if len(got) != 50 {
		t.Fatalf("topic holds %d events, want 50", len(got))
	}
	for _, m := range got {
		if !want[string(m.Value)] {
			t.Errorf("unexpected or doubled event %s", m.Value)
		}
		delete(want, string(m.Value))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acks) == 0 {
		t.Fatal("no produce request seen")
	}
	for _, a := range acks {
		if a != -1 {
			t.Errorf("produce request with acks=%d, want -1 (all)", a)
		}
	}
}

func TestProducerUnknownTopic(t *testing.T) {
	c := kafkatest.Start(t)
	p, err := NewProducer(c.Brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Publish(ctx, "nope", [][]byte{[]byte(`{}`)}); err == nil {
		t.Fatal("publish to a missing topic succeeded")
	}
}

func TestManager(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2), kafkatest.Topic("clicks", 1))
	tg := newTarget()
	m := NewManager(Config{Brokers: c.Brokers, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, tg)
	t.Cleanup(func() { _ = m.Close() })
	ctx := context.Background()

	if _, err := m.Add(ctx, "events", StreamConfig{Topic: "events", Group: "sluice", Start: "earliest"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(ctx, "clicks", StreamConfig{Topic: "clicks"}); err != nil {
		t.Fatal(err)
	}
	errCases := []struct {
		name   string
		sc     StreamConfig
		target error
		msg    string
	}{
		{"events", StreamConfig{Topic: "events"}, ErrExists, `kafka stream "events": the stream already has a Kafka source`},
		{"x", StreamConfig{Topic: "missing"}, ErrInvalid, `kafka stream "x": invalid kafka stream: topic "missing" does not exist`},
		{"y", StreamConfig{}, ErrInvalid, `invalid kafka stream "y": topic is required`},
		{"z", StreamConfig{Topic: "events", Start: "now"}, ErrInvalid, `invalid kafka stream "z": start must be "earliest" or "latest", not "now"`},
	}
	for _, tc := range errCases {
		_, err := m.Add(ctx, tc.name, tc.sc)
		if !errors.Is(err, tc.target) || err.Error() != tc.msg {
			t.Errorf("Add(%q, %+v) = %v, want %q", tc.name, tc.sc, err, tc.msg)
		}
	}

	// Collector mode: published events come back through the source.
	if err := m.Publish(ctx, "events", [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`)}); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish(ctx, "nokafka", [][]byte{[]byte(`{}`)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("publish to a stream without Kafka = %v, want ErrNotFound", err)
	}
	waitFor(t, "3 events", func() bool { return tg.count("events") == 3 })
	sum := int64(0)
	for _, r := range tg.records("events") {
		sum += r.Get("a").I
	}
	if sum != 6 {
		t.Errorf("events a sum = %d, want 6", sum)
	}

	list := m.List(ctx)
	if len(list) != 2 || list[0].Stream != "clicks" || list[1].Stream != "events" {
		t.Fatalf("list = %+v, want clicks then events", list)
	}
	ev := list[1]
	if ev.Topic != "events" || ev.Group != "sluice" || ev.Start != "earliest" || ev.Consumed != 3 || len(ev.Partitions) != 2 {
		t.Errorf("events stats = %+v", ev)
	}
	end := ev.Partitions[0].End + ev.Partitions[1].End
	if end != 3 {
		t.Errorf("end offsets sum to %d, want 3", end)
	}
	if cl := list[0]; cl.Group != "sluice" || len(cl.Partitions) != 1 || cl.Partitions[0].End != 0 || cl.Partitions[0].Lag != 0 {
		t.Errorf("clicks stats = %+v, want default group sluice and one empty partition", cl)
	}

	if err := m.Remove("events"); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove("events"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove = %v, want ErrNotFound", err)
	}
	committed := c.Committed(t, "sluice", "events")
	for _, p := range ev.Partitions {
		want := p.End
		if want == 0 {
			want = -1
		}
		if committed[p.Partition] != want {
			t.Errorf("partition %d committed %d after remove, want %d", p.Partition, committed[p.Partition], want)
		}
	}
	if _, ok := m.Get("events"); ok {
		t.Error("removed stream still listed")
	}
}

func TestManagerNotConfigured(t *testing.T) {
	m := NewManager(Config{}, newTarget())
	_, err := m.Add(context.Background(), "events", StreamConfig{Topic: "events"})
	if !errors.Is(err, operators.ErrNotConfigured) || err.Error() != "kafka not configured: set --kafka-brokers" {
		t.Errorf("Add without brokers = %v", err)
	}
	if _, err := NewProducer(nil); !errors.Is(err, operators.ErrNotConfigured) {
		t.Errorf("NewProducer without brokers = %v", err)
	}
}

// A Kafka stream is declared when it is added: the runtime takes its
// events even when ingest has already created all the streams it may.
func TestAddedStreamPastIngestLimit(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 1))
	rt := operators.NewRuntime(operators.RuntimeConfig{MaxStreams: 1})
	defer rt.Close()
	if err := rt.Ingest("posted", []*operators.Record{{Raw: []byte(`{"a":1}`)}}); err != nil {
		t.Fatal(err)
	}
	m := NewManager(Config{Brokers: c.Brokers, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, rt)
	t.Cleanup(func() { _ = m.Close() })
	if _, err := m.Add(context.Background(), "events", StreamConfig{Topic: "events", Start: "earliest"}); err != nil {
		t.Fatal(err)
	}
	// A poison message goes to the dead letters, which must not count
	// against the bound either, or the source would retry it forever.
	c.ProduceJSON(t, "events", 0, `{"i":1}`, `not json`, `{"i":2}`, `{"i":3}`)
	ingested := func(name string) uint64 {
		for _, st := range rt.Streams() {
			if st.Name == name {
				return st.Ingested
			}
		}
		return 0
	}
	waitFor(t, "3 events in the stream and 1 dead letter", func() bool {
		return ingested("events") == 3 && ingested(operators.DeadLetterStream) == 1
	})
}

// A stream added while, or after, the Manager closes gets an error instead
// of a source that nothing would ever stop.
func TestAddAfterClose(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 1))
	m := NewManager(Config{Brokers: c.Brokers, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, newTarget())
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := m.Add(context.Background(), "events", StreamConfig{Topic: "events"})
	if !errors.Is(err, ErrClosed) || err.Error() != `kafka stream "events": the server is shutting down` {
		t.Fatalf("Add after Close = %v", err)
	}
	if len(m.List(context.Background())) != 0 {
		t.Fatal("a source was started after Close")
	}
}
