package checkpoint

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/generator"
	"sluice/plugins/sources/kafka"
	"sluice/plugins/sources/kafka/kafkatest"
	"sluice/queries"
	"sluice/sqlengine"
)

// BenchmarkKafkaPipeline consumes a generated clickstream from a Kafka
// topic of three partitions into the shipped pipeline (collector, bot
// detector, enrichment, sessionizer, distributor, metrics) and reports
// events/s from the source's start until every statement has processed
// every event: at-least-once (the source commits every second), aligned
// partitions without checkpoints, and checkpoints every 5 s and every 1 s
// to a directory; then the metrics statements alone, and a bare COUNT(*)
// that measures what consuming costs. late-events/op counts events the
// statements found behind their watermark (and dropped); cpu-µs/event is
// the process's CPU time per event, the in-process broker's included,
// which a shared machine's load disturbs less than events/s. Run it once
// per mode:
//
//	go test -run '^$' -bench KafkaPipeline -benchtime 1x ./plugins/checkpoint/
//
// SLUICE_BENCH_EVENTS sets the number of events (default 1,000,000).
func BenchmarkKafkaPipeline(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("SLUICE_BENCH_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("SLUICE_BENCH_EVENTS=%q: %v", s, err)
		}
	}
	c := kafkatest.Start(b, kafkatest.Topic("events", 3), kafkatest.Topic("sessionized", 3))
	produceClickstream(b, c, n)
	all, metrics := shippedPipeline(b, "*.sql"), shippedPipeline(b, "06_metrics.sql")
	count := func() []*operators.QuerySpec {
		specs, err := sqlengine.Compile(`SELECT COUNT(*) AS n FROM sessionized`)
		if err != nil {
			b.Fatal(err)
		}
		return specs
	}
	modes := []struct {
		name     string
		stream   string // the shipped stream the topic of that name feeds
		specs    func() []*operators.QuerySpec
		align    bool
		interval time.Duration // 0: no checkpoints
	}{
		{"at-least-once", "events", all, false, 0},
		{"aligned", "events", all, true, 0},
		{"checkpoint=5s", "events", all, true, 5 * time.Second},
		{"checkpoint=1s", "events", all, true, time.Second},
		{"metrics-only/checkpoint=5s", "sessionized", metrics, true, 5 * time.Second},
		{"count-only/checkpoint=5s", "sessionized", count, true, 5 * time.Second},
		{"count-only/at-least-once", "sessionized", count, false, 0},
	}
	runs := 0 // every run reads with a group of its own
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			var took, paused, cpu time.Duration
			var events int64
			var checkpoints, late, size, unaligned uint64
			for j := 0; j < b.N; j++ {
				runs++
				st := consumeOnce(b, c, mode.stream, mode.specs, fmt.Sprintf("bench-%d", runs), mode.align, mode.interval)
				took += st.took
				cpu += st.cpu
				events += st.events
				paused += st.paused
				checkpoints += st.checkpoints
				late += st.late
				size = max(size, st.bytes)
				unaligned += st.unaligned
			}
			if mode.align {
				b.ReportMetric(float64(unaligned)/float64(b.N), "unaligned/op")
			}
			b.ReportMetric(float64(late)/float64(b.N), "late-events/op")
			b.ReportMetric(float64(events)/took.Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(events), "cpu-µs/event")
			b.ReportMetric(float64(checkpoints)/float64(b.N), "checkpoints/op")
			if checkpoints > 0 {
				b.ReportMetric(float64(paused.Milliseconds())/float64(checkpoints), "ms-paused/checkpoint")
				b.ReportMetric(float64(size)/(1<<20), "MiB/checkpoint")
			}
		})
	}
}

type runStats struct {
	events                   int64
	took, paused             time.Duration
	cpu                      time.Duration // of the whole process, the in-process broker's included
	checkpoints, late, bytes uint64
	unaligned                uint64 // handed on before a lagging partition caught up
}

// consumeOnce runs the statements over the whole topic named stream with a
// fresh group.
func consumeOnce(b *testing.B, c *kafkatest.Cluster, stream string, specs func() []*operators.QuerySpec, group string, align bool, interval time.Duration) runStats {
	b.Helper()
	rt := operators.NewRuntime(operators.RuntimeConfig{})
	defer rt.Close()
	for _, s := range specs() {
		if _, err := rt.Deploy(s); err != nil {
			b.Fatal(err)
		}
	}
	commit := time.Duration(0)
	if align {
		commit = -1
	}
	m := kafka.NewManager(kafka.Config{Brokers: c.Brokers, Node: group, CommitInterval: commit, Align: align, Logger: quiet()}, rt)
	var cp *Checkpointer
	if interval > 0 {
		store, err := NewDirStore(b.TempDir(), group)
		if err != nil {
			b.Fatal(err)
		}
		if cp, err = New(Config{Store: store, Node: group, Interval: interval, Logger: quiet()}, rt, m); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	var n int64
	for _, end := range c.EndOffsets(b, stream) {
		n += end
	}
	start, cpu := time.Now(), processCPU(b)
	src, err := m.Add(ctx, stream, kafka.StreamConfig{Topic: stream, Group: group})
	if err != nil {
		b.Fatal(err)
	}
	if cp != nil {
		rt.EventTimeOnly(stream)
		cp.Start()
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var sum int64
		for _, p := range src.Positions() {
			sum += p
		}
		if sum == n {
			break
		}
		if time.Now().After(deadline) {
			ss, _ := src.Stats(ctx)
			b.Fatalf("stuck at %d of %d events: %+v", sum, n, ss)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := rt.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	st := runStats{took: time.Since(start), cpu: processCPU(b) - cpu, events: n}
	for _, q := range rt.Queries() {
		st.late += q.Stats().Late
	}
	if ss, err := src.Stats(ctx); err == nil && ss.OutOfOrder != nil {
		st.unaligned = ss.OutOfOrder.Silent
	}
	if cp == nil {
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
		return st
	}
	st.checkpoints, st.bytes = cp.stats.ok.Load(), cp.stats.bytes.Load()
	st.paused = time.Duration(cp.stats.pausedTotal.Load())
	if f := cp.stats.failed.Load(); f > 0 {
		b.Fatalf("%d checkpoints failed", f)
	}
	if err := cp.Close(); err != nil {
		b.Fatal(err)
	}
	return st
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// produceClickstream writes n generated events to the topic "events",
// and what the shipped collector and enrichment statements make of them to
// "sessionized" (for the metrics statements alone): three partitions by
// user, each message stamped with its event time.
func produceClickstream(b *testing.B, c *kafkatest.Cluster, n int) {
	b.Helper()
	cfg := generator.DefaultConfig()
	cfg.Rate, cfg.Count = 2000, n
	cfg = cfg.WithUsersForRate()
	g, err := generator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var stages []operators.Operator
	for _, name := range []string{"01_collector.sql", "03_enrichment.sql"} {
		stages = append(stages, shippedPipeline(b, name)()[0].Build(&operators.Counters{}))
	}
	events, enriched := newPartitioner(b, c, "events"), newPartitioner(b, c, "sessionized")
	var batch []*operators.Record
	enrich := func() {
		for _, op := range stages {
			var out []*operators.Record
			op.Process(batch, func(rows []*operators.Record) { out = append(out, rows...) })
			batch = out
		}
		for _, r := range batch {
			enriched.add(r.Get("user_id").Text(), r.AppendJSON(nil), r.Get("ts").I)
		}
		batch = batch[:0]
	}
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		raw := e.AppendJSON(nil)
		events.add(e.UserID(), raw, e.TS)
		if batch = append(batch, &operators.Record{Raw: raw, Arrival: e.TS}); len(batch) == 1000 {
			enrich()
		}
	}
	enrich()
	events.flush()
	enriched.flush()
}

// partitioner produces to three partitions by key, 2000 messages a request.
type partitioner struct {
	b     *testing.B
	c     *kafkatest.Cluster
	topic string
	parts [3][]kafkatest.Message
}

func newPartitioner(b *testing.B, c *kafkatest.Cluster, topic string) *partitioner {
	return &partitioner{b: b, c: c, topic: topic}
}

func (w *partitioner) add(key string, value []byte, ts int64) {
	p := int(fnv32(key) % 3)
	w.parts[p] = append(w.parts[p], kafkatest.Message{Partition: p, Key: []byte(key), Value: value, Time: time.UnixMilli(ts)})
	if len(w.parts[p]) == 2000 {
		w.c.Produce(w.b, w.topic, w.parts[p]...)
		w.parts[p] = w.parts[p][:0]
	}
}

func (w *partitioner) flush() {
	for p := range w.parts {
		if len(w.parts[p]) > 0 {
			w.c.Produce(w.b, w.topic, w.parts[p]...)
			w.parts[p] = w.parts[p][:0]
		}
	}
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// shippedPipeline compiles the shipped files matching pattern; each call
// of the result builds the statements anew.
func shippedPipeline(b *testing.B, pattern string) func() []*operators.QuerySpec {
	names, err := fs.Glob(queries.Files, pattern)
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(names)
	var src []string
	for _, name := range names {
		text, err := fs.ReadFile(queries.Files, name)
		if err != nil {
			b.Fatal(err)
		}
		src = append(src, string(text))
	}
	return func() []*operators.QuerySpec {
		var specs []*operators.QuerySpec
		for _, s := range src {
			compiled, err := sqlengine.Compile(s)
			if err != nil {
				b.Fatal(err)
			}
			specs = append(specs, compiled...)
		}
		return specs
	}
}
