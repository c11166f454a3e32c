package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
	"sluice/plugins/sinks/sinktest"
	"sluice/plugins/sources/kafka/kafkatest"
)

func newSink(t testing.TB, env *operators.Env, args map[string]string, columns ...string) *Sink {
	t.Helper()
	return sinktest.Open(t, "kafka", env, args, columns...).(*Sink)
}

// produces records every produce request the cluster gets: its acks and
// how many records it carried.
type produces struct {
	mu      sync.Mutex
	acks    []int16
	records []int
}

func watchProduces(c *kafkatest.Cluster) *produces {
	p := &produces{}
	fake := c.Fake()
	fake.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		n := 0
		for _, tp := range pr.Topics {
			for _, part := range tp.Partitions {
				var b kmsg.RecordBatch
				if err := b.ReadFrom(part.Records); err == nil {
					n += int(b.NumRecords)
				}
			}
		}
		p.mu.Lock()
		p.acks = append(p.acks, pr.Acks)
		p.records = append(p.records, n)
		p.mu.Unlock()
		return nil, nil, false
	})
	return p
}

var userSchema = operators.NewSchema("user_id", "n", "page")

func userRow(user operators.Value, n int) *operators.Record {
	return &operators.Record{Schema: userSchema, Values: []operators.Value{user, operators.Int(int64(n)), operators.Str(fmt.Sprintf("/p/%d", n%4))}}
}

func TestRowsLandKeyedAndBatched(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("mobile-events", 3))
	seen := watchProduces(c)
	s := newSink(t, &operators.Env{KafkaBrokers: c.Brokers}, map[string]string{"topic": "mobile-events", "key": "user_id", "batch": "100"}, "user_id", "n", "page")

	const n = 300
	want := map[string]string{} // value → key ("" for none)
	var rows []*operators.Record
	for i := range n {
		user := operators.Str(fmt.Sprintf("u%d", i%7))
		key := user.S
		if i%50 == 0 {
			user, key = operators.Null(), ""
		}
		r := userRow(user, i)
		rows = append(rows, r)
		want[r.String()] = key
	}
	for i := 0; i < n; i += 60 {
		if err := s.Write(context.Background(), rows[i:i+60]); err != nil {
			t.Fatal(err)
		}
	}
	sinktest.Flush(t, s)

	// Flush returned: everything is on the topic now, no waiting.
	got := c.ReadAll(t, "mobile-events")
	if len(got) != n {
		t.Fatalf("topic holds %d messages, want %d", len(got), n)
	}
	partOf := map[string]int{}
	for _, m := range got {
		key, ok := want[string(m.Value)]
		if !ok {
			t.Fatalf("unexpected message %s", m.Value)
		}
		delete(want, string(m.Value))
		if key == "" {
			if m.Key != nil {
				t.Errorf("message %s has key %q, want none (NULL user_id)", m.Value, m.Key)
			}
			continue
		}
		if string(m.Key) != key {
			t.Errorf("message %s has key %q, want %q", m.Value, m.Key, key)
		}
		wantPart := (&kafkago.Murmur2Balancer{}).Balance(kafkago.Message{Key: []byte(key)}, 0, 1, 2)
		if m.Partition != wantPart {
			t.Errorf("key %q on partition %d, want %d (Java's murmur2 partitioner)", key, m.Partition, wantPart)
		}
		if p, ok := partOf[key]; ok && p != m.Partition {
			t.Errorf("key %q on partitions %d and %d", key, p, m.Partition)
		}
		partOf[key] = m.Partition
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	total := 0
	for i, a := range seen.acks {
		if a != -1 {
			t.Errorf("produce request %d has acks=%d, want -1 (all)", i, a)
		}
		total += seen.records[i]
	}
	if total != n || len(seen.records) > n/10 {
		t.Errorf("%d records in %d produce requests; want %d records in few, batched requests", total, len(seen.records), n)
	}
	if st := s.Stats(); st.Acked != n || st.DeadLettered != 0 || st.Buffered != 0 {
		t.Errorf("stats %+v, want %d acked", st, n)
	}
}

// TestFlushWaitsForAcks holds the broker's produce answers back: Flush may
// not return before they come.
func TestFlushWaitsForAcks(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("t", 1))
	release := make(chan struct{})
	var held sync.Once
	fake := c.Fake()
	fake.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		held.Do(func() { <-release })
		return nil, nil, false
	})
	s := newSink(t, &operators.Env{KafkaBrokers: c.Brokers}, map[string]string{"topic": "t"})
	if err := s.Write(context.Background(), []*operators.Record{userRow(operators.Str("a"), 1), userRow(operators.Str("b"), 2)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := s.Flush(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "2 rows not yet acknowledged") {
		t.Fatalf("flush while the broker holds the produce answer = %v, want 2 rows not yet acknowledged", err)
	}
	close(release)
	sinktest.Flush(t, s)
	if got := c.ReadAll(t, "t"); len(got) != 2 || string(got[0].Value) != `{"user_id":"a","n":1,"page":"/p/1"}` {
		t.Fatalf("topic = %+v", got)
	}
}

func TestTooLargeRowDeadLettered(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("t", 1))
	var dl sinktest.DeadLetters
	s := newSink(t, dl.Env(operators.Env{KafkaBrokers: c.Brokers}), map[string]string{"topic": "t"})
	big := userRow(operators.Str(strings.Repeat("x", 2<<20)), 2)
	if err := s.Write(context.Background(), []*operators.Record{userRow(operators.Str("a"), 1), big, userRow(operators.Str("c"), 3)}); err != nil {
		t.Fatal(err)
	}
	sinktest.Flush(t, s)
	got := c.ReadAll(t, "t")
	if len(got) != 2 || string(got[0].Value) != `{"user_id":"a","n":1,"page":"/p/1"}` || string(got[1].Value) != `{"user_id":"c","n":3,"page":"/p/3"}` {
		t.Fatalf("topic = %d messages, want the two small rows", len(got))
	}
	want := []string{fmt.Sprintf("message of %d bytes is over the 1048576-byte batch limit|kafka", len(big.String()))}
	if dead := dl.Got("reason", "sink"); !slices.Equal(dead, want) {
		t.Errorf("dead letters %q, want %q", dead, want)
	}
}

func TestConfigErrors(t *testing.T) {
	brokers := &operators.Env{KafkaBrokers: []string{"127.0.0.1:1"}}
	tests := []struct {
		env     *operators.Env
		args    map[string]string
		columns []string
		want    string
	}{
		{&operators.Env{}, map[string]string{"topic": "t"}, nil, "kafka sink: no Kafka brokers (set --kafka-brokers): not configured"},
		{brokers, map[string]string{"key": "u"}, nil, `kafka sink: argument topic is required, e.g. topic="mobile-events"`},
		{brokers, map[string]string{"topic": "t", "partition": "1"}, nil, "kafka sink: unknown argument partition (want topic, key or a buffer argument)"},
		{brokers, map[string]string{"topic": "t", "key": "uid"}, []string{"user_id", "n"}, `kafka sink: key: "uid" names column "uid", which the statement does not output (it outputs user_id, n)`},
		{brokers, map[string]string{"topic": "t", "batch": "0"}, nil, `kafka sink: batch="0": want a positive whole number`},
	}
	p, _ := operators.LookupSink("kafka")
	for _, tt := range tests {
		_, err := p.New(operators.SinkConfig{Query: "q", Args: tt.args, Env: tt.env, Columns: tt.columns})
		if err == nil || err.Error() != tt.want {
			t.Errorf("New(%v) error = %v\nwant %s", tt.args, err, tt.want)
		}
	}
	_, err := p.New(operators.SinkConfig{Query: "q", Args: map[string]string{"topic": "t"}, Env: &operators.Env{}})
	if !errors.Is(err, operators.ErrNotConfigured) {
		t.Errorf("no brokers: %v does not wrap ErrNotConfigured", err)
	}
}

// TestPublishOnDecl writes through the declaration the compiler makes of
// @PublishOn(topic=…, key=…), with and without a key.
func TestPublishOnDecl(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("mobile-events", 1))
	for _, decl := range []operators.SinkDecl{
		{Type: "kafka", Args: map[string]string{"topic": "mobile-events", "key": "user_id"}},
		{Type: "kafka", Args: map[string]string{"topic": "mobile-events", "key": ""}},
		{Type: "kafka", Args: map[string]string{"topic": "mobile-events"}},
	} {
		s := newSink(t, &operators.Env{KafkaBrokers: c.Brokers}, decl.Args, "user_id", "n", "page")
		if err := s.Write(context.Background(), []*operators.Record{userRow(operators.Str("u1"), 1)}); err != nil {
			t.Fatal(err)
		}
		sinktest.Flush(t, s)
	}
	got := c.ReadAll(t, "mobile-events")
	if len(got) != 3 || string(got[0].Key) != "u1" || got[1].Key != nil || got[2].Key != nil {
		t.Fatalf("topic = %+v, want one message keyed u1 and two without key", got)
	}
}

// TestBrokerErrors answers the first produce request with an error: a
// retriable one is delivered on the next attempt, a permanent one goes to
// the dead-letter stream.
func TestBrokerErrors(t *testing.T) {
	tests := []struct {
		code      int16
		delivered bool
		reason    string
	}{
		{int16(kafkago.NotEnoughReplicas), true, ""},
		{int16(kafkago.TopicAuthorizationFailed), false, "kafka refused the message: " + kafkago.TopicAuthorizationFailed.Error()},
	}
	for _, tt := range tests {
		t.Run(kafkago.Error(tt.code).Title(), func(t *testing.T) {
			c := kafkatest.Start(t, kafkatest.Topic("t", 1))
			fake := c.Fake()
			fake.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				pr := req.(*kmsg.ProduceRequest)
				resp := pr.ResponseKind().(*kmsg.ProduceResponse)
				resp.Version = pr.Version
				for _, tp := range pr.Topics {
					rt := kmsg.NewProduceResponseTopic()
					rt.Topic = tp.Topic
					for _, p := range tp.Partitions {
						rp := kmsg.NewProduceResponseTopicPartition()
						rp.Partition = p.Partition
						rp.ErrorCode = tt.code
						rt.Partitions = append(rt.Partitions, rp)
					}
					resp.Topics = append(resp.Topics, rt)
				}
				return resp, nil, true
			})
			var dl sinktest.DeadLetters
			s := newSink(t, dl.Env(operators.Env{KafkaBrokers: c.Brokers}), map[string]string{"topic": "t", "backoff": "10ms"})
			if err := s.Write(context.Background(), []*operators.Record{userRow(operators.Str("a"), 1)}); err != nil {
				t.Fatal(err)
			}
			sinktest.Flush(t, s)
			got := c.ReadAll(t, "t")
			st := s.Stats()
			dead := dl.Got("reason")
			if tt.delivered {
				if len(got) != 1 || st.Retries != 1 || st.Acked != 1 || len(dead) != 0 {
					t.Errorf("topic %d messages, stats %+v, dead %v; want delivered once after one retry", len(got), st, dead)
				}
				return
			}
			if len(got) != 0 || st.DeadLettered != 1 || len(dead) != 1 || dead[0] != tt.reason {
				t.Errorf("topic %d messages, stats %+v, dead %q; want one dead letter %q", len(got), st, dead, tt.reason)
			}
		})
	}
}

// TestTopicRefusedInMetadataDeadLettered answers every metadata request
// with TOPIC_AUTHORIZATION_FAILED, as Kafka does for a principal without
// Describe on the topic: no produce is ever sent, and the row goes to the
// dead-letter stream instead of being retried for ever.
func TestTopicRefusedInMetadataDeadLettered(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("t", 1))
	fake := c.Fake()
	fake.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mr := req.(*kmsg.MetadataRequest)
		resp := mr.ResponseKind().(*kmsg.MetadataResponse)
		resp.Version = mr.Version
		for i, addr := range c.Brokers {
			host, port, _ := net.SplitHostPort(addr)
			pn, _ := strconv.Atoi(port)
			b := kmsg.NewMetadataResponseBroker()
			b.NodeID, b.Host, b.Port = int32(i), host, int32(pn)
			resp.Brokers = append(resp.Brokers, b)
		}
		rt := kmsg.NewMetadataResponseTopic()
		rt.Topic = kmsg.StringPtr("t")
		rt.ErrorCode = int16(kafkago.TopicAuthorizationFailed)
		resp.Topics = append(resp.Topics, rt)
		return resp, nil, true
	})
	var dl sinktest.DeadLetters
	s := newSink(t, dl.Env(operators.Env{KafkaBrokers: c.Brokers}), map[string]string{"topic": "t", "backoff": "10ms", "max_backoff": "20ms"})
	if err := s.Write(context.Background(), []*operators.Record{userRow(operators.Str("a"), 1)}); err != nil {
		t.Fatal(err)
	}
	sinktest.Flush(t, s)
	dead := dl.Got("reason", "row")
	want := []string{"kafka refused the batch: " + kafkago.TopicAuthorizationFailed.Error() + `|{"user_id":"a","n":1,"page":"/p/1"}`}
	if st := s.Stats(); !slices.Equal(dead, want) || st != (buffer.Stats{DeadLettered: 1}) {
		t.Fatalf("dead letters %q, stats %+v; want %q and one dead letter", dead, st, want)
	}
}

// TestCloseWaitsForAProduceItCancelled makes the first produce outlast the
// buffer's CloseTimeout (5s): kafka-go still holds the message when the
// write is cancelled, so the sink must neither queue it again nor
// dead-letter it, and the writer's Close delivers it once.
func TestCloseWaitsForAProduceItCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 5s close timeout")
	}
	c := kafkatest.Start(t, kafkatest.Topic("t", 1))
	seen := watchProduces(c)
	fake := c.Fake()
	var once sync.Once
	fake.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		once.Do(func() { time.Sleep(6 * time.Second) }) // past CloseTimeout, within kafka-go's 10s WriteTimeout
		return nil, nil, false
	})
	var dl sinktest.DeadLetters
	s := newSink(t, dl.Env(operators.Env{KafkaBrokers: c.Brokers}), map[string]string{"topic": "t", "flush": "1ms"})
	if err := s.Write(context.Background(), []*operators.Record{userRow(operators.Str("a"), 1)}); err != nil {
		t.Fatal(err)
	}
	sinktest.Poll(t, "the produce request", func() bool {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		return len(seen.records) > 0
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := c.ReadAll(t, "t")
	dead := dl.Got("reason")
	if st := s.Stats(); len(got) != 1 || string(got[0].Value) != `{"user_id":"a","n":1,"page":"/p/1"}` || len(dead) != 0 || st.Acked != 1 || st.DeadLettered != 0 {
		t.Fatalf("topic %d messages, dead letters %q, stats %+v; want the row delivered once and acked", len(got), dead, st)
	}
}
