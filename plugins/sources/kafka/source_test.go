package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"sluice/operators"
	"sluice/plugins/sources/kafka/kafkatest"
)

func open(t *testing.T, cfg Config, tg Ingester) *Source {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	s, err := Open(cfg, tg)
	if err != nil {
		t.Fatalf("open source: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type sent struct {
	partition int
	offset    int64
	key       string // "" means no key
	value     string
	ts        int64
}

// produceKnown writes n messages over the topic's partitions, some keyed,
// with explicit timestamps, and returns what each one is.
func produceKnown(t *testing.T, c *kafkatest.Cluster, topic string, partitions, n int) []sent {
	t.Helper()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	msgs := make([]kafkatest.Message, n)
	out := make([]sent, n)
	for i := range msgs {
		p := i % partitions
		ts := base + int64(i)*1000
		v := fmt.Sprintf(`{"n":%d,"user":"u%d","nested":{"p":%d}}`, i, i%3, p)
		msgs[i] = kafkatest.Message{Partition: p, Value: []byte(v), Time: time.UnixMilli(ts)}
		out[i] = sent{partition: p, value: v, ts: ts}
		if i%2 == 0 {
			out[i].key = fmt.Sprintf("k%d", i)
			msgs[i].Key = []byte(out[i].key)
		}
	}
	// Produce partition by partition so each run is one request.
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Partition < msgs[j].Partition })
	sort.SliceStable(out, func(i, j int) bool { return out[i].partition < out[j].partition })
	for i, off := range c.Produce(t, topic, msgs...) {
		out[i].offset = off
	}
	return out
}

// byPosition sorts records by partition, then offset.
func byPosition(recs []*operators.Record) []*operators.Record {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if pa, pb := a.Get(FieldPartition).I, b.Get(FieldPartition).I; pa != pb {
			return pa < pb
		}
		return a.Get(FieldOffset).I < b.Get(FieldOffset).I
	})
	return recs
}

func TestConsumeRecords(t *testing.T) {
	for _, eventTime := range []bool{false, true} {
		t.Run(fmt.Sprintf("event_time=%v", eventTime), func(t *testing.T) {
			c := kafkatest.Start(t, kafkatest.Topic("events", 3))
			want := produceKnown(t, c, "events", 3, 30)
			tg := newTarget()
			before := time.Now().UnixMilli()
			s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", EventTime: eventTime, BatchSize: 7}, tg)
			waitFor(t, "30 records", func() bool { return tg.count("ev") >= 30 })
			after := time.Now().UnixMilli()

			got := tg.records("ev")
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			// Within a partition records arrive in offset order.
			last := map[int64]int64{}
			for _, r := range got {
				p, off := r.Get(FieldPartition).I, r.Get(FieldOffset).I
				if prev, ok := last[p]; ok && off != prev+1 {
					t.Fatalf("partition %d: offset %d after %d", p, off, prev)
				}
				last[p] = off
			}
			for i, r := range byPosition(got) {
				w := want[i]
				if r.Schema != Schema {
					t.Fatalf("record %d does not share the source schema", i)
				}
				if string(r.Raw) != w.value {
					t.Errorf("record %d raw = %s, want %s", i, r.Raw, w.value)
				}
				wantKey := operators.Null()
				if w.key != "" {
					wantKey = operators.Str(w.key)
				}
				checks := []struct {
					field string
					got   operators.Value
					want  operators.Value
				}{
					{FieldKey, r.Get(FieldKey), wantKey},
					{FieldPartition, r.Get(FieldPartition), operators.Int(int64(w.partition))},
					{FieldOffset, r.Get(FieldOffset), operators.Int(w.offset)},
					{FieldTimestamp, r.Get(FieldTimestamp), operators.Int(w.ts)},
					{"nested.p", r.Get("nested", "p"), operators.Int(int64(w.partition))},
				}
				for _, ck := range checks {
					if ck.got != ck.want {
						t.Errorf("record %d %s = %v, want %v", i, ck.field, ck.got, ck.want)
					}
				}
				if eventTime && r.Arrival != w.ts {
					t.Errorf("record %d arrival = %d, want the Kafka timestamp %d", i, r.Arrival, w.ts)
				}
				if !eventTime && (r.Arrival < before || r.Arrival > after) {
					t.Errorf("record %d arrival = %d, want the read time in [%d, %d]", i, r.Arrival, before, after)
				}
			}
			first := byPosition(got)[0]
			wantJSON := fmt.Sprintf(`{"n":0,"user":"u0","nested":{"p":0},"_kafka_key":"k0","_kafka_partition":0,"_kafka_offset":0,"_kafka_timestamp":%d}`, want[0].ts)
			if js := first.String(); js != wantJSON {
				t.Errorf("record JSON = %s, want %s", js, wantJSON)
			}
			waitFor(t, "positions", func() bool { return len(s.Positions()) == 3 })
			if pos := s.Positions(); pos[0] != 10 || pos[1] != 10 || pos[2] != 10 {
				t.Errorf("positions = %v, want 10 on each partition", pos)
			}
		})
	}
}

func TestBackpressureRetriedWithoutLossOrDuplicates(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2))
	want := produceKnown(t, c, "events", 2, 200)
	tg := newTarget()
	// Refuse the first five calls, then every other call.
	tg.refuse = func(n int, _ []*operators.Record) bool { return n <= 5 || n%2 == 0 }
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", BatchSize: 16}, tg)
	waitFor(t, "200 records", func() bool { return tg.count("ev") >= 200 })
	waitFor(t, "positions", func() bool { p := s.Positions(); return p[0] == 100 && p[1] == 100 })

	got := byPosition(tg.records("ev"))
	if len(got) != 200 {
		t.Fatalf("got %d records, want 200", len(got))
	}
	for i, r := range got {
		if r.Get(FieldPartition).I != int64(want[i].partition) || r.Get(FieldOffset).I != want[i].offset {
			t.Fatalf("record %d at %d/%d, want %d/%d (lost or doubled)", i,
				r.Get(FieldPartition).I, r.Get(FieldOffset).I, want[i].partition, want[i].offset)
		}
	}
	tg.mu.Lock()
	refused := tg.refused
	tg.mu.Unlock()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if refused < 5 || st.Retries != uint64(refused) {
		t.Errorf("target refused %d calls, source counted %d retries; want equal and at least 5", refused, st.Retries)
	}
}

// TestWaitsWhileStreamIsFull: a source hands nothing on while its stream
// holds pendingBatches batches its statements have not taken, and
// everything once they take them.
func TestWaitsWhileStreamIsFull(t *testing.T) {
	for _, align := range []bool{false, true} {
		t.Run(fmt.Sprintf("align=%v", align), func(t *testing.T) {
			c := kafkatest.Start(t, kafkatest.Topic("events", 2))
			produceKnown(t, c, "events", 2, 100)
			tg := newTarget()
			full := true
			tg.pending = func() int {
				if full {
					return pendingBatches * 10
				}
				return pendingBatches*10 - 1
			}
			s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", BatchSize: 10, Align: align, CommitInterval: -1}, tg)
			waitFor(t, "the source to ask three times", func() bool { tg.mu.Lock(); defer tg.mu.Unlock(); return tg.asked >= 3 })
			if n := tg.count("ev"); n != 0 {
				t.Fatalf("%d records handed on to a full stream", n)
			}
			tg.mu.Lock()
			full = false
			tg.mu.Unlock()
			waitFor(t, "100 records", func() bool { return tg.count("ev") == 100 })
			if st, err := s.Stats(context.Background()); err != nil || st.Retries < 3 {
				t.Errorf("backpressure_retries %d (%v), want the waits counted", st.Retries, err)
			}
		})
	}
}

func TestPoisonMessagesDeadLettered(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 1))
	c.Produce(t, "events",
		kafkatest.Message{Value: []byte(`{"a":1}`)},
		kafkatest.Message{Key: []byte("bad"), Value: []byte(`not json`)},
		kafkatest.Message{Value: []byte(`[1,2]`)},
		kafkatest.Message{Value: []byte(`{"a":`)},
		kafkatest.Message{Value: []byte(``)},
		kafkatest.Message{Value: []byte(` {"a":2} `)},
	)
	tg := newTarget()
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev"}, tg)
	waitFor(t, "positions past the last message", func() bool { return s.Positions()[0] == 6 })

	got := tg.records("ev")
	if len(got) != 2 || got[0].Get("a") != operators.Int(1) || got[1].Get("a") != operators.Int(2) {
		t.Fatalf("stream records = %v, want a=1 and a=2", got)
	}
	dead := tg.records(operators.DeadLetterStream)
	want := []string{
		`{"stream":"ev","source":"kafka","reason":"message value is not a JSON object (starts with 'n')","topic":"events","partition":0,"offset":1,"key":"bad","value":"not json"}`,
		`{"stream":"ev","source":"kafka","reason":"message value is not a JSON object (starts with '[')","topic":"events","partition":0,"offset":2,"key":null,"value":"[1,2]"}`,
		`{"stream":"ev","source":"kafka","reason":"message value is not valid JSON: unexpected end of input, expected a value at byte 5","topic":"events","partition":0,"offset":3,"key":null,"value":"{\"a\":"}`,
		`{"stream":"ev","source":"kafka","reason":"empty message value","topic":"events","partition":0,"offset":4,"key":null,"value":""}`,
	}
	if len(dead) != len(want) {
		t.Fatalf("dead letters = %v, want %d", dead, len(want))
	}
	for i, d := range dead {
		if d.String() != want[i] {
			t.Errorf("dead letter %d = %s\nwant %s", i, d, want[i])
		}
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Consumed != 2 || st.DeadLetters != 4 {
		t.Errorf("stats consumed %d, dead letters %d; want 2 and 4", st.Consumed, st.DeadLetters)
	}
}

// TestOffsetsResumeExactly closes a source while its target refuses
// everything after the first records, and checks that the group committed
// exactly what was handed on: reopening delivers the rest, once each.
func TestOffsetsResumeExactly(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2))
	want := produceKnown(t, c, "events", 2, 60)

	first := newTarget()
	first.refuse = func(_ int, _ []*operators.Record) bool { return len(first.streams["ev"]) >= 20 }
	cfg := Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", BatchSize: 5, CommitInterval: time.Hour}
	s1 := open(t, cfg, first)
	waitFor(t, "the first records and a refusal", func() bool {
		first.mu.Lock()
		defer first.mu.Unlock()
		return len(first.streams["ev"]) >= 20 && first.refused > 0
	})
	if err := s1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	handed := map[int]int64{}
	for _, r := range first.records("ev") {
		p := int(r.Get(FieldPartition).I)
		handed[p] = max(handed[p], r.Get(FieldOffset).I+1)
	}
	committed := c.Committed(t, "g", "events")
	for p := range 2 {
		wantC, ok := handed[p]
		if !ok {
			wantC = -1
		}
		if committed[p] != wantC {
			t.Errorf("partition %d committed %d, want %d (offset after the last record handed on)", p, committed[p], wantC)
		}
	}

	more := produceKnown(t, c, "events", 2, 10)
	second := newTarget()
	open(t, cfg, second)
	total := 70 - len(first.records("ev"))
	waitFor(t, "the rest", func() bool { return second.count("ev") >= total })

	all := byPosition(append(first.records("ev"), second.records("ev")...))
	wantAll := append(append([]sent(nil), want...), more...)
	sort.SliceStable(wantAll, func(i, j int) bool {
		if wantAll[i].partition != wantAll[j].partition {
			return wantAll[i].partition < wantAll[j].partition
		}
		return wantAll[i].offset < wantAll[j].offset
	})
	if len(all) != len(wantAll) {
		t.Fatalf("got %d records over both runs, want %d", len(all), len(wantAll))
	}
	for i, r := range all {
		if string(r.Raw) != wantAll[i].value || r.Get(FieldOffset).I != wantAll[i].offset {
			t.Fatalf("record %d = %s at offset %d, want %s at %d", i, r.Raw, r.Get(FieldOffset).I, wantAll[i].value, wantAll[i].offset)
		}
	}
}

func TestStatsLagAndManualCommit(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2))
	c.ProduceJSON(t, "events", 0, repeat(`{"p":0}`, 10)...)
	c.ProduceJSON(t, "events", 1, repeat(`{"p":1}`, 4)...)
	tg := newTarget()
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", CommitInterval: -1}, tg)
	waitFor(t, "14 records", func() bool { p := s.Positions(); return p[0] == 10 && p[1] == 4 })

	ctx := context.Background()
	check := func(when string, want []PartitionStats) {
		t.Helper()
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatalf("%s: stats: %v", when, err)
		}
		if fmt.Sprint(st.Partitions) != fmt.Sprint(want) {
			t.Errorf("%s: partitions = %+v\nwant %+v", when, st.Partitions, want)
		}
	}
	// Nothing is committed without a checkpointer's Commit.
	check("before commit", []PartitionStats{
		{Partition: 0, Position: 10, Committed: -1, End: 10, Lag: 10},
		{Partition: 1, Position: 4, Committed: -1, End: 4, Lag: 4},
	})
	if err := s.Commit(ctx, s.Positions()); err != nil {
		t.Fatal(err)
	}
	check("after commit", []PartitionStats{
		{Partition: 0, Position: 10, Committed: 10, End: 10, Lag: 0},
		{Partition: 1, Position: 4, Committed: 4, End: 4, Lag: 0},
	})
	c.ProduceJSON(t, "events", 0, repeat(`{"p":0}`, 3)...)
	waitFor(t, "3 more", func() bool { return s.Positions()[0] == 13 })
	check("after 3 more", []PartitionStats{
		{Partition: 0, Position: 13, Committed: 10, End: 13, Lag: 3},
		{Partition: 1, Position: 4, Committed: 4, End: 4, Lag: 0},
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "g", "events"); got[0] != 10 || got[1] != 4 {
		t.Errorf("committed after close = %v, want 10 and 4: a checkpointing source commits only on Commit", got)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Topic: "t", Stream: "s"}, "kafka not configured: set --kafka-brokers"},
		{Config{Brokers: []string{"x:1"}, Stream: "s"}, `invalid kafka stream "s": topic is required`},
		{Config{Brokers: []string{"x:1"}, Topic: "t"}, `invalid kafka stream: stream name is required (topic "t")`},
		{Config{Brokers: []string{"x:1"}, Topic: "t", Stream: "s", Start: "oldest"}, `invalid kafka stream "s": start must be "earliest" or "latest", not "oldest"`},
	}
	for _, tt := range tests {
		_, err := Open(tt.cfg, newTarget())
		if err == nil || err.Error() != tt.want {
			t.Errorf("Open(%+v) error = %v, want %q", tt.cfg, err, tt.want)
		}
		if strings.Contains(tt.want, "--kafka-brokers") && !errors.Is(err, operators.ErrNotConfigured) {
			t.Errorf("error %v does not wrap operators.ErrNotConfigured", err)
		}
	}
}

// TestRebalanceDoesNotRedeliver makes the group rebalance under a source
// that has committed nothing: the group's (absent) committed offsets would
// start its partitions over, and the source must read on from its own
// positions instead.
func TestRebalanceDoesNotRedeliver(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2), kafkatest.Topic("other", 1))
	c.ProduceJSON(t, "events", 0, repeat(`{"p":0}`, 6)...)
	c.ProduceJSON(t, "events", 1, repeat(`{"p":1}`, 4)...)
	tg := newTarget()
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", CommitInterval: -1}, tg)
	waitFor(t, "10 records", func() bool { p := s.Positions(); return p[0] == 6 && p[1] == 4 })

	// A second member joining the group (for another topic) rebalances it.
	waitFor(t, "the first generation", func() bool { return s.generations.Load() == 1 })
	other := open(t, Config{Brokers: c.Brokers, Topic: "other", Group: "g", Stream: "other", CommitInterval: -1}, newTarget())
	waitFor(t, "a rebalance of the first source", func() bool { return s.generations.Load() > 1 })
	c.ProduceJSON(t, "other", 0, `{"o":1}`)
	waitFor(t, "the second member to consume", func() bool { return other.Positions()[0] == 1 })
	c.ProduceJSON(t, "events", 0, repeat(`{"p":0}`, 2)...)
	waitFor(t, "2 more", func() bool { return s.Positions()[0] == 8 })
	got := tg.records("ev")
	if len(got) != 12 {
		t.Fatalf("got %d records, want 12 (10, then 2 after the rebalance, none twice)", len(got))
	}
	seen := map[[2]int64]bool{}
	for _, r := range got {
		k := [2]int64{r.Get(FieldPartition).I, r.Get(FieldOffset).I}
		if seen[k] {
			t.Errorf("partition %d offset %d handed on twice", k[0], k[1])
		}
		seen[k] = true
	}
}

// TestResumeFromCheckpoint starts a group at a restored checkpoint's
// positions, whatever the group committed before.
func TestResumeFromCheckpoint(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2))
	want := produceKnown(t, c, "events", 2, 20) // offsets 0..9 on each partition
	first := newTarget()
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev"}, first)
	waitFor(t, "20 records", func() bool { return first.count("ev") == 20 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	tg := newTarget()
	resume := map[int]int64{0: 7, 1: 3}
	s = open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", CommitInterval: -1, Resume: resume}, tg)
	if pos := s.Positions(); fmt.Sprint(pos) != fmt.Sprint(resume) {
		t.Errorf("positions before consuming = %v, want %v", pos, resume)
	}
	waitFor(t, "the records after the checkpoint", func() bool { return tg.count("ev") == 3+7 })
	var wantAfter []sent
	for _, w := range want {
		if w.offset >= resume[w.partition] {
			wantAfter = append(wantAfter, w)
		}
	}
	got := byPosition(tg.records("ev"))
	for i, r := range got {
		if int(r.Get(FieldPartition).I) != wantAfter[i].partition || r.Get(FieldOffset).I != wantAfter[i].offset {
			t.Fatalf("record %d at %d/%d, want %d/%d", i, r.Get(FieldPartition).I, r.Get(FieldOffset).I, wantAfter[i].partition, wantAfter[i].offset)
		}
	}
	if got := c.Committed(t, "g", "events"); got[0] != 7 || got[1] != 3 {
		t.Errorf("committed = %v, want the checkpoint's 7 and 3", got)
	}
}

// TestTransactionMarkers reads a topic a transactional producer wrote: two
// committed transactions around an aborted one. The commit and abort
// markers are neither events nor dead letters, and the positions pass
// them. kafka-go cannot tell an aborted transaction's records apart, so
// they are read as committed ones; the abort is counted and logged.
func TestTransactionMarkers(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 1))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Brokers...), kgo.TransactionalID("tx"), kgo.DefaultProduceTopic("events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	for txn, commit := range []bool{true, false, true} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			v := fmt.Sprintf(`{"txn":%d,"i":%d}`, txn, i)
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	tg := newTarget()
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev"}, tg)
	// Offsets 0-1, 3-4 and 6-7 are records; 2, 5 and 8 the markers.
	waitFor(t, "positions past the last marker", func() bool { return s.Positions()[0] == 9 })

	var got []string
	for _, r := range tg.records("ev") {
		got = append(got, fmt.Sprintf("%s@%d", r.Raw, r.Get(FieldOffset).I))
	}
	want := []string{`{"txn":0,"i":0}@0`, `{"txn":0,"i":1}@1`, `{"txn":1,"i":0}@3`, `{"txn":1,"i":1}@4`, `{"txn":2,"i":0}@6`, `{"txn":2,"i":1}@7`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("records = %v\nwant %v", got, want)
	}
	if dead := tg.records(operators.DeadLetterStream); len(dead) != 0 {
		t.Errorf("dead letters = %v, want none", dead)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Consumed != 6 || st.DeadLetters != 0 || st.Aborted != 1 {
		t.Errorf("stats consumed %d, dead letters %d, aborted %d; want 6, 0, 1", st.Consumed, st.DeadLetters, st.Aborted)
	}
}
