package checkpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	kafkago "github.com/segmentio/kafka-go"

	"sluice/plugins/sinks/elasticsearch/estest"
	"sluice/plugins/sinks/redis/redistest"
	"sluice/plugins/sources/generator"
	"sluice/plugins/sources/kafka/kafkatest"
)

// crashSQL is the statement set of the crash tests: a chain through a
// stream, 10-second CUBE rollups and sessions to Elasticsearch, and hash,
// sorted-set, set and running-total keys to Redis. Its aggregates do not
// depend on the order in which partitions interleave, and its lateness is
// far beyond the skew between partitions, so a replay that interleaves
// them differently computes the same rows.
var crashSQL = map[string]string{
	"10_tag.sql": `@Name("tag")
INSERT INTO tagged
SELECT *, device_type(ua) AS device, CASE WHEN action = 'purchase' THEN 1 ELSE 0 END AS bought
FROM clicks;`,
	"20_rollup.sql": `@Name("rollup")
@EventTime(column="ts", lateness="5m")
@Sink(type="elasticsearch", index="rollup-{yyyy.MM.dd}", flush="100ms")
SELECT action, device, COUNT(*) AS views, COUNT(DISTINCT user_id) AS users,
       SUM(latency_ms) AS latency_total, MIN(latency_ms) AS fastest, MAX(latency_ms) AS slowest,
       SUM(bought) AS purchases
FROM tagged
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(action, device);`,
	"30_sessions.sql": `@Name("sessions")
@EventTime(column="ts", lateness="5m")
@Sink(type="elasticsearch", index="sessions", flush="100ms")
SELECT user_id, FIRST(page) AS landing, LAST(page) AS exit_page, COUNT(DISTINCT page) AS pages, SUM(bought) AS purchases
FROM tagged
GROUP BY SESSION(ts, INTERVAL 2 MINUTE), user_id;`,
	"40_redis.sql": `@Name("minute_actions")
@EventTime(column="ts", lateness="5m")
@Sink(type="redis", mode="hash", key="actions:{window_start}", field="action", value="n", flush="100ms")
SELECT action, COUNT(*) AS n FROM tagged GROUP BY TUMBLE(ts, INTERVAL 1 MINUTE), action;

@Name("top_pages")
@EventTime(column="ts", lateness="5m")
@Sink(type="redis", mode="zset", key="pages:{window_start}", member="page", score="views", flush="100ms")
SELECT page, COUNT(*) AS views FROM tagged GROUP BY TUMBLE(ts, INTERVAL 5 MINUTE), page;

@Name("buyers")
@Sink(type="redis", mode="set", key="buyers", member="user_id", flush="100ms")
SELECT user_id FROM tagged WHERE action = 'purchase';

@Name("totals")
@Sink(type="redis", mode="string", key="total:{action}", value="n", flush="100ms")
SELECT action, COUNT(*) AS n FROM tagged GROUP BY action;`,
}

func writeQueries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, sql := range crashSQL {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// clickstream is n generated events in event-time order, and one more a
// day later whose watermark closes every window and session before it.
func clickstream(t *testing.T, n int) (events []generator.Event, closing []byte) {
	t.Helper()
	cfg := generator.DefaultConfig()
	cfg.Seed, cfg.Rate, cfg.Count = 5, 300, n
	cfg.Users = generator.UsersFor(cfg.Rate, cfg.BotFraction)
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		events = append(events, e)
	}
	last := events[len(events)-1].TS
	closing = fmt.Appendf(nil, `{"ts":%d,"user_id":"zz-closing","ua":"curl/8.0","page":"/closing","action":"closing","latency_ms":0}`, last+24*time.Hour.Milliseconds())
	return events, closing
}

// crashSetup is what outlives every sluice process of a test: Kafka, the
// Redis that holds sinks and checkpoints, and one Elasticsearch stand-in
// per run.
type crashSetup struct {
	kafka   *kafkatest.Cluster
	redis   string // host:port
	queries string
}

func newCrashSetup(t *testing.T, topic string, partitions int) *crashSetup {
	t.Helper()
	return &crashSetup{
		kafka:   kafkatest.Start(t, kafkatest.Topic(topic, partitions), kafkatest.DataDir(t.TempDir())),
		redis:   redistest.Start(t),
		queries: writeQueries(t),
	}
}

// run is one sluice deployment: its own consumer group, checkpoint key,
// Redis database for sinks and Elasticsearch.
type run struct {
	setup   *crashSetup
	topic   string
	name    string
	es      *estest.Server
	sinksDB int
	proc    *sluice
	esProxy *esProxy
	state   *redisProxy // nil: checkpoints go straight to Redis
}

// newRun declares stream clicks on topic; crashy runs reach Elasticsearch
// and the checkpoint store through proxies that can kill sluice at exact
// points.
func (cs *crashSetup) newRun(t *testing.T, name string, sinksDB int, topic string, crashy bool) *run {
	t.Helper()
	r := &run{setup: cs, topic: topic, name: name, es: estest.New(t), sinksDB: sinksDB}
	esURL, stateAddr := r.es.URL(), cs.redis
	if crashy {
		r.esProxy = newESProxy(t, r.es.URL())
		r.state = newRedisProxy(t, cs.redis)
		esURL, stateAddr = r.esProxy.URL(), r.state.Addr()
	}
	r.proc = newSluice(t, name,
		"--queries", cs.queries,
		"--kafka-brokers", strings.Join(cs.kafka.Brokers, ","),
		"--kafka-stream", "clicks="+topic+":"+name,
		"--node", name,
		"--state-redis-url", "redis://"+stateAddr+"/0",
		"--checkpoint-interval", "300ms",
		"--es-url", esURL,
		"--redis-url", fmt.Sprintf("redis://%s/%d", cs.redis, sinksDB),
		"--log-level", "info",
	)
	return r
}

// finish waits until the stream has taken want messages and every
// statement has processed them, then stops sluice gracefully (the last
// checkpoint flushes every sink) and checks that no event was late.
func (r *run) finish(t *testing.T, want int64) {
	t.Helper()
	waitFor(t, time.Minute, fmt.Sprintf("%s to consume %d messages", r.name, want), func() bool { return r.proc.positions("clicks") == want })
	m := r.proc.metrics()
	for k, v := range m {
		if strings.HasPrefix(k, "sluice_query_late_events_total") && v != 0 {
			t.Errorf("%s: %s = %v: a late event makes the result depend on how partitions interleave", r.name, k, v)
		}
	}
	r.proc.stop()
}

// compare checks that two runs left identical sink contents.
func compare(t *testing.T, cs *crashSetup, ref, got *run) {
	t.Helper()
	if a, b := ref.es.Indices(), got.es.Indices(); !slices.Equal(a, b) {
		t.Fatalf("indices %v, want %v", b, a)
	}
	docs := 0
	for _, ix := range ref.es.Indices() {
		want, have := ref.es.Docs(ix), got.es.Docs(ix)
		docs += len(want)
		var missing, extra, differ []string
		for id, src := range want {
			h, ok := have[id]
			switch {
			case !ok:
				missing = append(missing, id)
			case !bytes.Equal(h, src):
				differ = append(differ, fmt.Sprintf("%s: %s, want %s", id, h, src))
			}
		}
		for id := range have {
			if _, ok := want[id]; !ok {
				extra = append(extra, id)
			}
		}
		if len(missing)+len(extra)+len(differ) > 0 {
			t.Errorf("index %s: %d documents missing, %d extra, %d different (of %d); e.g. %v %v %v",
				ix, len(missing), len(extra), len(differ), len(want), first(missing), first(extra), first(differ))
		}
	}
	want, have := redisDump(t, cs.redis, ref.sinksDB), redisDump(t, cs.redis, got.sinksDB)
	var missing, differ []string
	for k, v := range want {
		h, ok := have[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case h != v:
			differ = append(differ, fmt.Sprintf("%s: %.200s, want %.200s", k, h, v))
		}
	}
	if len(missing)+len(differ) > 0 || len(have) != len(want) {
		t.Errorf("redis: %d keys, want %d; %d missing, %d different; e.g. %v %v", len(have), len(want), len(missing), len(differ), first(missing), first(differ))
	}
	if docs == 0 || len(want) == 0 {
		t.Fatalf("the reference run wrote %d documents and %d keys: nothing compared", docs, len(want))
	}
	t.Logf("compared %d Elasticsearch documents in %d indices and %d Redis keys", docs, len(ref.es.Indices()), len(want))
}

func first(s []string) []string { return s[:min(len(s), 1)] }

// A kill is one way to crash sluice.
type kill int

const (
	killAfterEvents kill = iota // after a random number of events: mid-window, sinks busy
	killMidFlush                // a _bulk request applied, its answer not yet received
	killMidStore                // a checkpoint stored, its offsets not yet committed
	killMidSnapshot             // while a checkpoint pauses the sources and drains
	killKinds
)

var killNames = [...]string{"after events", "mid-flush", "mid-checkpoint store", "mid-checkpoint snapshot"}

// crash kills r's sluice the given way and says what it hit.
func (r *run) crash(t *testing.T, rng *rand.Rand, k kill, scale int) string {
	t.Helper()
	hit := make(chan string, 1)
	switch k {
	case killAfterEvents:
		target := float64(scale/50 + rng.IntN(scale/10))
		waitFor(t, time.Minute, "events to kill after", func() bool {
			return r.proc.metrics()[`sluice_stream_events_total{stream="clicks"}`] >= target
		})
		r.proc.kill()
		hit <- fmt.Sprintf("after %.0f events into this run", target)
	case killMidFlush:
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		r.esProxy.arm(func(docs int) {
			r.proc.kill()
			hit <- fmt.Sprintf("after Elasticsearch applied a bulk of %d documents, before sluice saw the answer", docs)
		})
	case killMidStore:
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		r.state.arm(func() {
			r.proc.kill()
			ahead, err := storedAhead(r.setup, r.name, r.topic)
			if err != nil {
				hit <- "after Redis stored a checkpoint, but: " + err.Error()
				return
			}
			hit <- fmt.Sprintf("after Redis stored a checkpoint, before sluice committed its offsets (stored positions %d messages ahead of the commits)", ahead)
		})
	case killMidSnapshot:
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		waitFor(t, time.Minute, "a checkpoint in progress", func() bool {
			return r.proc.metrics()["sluice_checkpoint_in_progress"] == 1
		})
		r.proc.kill()
		hit <- "while a checkpoint was in progress"
	}
	select {
	case what := <-hit:
		return what
	case <-time.After(time.Minute):
		t.Fatalf("%s: the %s kill never happened", r.name, killNames[k])
		return ""
	}
}

// crashes kills and restarts r's sluice n times, one of each kind first,
// in an order and at points drawn from rng.
func (r *run) crashes(t *testing.T, rng *rand.Rand, n, scale int) {
	t.Helper()
	kinds := rng.Perm(int(killKinds))
	for len(kinds) < n {
		kinds = append(kinds, rng.IntN(int(killKinds)))
	}
	for i, k := range kinds[:n] {
		what := r.crash(t, rng, kill(k), scale)
		t.Logf("%s: kill -9 #%d %s: %s", r.name, i+1, killNames[k], what)
		r.proc.start()
	}
}

// crashSeed drives the kill points: fixed, so a failure repeats, unless
// SLUICE_CRASH_SEED asks for others.
func crashSeed(t *testing.T, fixed uint64) *rand.Rand {
	seed := fixed
	if s := os.Getenv("SLUICE_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SLUICE_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("kill points from seed %d", seed)
	return rand.New(rand.NewPCG(seed, 1))
}

func crashScale(t *testing.T) (events, kills int) {
	if testing.Short() {
		return 30_000, 4
	}
	return 200_000, 5
}

// TestCrashExactlyOnce produces a clickstream to a Kafka topic of three
// partitions, keyed by user, at a steady rate, and runs the statement set
// over it twice in separate sluice processes: once killed with SIGKILL at
// random points (after a random number of events, after Elasticsearch
// applied a bulk request whose answer sluice never saw, after a checkpoint
// was stored but before its offsets were committed, while a checkpoint
// drained the runtime) and restarted each time, and once, afterwards,
// without a crash. Every Elasticsearch document (id and source) and every
// Redis key must come out identical: nothing missing, nothing doubled.
func TestCrashExactlyOnce(t *testing.T) {
	started := time.Now()
	n, kills := crashScale(t)
	events, closing := clickstream(t, n)
	cs := newCrashSetup(t, "clicks", 3)
	crashy := cs.newRun(t, "crashy", 2, "clicks", true)
	crashy.proc.start()

	// Produce over about 1.5 s per kill, so that every kill finds work.
	produced := make(chan error, 1)
	go func() {
		produced <- produceClicks(cs.kafka.Brokers, events, time.Duration(kills)*1500*time.Millisecond)
	}()
	crashy.crashes(t, crashSeed(t, 5), kills, n)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	t.Logf("produced %d events (%s of event time)", n, time.Duration(events[n-1].TS-events[0].TS)*time.Millisecond)
	waitFor(t, time.Minute, "the crashed run to consume the clickstream", func() bool { return crashy.proc.positions("clicks") == int64(n) })

	ref := cs.newRun(t, "reference", 1, "clicks", false)
	ref.proc.start()
	waitFor(t, time.Minute, "the reference run to consume the clickstream", func() bool { return ref.proc.positions("clicks") == int64(n) })
	// The closing event goes in once both have consumed everything else,
	// so that no event is behind its watermark.
	cs.kafka.Produce(t, "clicks", kafkatest.Message{Partition: 0, Key: []byte("zz-closing"), Value: closing})
	ref.finish(t, int64(n+1))
	crashy.finish(t, int64(n+1))
	compare(t, cs, ref, crashy)
	if ahead, err := storedAhead(cs, "crashy", "clicks"); err != nil || ahead != 0 {
		t.Errorf("after the last checkpoint the group's commits are %d messages behind it (%v)", ahead, err)
	}
	t.Logf("took %v", time.Since(started))
}

// produceClicks writes events to three partitions by user, in chunks of
// a thousand spread evenly over d; each partition stays in event-time
// order.
func produceClicks(brokers []string, events []generator.Event, d time.Duration) error {
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second}
	const chunk = 1000
	pause := d / time.Duration((len(events)+chunk-1)/chunk)
	for i := 0; i < len(events); i += chunk {
		byPartition := make([][]kafkago.Record, 3)
		for _, e := range events[i:min(len(events), i+chunk)] {
			key := e.UserID()
			p := fnv32(key) % 3
			byPartition[p] = append(byPartition[p], kafkago.Record{
				Time: time.UnixMilli(e.TS), Key: kafkago.NewBytes([]byte(key)), Value: kafkago.NewBytes(e.AppendJSON(nil)),
			})
		}
		for p, recs := range byPartition {
			if len(recs) == 0 {
				continue
			}
			res, err := cl.Produce(context.Background(), &kafkago.ProduceRequest{
				Topic: "clicks", Partition: p, RequiredAcks: kafkago.RequireAll, Records: kafkago.NewRecordReader(recs...),
			})
			if err == nil {
				err = res.Error
			}
			if err != nil {
				return fmt.Errorf("produce %d events to partition %d: %w", len(recs), p, err)
			}
		}
		time.Sleep(pause)
	}
	return nil
}

// fnv32 partitions by key, as a keyed producer would.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// TestCrashCollectorExactlyOnce posts the clickstream to sluice's REST
// ingest in collector mode (the stream is Kafka-backed, so ingest publishes
// to its topic and answers 202 once Kafka acknowledged) while killing
// sluice at random points; a batch without a 202 is posted again after the
// restart. Every acknowledged event must be in the topic, and the sinks of
// the crashed run must equal those of a run that consumed the same topic
// without a crash.
func TestCrashCollectorExactlyOnce(t *testing.T) {
	started := time.Now()
	n, kills := crashScale(t)
	n /= 4
	events, closing := clickstream(t, n)
	// One partition: the order of a topic that a producer without keys
	// fills is the order it was posted in.
	cs := newCrashSetup(t, "collected", 1)
	crashy := cs.newRun(t, "collector", 2, "collected", true)
	crashy.proc.start()

	const batch = 500
	rng := crashSeed(t, 7)
	killAt := map[int]bool{}
	for len(killAt) < kills {
		killAt[1+rng.IntN(n/batch-1)] = true
	}
	acked, retried, restarts := 0, 0, 0
	for b := 0; b*batch < n; b++ {
		var body []byte
		for _, e := range events[b*batch : min(n, (b+1)*batch)] {
			body = append(e.AppendJSON(body), '\n')
		}
		if killAt[b] {
			// Kill while this batch is being posted or published, or
			// just after.
			go func(start int, delay time.Duration) {
				time.Sleep(delay)
				crashy.proc.killRun(start)
			}(crashy.proc.run(), time.Duration(rng.IntN(30))*time.Millisecond)
		}
		deadline := time.Now().Add(time.Minute)
		for attempt := 0; ; attempt++ {
			resp, err := http.Post("http://"+crashy.proc.addr+"/v1/streams/clicks/events", "application/x-ndjson", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					acked += bytes.Count(body, []byte("\n"))
					break
				}
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			if attempt == 0 {
				retried++
			}
			if time.Now().After(deadline) {
				t.Fatalf("batch %d not acknowledged within a minute: %v", b, err)
			}
			if !crashy.proc.running() {
				restarts++
				t.Logf("collector: kill -9 #%d during batch %d (%v)", restarts, b, err)
				crashy.proc.start()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if acked != n {
		t.Fatalf("%d events acknowledged, want %d", acked, n)
	}
	// Every acknowledged event is in Kafka; a batch posted again after a
	// failed attempt may be there twice.
	inTopic := cs.kafka.ReadAll(t, "collected")
	count := map[string]int{}
	for _, m := range inTopic {
		count[string(m.Value)]++
	}
	dupes := len(inTopic) - n
	for _, e := range events {
		if count[string(e.AppendJSON(nil))] == 0 {
			t.Fatalf("acknowledged event %s is not in the topic", e.AppendJSON(nil))
		}
	}
	if dupes < 0 || dupes > retried*batch {
		t.Fatalf("topic holds %d events for %d posted, %d batches retried", len(inTopic), n, retried)
	}
	t.Logf("collector: %d events acknowledged, %d batches retried, %d events twice in the topic", acked, retried, dupes)

	waitFor(t, time.Minute, "the collector run to consume the topic", func() bool { return crashy.proc.positions("clicks") == int64(len(inTopic)) })
	resp, err := http.Post("http://"+crashy.proc.addr+"/v1/streams/clicks/events", "application/json", bytes.NewReader(closing))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("posting the closing event: %v %v", resp, err)
	}
	resp.Body.Close()
	crashy.finish(t, int64(len(inTopic)+1))

	ref := cs.newRun(t, "reference", 1, "collected", false)
	ref.proc.start()
	ref.finish(t, int64(len(inTopic)+1))
	compare(t, cs, ref, crashy)
	t.Logf("took %v", time.Since(started))
}

// storedAhead compares the positions of a node's latest checkpoint with
// its group's committed offsets: it fails if a commit ran ahead of the
// store, and returns by how many messages the store is ahead.
func storedAhead(cs *crashSetup, node, topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: cs.redis})
	defer c.Close()
	doc, err := c.Get(ctx, "sluice:checkpoint:"+node).Bytes()
	if err != nil {
		return 0, fmt.Errorf("reading %s's checkpoint: %w", node, err)
	}
	var snap struct {
		Sources map[string]struct {
			Positions map[int]int64 `json:"positions"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(doc, &snap); err != nil {
		return 0, err
	}
	positions := snap.Sources["clicks"].Positions
	parts := make([]int, 0, len(positions))
	for p := range positions {
		parts = append(parts, p)
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(cs.kafka.Brokers...)}
	res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: node, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		return 0, fmt.Errorf("committed offsets of %s: %w", node, err)
	}
	var ahead int64
	for _, pc := range res.Topics[topic] {
		pos := positions[pc.Partition]
		if pc.CommittedOffset > pos {
			return 0, fmt.Errorf("partition %d: committed %d is past the stored checkpoint's %d", pc.Partition, pc.CommittedOffset, pos)
		}
		ahead += pos - max(pc.CommittedOffset, 0)
	}
	return ahead, nil
}
