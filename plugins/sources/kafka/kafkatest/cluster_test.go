package kafkatest

import (
	"bytes"
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

func TestProduceReadBack(t *testing.T) {
	c := Start(t, Topic("t", 2))
	offs := c.Produce(t, "t",
		Message{Partition: 0, Key: []byte("a"), Value: []byte(`{"n":1}`)},
		Message{Partition: 0, Value: []byte(`{"n":2}`)},
		Message{Partition: 1, Value: []byte(`{"n":3}`)},
	)
	if want := []int64{0, 1, 0}; !equalInts(offs, want) {
		t.Fatalf("offsets %v, want %v", offs, want)
	}
	got := c.ReadAll(t, "t")
	want := []Message{
		{Partition: 0, Offset: 0, Key: []byte("a"), Value: []byte(`{"n":1}`)},
		{Partition: 0, Offset: 1, Value: []byte(`{"n":2}`)},
		{Partition: 1, Offset: 0, Value: []byte(`{"n":3}`)},
	}
	if len(got) != len(want) {
		t.Fatalf("read %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Partition != w.Partition || g.Offset != w.Offset || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) {
			t.Errorf("message %d = %+v, want %+v", i, g, w)
		}
	}
	if ends := c.EndOffsets(t, "t"); ends[0] != 2 || ends[1] != 1 {
		t.Errorf("end offsets %v, want map[0:2 1:1]", ends)
	}
}

// TestRestartKeepsRecordsAndCommits shows kfake's DataDir persistence: the
// records and a group's committed offsets survive a cluster restart on the
// same address.
func TestRestartKeepsRecordsAndCommits(t *testing.T) {
	c := Start(t, DataDir(t.TempDir()), Topic("t", 1))
	c.ProduceJSON(t, "t", 0, `{"a":1}`, `{"a":2}`, `{"a":3}`)
	commit(t, c, "g", "t", 2)
	before := c.Brokers[0]

	c.Restart(t)
	if c.Brokers[0] != before {
		t.Fatalf("restarted on %s, want %s", c.Brokers[0], before)
	}
	if got := c.ReadAll(t, "t"); len(got) != 3 || string(got[2].Value) != `{"a":3}` {
		t.Fatalf("after restart read %+v", got)
	}
	if got := c.Committed(t, "g", "t"); got[0] != 2 {
		t.Fatalf("committed after restart = %v, want partition 0 at 2", got)
	}
}

// commit commits an offset the way a consumer-group member does.
func commit(t *testing.T, c *Cluster, group, topic string, offset int64) {
	t.Helper()
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Brokers, GroupID: group, Topic: topic, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	cx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := r.FetchMessage(cx)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	m.Offset = offset - 1
	if err := r.CommitMessages(cx, m); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
