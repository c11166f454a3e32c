package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/kafka"
	"sluice/plugins/sources/kafka/kafkatest"
)

func newKafkaServer(t *testing.T, c *kafkatest.Cluster, cfg Config) *testServer {
	t.Helper()
	ts := newTestServer(t, cfg, operators.RuntimeConfig{})
	m := kafka.NewManager(kafka.Config{Brokers: c.Brokers, CommitInterval: -1, Logger: slog.New(slog.DiscardHandler)}, ts.rt)
	t.Cleanup(func() { _ = m.Close() })
	ts.srv.cfg.Kafka = m
	return ts
}

// waitUntil polls cond until it holds or 30 seconds pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKafkaStreamLifecycle(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 2))
	ts := newKafkaServer(t, c, Config{AdminToken: "adm"})
	auth := []string{"Authorization", "Bearer adm"}
	ts.do(http.MethodPost, "/v1/queries", []byte("q events"), auth...).expect(t, http.StatusCreated, "")

	declare := func(body string, header ...string) response {
		return ts.do(http.MethodPost, "/v1/streams", []byte(body), header...)
	}
	declare(`{"name":"events","kafka":{"topic":"clicks"}}`).expect(t, http.StatusUnauthorized, "")
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"events","kafka":{"topic":"nope"}}`, 400, `{"error":"kafka stream \"events\": invalid kafka stream: topic \"nope\" does not exist"}`},
		{`{"name":"events","kafka":{"topic":"clicks","start":"oldest"}}`, 400, `{"error":"invalid kafka stream \"events\": start must be \"earliest\" or \"latest\", not \"oldest\""}`},
		{`{"name":"events"}`, 400, `{"error":"stream \"events\": only Kafka-backed streams are declared (a \"kafka\" object); other streams exist once written to"}`},
		{`{"name":"a b","kafka":{"topic":"clicks"}}`, 400, `{"error":"invalid stream name \"a b\": use 1 to 128 of A-Z a-z 0-9 _ . -"}`},
		{`{"name":"events","kafka":{"topic":"clicks"},"x":1}`, 400, `{"error":"invalid stream declaration: json: unknown field \"x\" (want {\"name\":\"events\",\"kafka\":{\"topic\":\"events\"}})"}`},
	} {
		declare(tt.body, auth...).expect(t, tt.status, tt.want)
	}

	var created kafka.Stats
	r := declare(`{"name":"events","kafka":{"topic":"clicks","group":"g1"}}`, auth...)
	r.expect(t, http.StatusCreated, "")
	r.decode(t, &created)
	if created.Stream != "events" || created.Topic != "clicks" || created.Group != "g1" || created.Start != "earliest" || len(created.Partitions) != 2 {
		t.Errorf("created = %+v", created)
	}
	declare(`{"name":"events","kafka":{"topic":"clicks"}}`, auth...).expect(t, http.StatusConflict, `{"error":"kafka stream \"events\": the stream already has a Kafka source"}`)

	c.ProduceJSON(t, "clicks", 0, `{"n":1}`, `{"n":2}`, `{"n":3}`)
	c.ProduceJSON(t, "clicks", 1, `{"n":4}`)
	var list []struct {
		Name     string       `json:"name"`
		Ingested uint64       `json:"ingested"`
		Readers  []string     `json:"readers"`
		Kafka    *kafka.Stats `json:"kafka"`
	}
	waitUntil(t, "4 events through the stream", func() bool {
		ts.do(http.MethodGet, "/v1/streams", nil).decode(t, &list)
		return len(list) == 1 && list[0].Ingested == 4
	})
	k := list[0].Kafka
	if list[0].Name != "events" || fmt.Sprint(list[0].Readers) != "[q]" || k == nil || k.Consumed != 4 {
		t.Fatalf("GET /v1/streams = %+v", list[0])
	}
	want := "[{0 3 -1 3 3} {1 1 -1 1 1}]" // nothing committed without a checkpoint
	if got := fmt.Sprint(k.Partitions); got != want {
		t.Errorf("partitions = %s, want %s", got, want)
	}

	ts.do(http.MethodDelete, "/v1/streams/events", nil).expect(t, http.StatusUnauthorized, "")
	ts.do(http.MethodDelete, "/v1/streams/events", nil, auth...).expect(t, http.StatusOK, `{"deleted":"events"}`)
	ts.do(http.MethodDelete, "/v1/streams/events", nil, auth...).expect(t, http.StatusNotFound, `{"error":"stream \"events\" is not Kafka-backed"}`)
	list = nil
	ts.do(http.MethodGet, "/v1/streams", nil).decode(t, &list)
	if len(list) != 1 || list[0].Kafka != nil {
		t.Errorf("after DELETE: %+v, want the stream without Kafka", list)
	}
}

// A declared stream that nothing reads or writes yet exists in the runtime
// (with its queue) and is listed with its Kafka stats, once its consumer
// has joined the group.
func TestKafkaStreamListedBeforeUse(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 1))
	ts := newKafkaServer(t, c, Config{})
	ts.do(http.MethodPost, "/v1/streams", []byte(`{"name":"quiet","kafka":{"topic":"clicks","start":"latest"}}`)).expect(t, http.StatusCreated, "")
	want := `[{"name":"quiet","ingested":0,"queue_depth":0,"queue_capacity_batches":128,"readers":[],"rate":0,"kafka":{"stream":"quiet","topic":"clicks","group":"sluice","start":"latest","event_time":false,"consumed":0,"dead_letters":0,"backpressure_retries":0,"aborted_transactions":0,"partitions":[{"partition":0,"position":-1,"committed":-1,"end":0,"lag":0}],"members":["sluice"]}}]`
	var r response
	waitFor(t, 30*time.Second, "the consumer to join its group", func() bool {
		r = ts.do(http.MethodGet, "/v1/streams", nil)
		return strings.Contains(r.body, `"members":["sluice"]`)
	})
	r.expect(t, http.StatusOK, want)
}

func TestCollectorMode(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 1))
	ts := newKafkaServer(t, c, Config{IngestToken: "ing"})
	ts.do(http.MethodPost, "/v1/streams", []byte(`{"name":"events","kafka":{"topic":"clicks"}}`)).expect(t, http.StatusCreated, "")
	auth := []string{"Authorization", "Bearer ing"}

	body := "{\"n\":1}\n{\"n\":2,\"s\":\"x\"}\n{\"n\":3}\n"
	ts.do(http.MethodPost, "/v1/streams/events/events", []byte(body), auth...).expect(t, http.StatusAccepted, `{"accepted":3,"topic":"clicks"}`)
	// Acknowledged means in Kafka: the events are there before the consumer reads them.
	msgs := c.ReadAll(t, "clicks")
	var got []string
	for _, m := range msgs {
		got = append(got, string(m.Value))
	}
	if strings.Join(got, "\n") != strings.TrimSpace(body) {
		t.Errorf("topic holds %q, want the three events", got)
	}
	ts.do(http.MethodPost, "/v1/streams/events/events", []byte(`{"n":`), auth...).expect(t, http.StatusBadRequest, "")
	waitUntil(t, "the events through the consumer", func() bool {
		for _, st := range ts.rt.Streams() {
			if st.Name == "events" {
				return st.Ingested == 3
			}
		}
		return false
	})
	// Other streams are still ingested directly.
	ts.do(http.MethodPost, "/v1/streams/other/events", []byte(`{"n":1}`), auth...).expect(t, http.StatusAccepted, `{"accepted":1}`)

	c.Close()
	r := ts.do(http.MethodPost, "/v1/streams/events/events", []byte(`{"n":4}`), auth...)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" ||
		!strings.HasPrefix(r.body, `{"error":"stream \"events\": events not acknowledged by Kafka topic \"clicks\"; retry (some may already be in Kafka): `) {
		t.Errorf("with Kafka down: %d %s", r.status, r.body)
	}
	metrics := grep(ts.do(http.MethodGet, "/metrics", nil, auth...).body, `sluice_ingest_rejected_total{reason="unavailable"`)
	if want := `sluice_ingest_rejected_total{reason="unavailable",stream="events"} 1`; metrics != want {
		t.Errorf("rejection metrics:\n%s\nwant:\n%s", metrics, want)
	}
}

func TestDeclareWithoutKafka(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{})
	ts.do(http.MethodPost, "/v1/streams", []byte(`{"name":"events","kafka":{"topic":"clicks"}}`)).
		expect(t, http.StatusBadRequest, `{"error":"stream \"events\": kafka not configured: set --kafka-brokers"}`)
	ts.do(http.MethodDelete, "/v1/streams/events", nil).expect(t, http.StatusNotFound, `{"error":"stream \"events\" is not Kafka-backed"}`)
}
