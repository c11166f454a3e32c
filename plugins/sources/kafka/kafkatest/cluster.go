// Package kafkatest runs an in-process Kafka cluster (franz-go's kfake, which
// speaks the real wire protocol) for tests, with helpers to create topics,
// produce JSON and read a topic back through segmentio/kafka-go. It is a test
// broker, never a production default.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Option configures Start.
type Option func(*config)

type config struct {
	dataDir string
	brokers int
	topics  map[string]int
}

// DataDir makes the cluster persist topics, records and committed group
// offsets under dir (kfake's own persistence), so Restart, or a new Start
// with the same dir, finds them again.
func DataDir(dir string) Option { return func(c *config) { c.dataDir = dir } }

// Brokers sets the number of brokers (default 1).
func Brokers(n int) Option { return func(c *config) { c.brokers = n } }

// Topic creates a topic with the given partitions when the cluster starts.
func Topic(name string, partitions int) Option {
	return func(c *config) { c.topics[name] = partitions }
}

// Cluster is a running in-process Kafka cluster on loopback.
type Cluster struct {
	cfg   config
	kc    *kfake.Cluster
	ports []int
	tr    *kafkago.Transport // its own, so a restart drops pooled connections
	// Brokers are the bootstrap addresses, host:port.
	Brokers []string
}

// Start launches a cluster and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	cfg := config{brokers: 1, topics: map[string]int{}}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Cluster{cfg: cfg}
	if err := c.start(); err != nil {
		t.Fatalf("kafkatest: start kfake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	for name, parts := range cfg.topics {
		c.CreateTopic(t, name, parts)
	}
	return c
}

func (c *Cluster) start() error {
	opts := []kfake.Opt{kfake.ListenFn(loopback)}
	if c.ports == nil {
		opts = append(opts, kfake.NumBrokers(c.cfg.brokers))
	} else {
		opts = append(opts, kfake.Ports(c.ports...))
	}
	if c.cfg.dataDir != "" {
		opts = append(opts, kfake.DataDir(c.cfg.dataDir))
	}
	kc, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	c.kc = kc
	c.tr = &kafkago.Transport{}
	c.Brokers = kc.ListenAddrs()
	if c.ports == nil {
		for _, a := range c.Brokers {
			_, p, _ := net.SplitHostPort(a)
			n, _ := strconv.Atoi(p)
			c.ports = append(c.ports, n)
		}
	}
	return nil
}

// loopback keeps the fake brokers off every interface but 127.0.0.1.
func loopback(network, address string) (net.Listener, error) {
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	return net.Listen(network, net.JoinHostPort("127.0.0.1", port))
}

// Close stops the cluster; with DataDir its state is saved first.
func (c *Cluster) Close() {
	if c.kc != nil {
		c.tr.CloseIdleConnections()
		c.kc.Close()
		c.kc = nil
	}
}

// Restart stops the cluster and starts it again on the same ports. It needs
// DataDir: without it a restarted kfake cluster is empty.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	if c.cfg.dataDir == "" {
		t.Fatal("kafkatest: Restart needs the DataDir option; kfake keeps nothing across restarts without it")
	}
	c.Close()
	if err := c.start(); err != nil {
		t.Fatalf("kafkatest: restart kfake cluster: %v", err)
	}
}

// Fake is the kfake cluster itself, e.g. to observe requests with ControlKey.
func (c *Cluster) Fake() *kfake.Cluster { return c.kc }

// Client is a kafka-go client for the cluster.
func (c *Cluster) Client() *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Timeout: 10 * time.Second, Transport: c.tr}
}

func ctx(t testing.TB) context.Context {
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return cx
}

// CreateTopic creates a topic with n partitions.
func (c *Cluster) CreateTopic(t testing.TB, name string, partitions int) {
	t.Helper()
	res, err := c.Client().CreateTopics(ctx(t), &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{
		{Topic: name, NumPartitions: partitions, ReplicationFactor: 1},
	}})
	if err == nil {
		err = res.Errors[name]
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %q: %v", name, err)
	}
}

// Message is one record to produce or one read back.
type Message struct {
	Partition int
	Offset    int64 // set when read back
	Key       []byte
	Value     []byte
	Time      time.Time // zero: the broker's clock when producing
}

// Produce writes msgs to their partitions with acks=all, in order, and
// returns the offset each one got.
func (c *Cluster) Produce(t testing.TB, topic string, msgs ...Message) []int64 {
	t.Helper()
	cl := c.Client()
	offsets := make([]int64, len(msgs))
	for i := 0; i < len(msgs); {
		// One request per run of messages for the same partition keeps
		// their order and makes their offsets consecutive.
		j := i + 1
		for j < len(msgs) && msgs[j].Partition == msgs[i].Partition {
			j++
		}
		recs := make([]kafkago.Record, j-i)
		for k := range recs {
			m := msgs[i+k]
			recs[k] = kafkago.Record{Time: m.Time, Value: kafkago.NewBytes(m.Value)}
			if m.Key != nil {
				recs[k].Key = kafkago.NewBytes(m.Key)
			}
		}
		res, err := cl.Produce(ctx(t), &kafkago.ProduceRequest{
			Topic: topic, Partition: msgs[i].Partition, RequiredAcks: kafkago.RequireAll,
			Records: kafkago.NewRecordReader(recs...),
		})
		if err == nil {
			err = res.Error
		}
		if err != nil {
			t.Fatalf("kafkatest: produce %d records to %s/%d: %v", j-i, topic, msgs[i].Partition, err)
		}
		for k := i; k < j; k++ {
			offsets[k] = res.BaseOffset + int64(k-i)
		}
		i = j
	}
	return offsets
}

// ProduceJSON writes JSON values (raw text) to one partition and returns
// their offsets.
func (c *Cluster) ProduceJSON(t testing.TB, topic string, partition int, values ...string) []int64 {
	t.Helper()
	msgs := make([]Message, len(values))
	for i, v := range values {
		msgs[i] = Message{Partition: partition, Value: []byte(v)}
	}
	return c.Produce(t, topic, msgs...)
}

// EndOffsets returns each partition's next offset (the high watermark).
func (c *Cluster) EndOffsets(t testing.TB, topic string) map[int]int64 {
	t.Helper()
	return c.listOffsets(t, topic, kafkago.LastOffset)
}

func (c *Cluster) listOffsets(t testing.TB, topic string, which int64) map[int]int64 {
	t.Helper()
	cl := c.Client()
	md, err := cl.Metadata(ctx(t), &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("kafkatest: metadata of %q: %v %v", topic, err, md)
	}
	var reqs []kafkago.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafkago.OffsetRequest{Partition: p.ID, Timestamp: which})
	}
	res, err := cl.ListOffsets(ctx(t), &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("kafkatest: list offsets of %q: %v", topic, err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("kafkatest: list offsets of %s/%d: %v", topic, p.Partition, p.Error)
		}
		if which == kafkago.FirstOffset {
			out[p.Partition] = p.FirstOffset
		} else {
			out[p.Partition] = p.LastOffset
		}
	}
	return out
}

// Committed returns a group's committed offset per partition of a topic
// (-1 where it has committed nothing).
func (c *Cluster) Committed(t testing.TB, group, topic string) map[int]int64 {
	t.Helper()
	ends := c.EndOffsets(t, topic)
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	res, err := c.Client().OffsetFetch(ctx(t), &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		t.Fatalf("kafkatest: committed offsets of %s on %s: %v", group, topic, err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// ReadAll reads every record of a topic, partition by partition, from the
// log start to the end offset seen when called.
func (c *Cluster) ReadAll(t testing.TB, topic string) []Message {
	t.Helper()
	starts := c.listOffsets(t, topic, kafkago.FirstOffset)
	ends := c.EndOffsets(t, topic)
	cl := c.Client()
	var out []Message
	for p := 0; p < len(ends); p++ {
		for off := starts[p]; off < ends[p]; {
			res, err := cl.Fetch(ctx(t), &kafkago.FetchRequest{Topic: topic, Partition: p, Offset: off, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: time.Second})
			if err == nil {
				err = res.Error
			}
			if err != nil {
				t.Fatalf("kafkatest: fetch %s/%d at %d: %v", topic, p, off, err)
			}
			msgs, err := readRecords(res.Records, p, off, ends[p])
			if err != nil {
				t.Fatalf("kafkatest: read %s/%d at %d: %v", topic, p, off, err)
			}
			if len(msgs) == 0 {
				t.Fatalf("kafkatest: fetch %s/%d at %d returned nothing before end offset %d", topic, p, off, ends[p])
			}
			out = append(out, msgs...)
			off = msgs[len(msgs)-1].Offset + 1
		}
	}
	return out
}

func readRecords(rr kafkago.RecordReader, partition int, from, end int64) ([]Message, error) {
	var out []Message
	for {
		r, err := rr.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		if r.Offset < from || r.Offset >= end {
			continue
		}
		m := Message{Partition: partition, Offset: r.Offset, Time: r.Time}
		if r.Key != nil {
			if m.Key, err = kafkago.ReadAll(r.Key); err != nil {
				return out, fmt.Errorf("key at %d: %w", r.Offset, err)
			}
		}
		if r.Value != nil {
			if m.Value, err = kafkago.ReadAll(r.Value); err != nil {
				return out, fmt.Errorf("value at %d: %w", r.Offset, err)
			}
		}
		out = append(out, m)
	}
}
