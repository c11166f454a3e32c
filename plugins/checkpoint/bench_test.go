package checkpoint

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
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
// to a directory. late-events/op counts events the statements found
// behind their watermark (and dropped). Run it once per mode:
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
	c := kafkatest.Start(b, kafkatest.Topic("events", 3))
	produceClickstream(b, c, n)
	specs := shippedPipeline(b)
	modes := []struct {
		name     string
		align    bool
		interval time.Duration // 0: no checkpoints
	}{
		{"at-least-once", false, 0},
		{"aligned", true, 0},
		{"checkpoint=5s", true, 5 * time.Second},
		{"checkpoint=1s", true, time.Second},
	}
	runs := 0 // every run reads with a group of its own
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			var took, paused time.Duration
			var checkpoints, late, size, unaligned uint64
			for j := 0; j < b.N; j++ {
				runs++
				st := consumeOnce(b, c, specs, n, fmt.Sprintf("bench-%d", runs), mode.align, mode.interval)
				took += st.took
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
			b.ReportMetric(float64(n)*float64(b.N)/took.Seconds(), "events/s")
			b.ReportMetric(float64(checkpoints)/float64(b.N), "checkpoints/op")
			if checkpoints > 0 {
				b.ReportMetric(float64(paused.Milliseconds())/float64(checkpoints), "ms-paused/checkpoint")
				b.ReportMetric(float64(size)/(1<<20), "MiB/checkpoint")
			}
		})
	}
}

type runStats struct {
	took, paused             time.Duration
	checkpoints, late, bytes uint64
	unaligned                uint64 // handed on before a lagging partition caught up
}

// consumeOnce runs the pipeline over the whole topic with a fresh group.
func consumeOnce(b *testing.B, c *kafkatest.Cluster, specs func() []*operators.QuerySpec, n int, group string, align bool, interval time.Duration) runStats {
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
	start := time.Now()
	src, err := m.Add(ctx, "events", kafka.StreamConfig{Topic: "events", Group: group})
	if err != nil {
		b.Fatal(err)
	}
	if cp != nil {
		rt.EventTimeOnly("events")
		cp.Start()
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var sum int64
		for _, p := range src.Positions() {
			sum += p
		}
		if sum == int64(n) {
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
	st := runStats{took: time.Since(start)}
	for _, q := range rt.Queries() {
		st.late += q.Stats().Late
	}
	if ss, err := src.Stats(ctx); err == nil && ss.OutOfOrder != nil {
		st.unaligned = ss.OutOfOrder.Silent + ss.OutOfOrder.Memory
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

// produceClickstream writes n generated events to three partitions by
// user, each message stamped with its event time.
func produceClickstream(b *testing.B, c *kafkatest.Cluster, n int) {
	b.Helper()
	cfg := generator.DefaultConfig()
	cfg.Rate, cfg.Count = 2000, n
	cfg.Users = generator.UsersFor(cfg.Rate, cfg.BotFraction)
	g, err := generator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	parts := make([][]kafkatest.Message, 3)
	flush := func(p int) {
		c.Produce(b, "events", parts[p]...)
		parts[p] = parts[p][:0]
	}
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		key := e.UserID()
		p := int(fnv32(key) % 3)
		parts[p] = append(parts[p], kafkatest.Message{Partition: p, Key: []byte(key), Value: e.AppendJSON(nil), Time: time.UnixMilli(e.TS)})
		if len(parts[p]) == 2000 {
			flush(p)
		}
	}
	for p := range parts {
		if len(parts[p]) > 0 {
			flush(p)
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

// shippedPipeline compiles queries/*.sql; each call of the result builds
// the statements anew.
func shippedPipeline(b *testing.B) func() []*operators.QuerySpec {
	names, err := fs.Glob(queries.Files, "*.sql")
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
