package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sluice/operators"
	_ "sluice/plugins" // functions and aggregates
	"sluice/plugins/sources/kafka"
	"sluice/plugins/sources/kafka/kafkatest"
	"sluice/sqlengine"
)

// windowSQL counts events and sums v per 10-second window of ts and key
// k. Its
// lateness exceeds the span of the test events, so the order in which the
// two partitions interleave does not matter; a closing event a minute
// later ends them.
const windowSQL = `@Name("per10s")
@EventTime(column="ts", lateness="1m")
SELECT k, COUNT(*) AS n, SUM(v) AS total FROM ev GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), k`

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// node is one run of sluice in this process: a runtime with windowSQL, a
// Kafka manager and a checkpointer over a store.
type node struct {
	rt  *operators.Runtime
	cp  *Checkpointer
	sub *operators.Subscription
}

func startNode(t *testing.T, c *kafkatest.Cluster, store Store) *node {
	t.Helper()
	rt, cp, sub := checkpointed(t, c, store, "n1", windowSQL, quiet())
	n := &node{rt: rt, cp: cp, sub: sub}
	t.Cleanup(n.stop)
	return n
}

// checkpointed runs the statement sql in a runtime, with a Kafka manager
// and a checkpointer over store for the node, and subscribes to its rows.
func checkpointed(t *testing.T, c *kafkatest.Cluster, store Store, node, sql string, log *slog.Logger) (*operators.Runtime, *Checkpointer, *operators.Subscription) {
	t.Helper()
	rt := operators.NewRuntime(operators.RuntimeConfig{})
	specs, err := sqlengine.Compile(sql)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Deploy(specs[0]); err != nil {
		t.Fatal(err)
	}
	sub, err := rt.Subscribe(specs[0].Name, 1024)
	if err != nil {
		t.Fatal(err)
	}
	m := kafka.NewManager(kafka.Config{Brokers: c.Brokers, Node: node, CommitInterval: -1, Align: true, Logger: log}, rt)
	cp, err := New(Config{Store: store, Node: node, Interval: time.Hour, Logger: log}, rt, m)
	if err != nil {
		t.Fatal(err)
	}
	return rt, cp, sub
}

func (n *node) stop() {
	_ = n.cp.Close()
	n.rt.Close()
}

// rows reads output rows until want have come, as "start:k:n:total".
func (n *node) rows(t *testing.T, want int) []string {
	t.Helper()
	var out []string
	for _, r := range receive(t, "rows", n.sub.C, want) {
		out = append(out, fmt.Sprintf("%d:%s:%d:%d", r.Get("window_start").I, r.Get("k").S, r.Get("n").I, r.Get("total").I))
	}
	return out
}

// receive takes n values from c, failing after 30 seconds.
func receive[T any](t *testing.T, what string, c <-chan T, n int) []T {
	t.Helper()
	var out []T
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case v := <-c:
			out = append(out, v)
		case <-timeout:
			t.Fatalf("got %s %v, want %d", what, out, n)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// produce writes events i in [from, to): ts i seconds, v = i, k "a" below
// 25 and "b" from there, alternating between two partitions.
func produce(t *testing.T, c *kafkatest.Cluster, from, to int) {
	t.Helper()
	var msgs []kafkatest.Message
	for p := range 2 {
		for i := from; i < to; i++ {
			if i%2 == p {
				k := "a"
				if i >= 25 {
					k = "b"
				}
				msgs = append(msgs, kafkatest.Message{Partition: p, Value: fmt.Appendf(nil, `{"ts":%d,"v":%d,"k":%q}`, i*1000, i, k)})
			}
		}
	}
	c.Produce(t, "clicks", msgs...)
}

// closeWindows produces an event 100 s in, whose watermark (40 s) closes
// the windows before 40 s.
func closeWindows(t *testing.T, c *kafkatest.Cluster) {
	t.Helper()
	c.ProduceJSON(t, "clicks", 0, `{"ts":100000,"v":0,"k":"z"}`)
}

// TestGracefulRestartResumesExactly stops a node with its windows open
// and starts another on the same store: the windows carry over (the one
// at 20 s gains a group after the restore), and every event is counted
// once.
func TestGracefulRestartResumesExactly(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 2))
	store, err := NewDirStore(filepath.Join(t.TempDir(), "state"), "n1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	produce(t, c, 0, 25)

	first := startNode(t, c, store)
	if snap, err := first.cp.Restore(ctx); snap != nil || err != nil {
		t.Fatalf("Restore on an empty store = %v, %v", snap, err)
	}
	src, err := first.cp.Add(ctx, "ev", kafka.StreamConfig{Topic: "clicks"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "25 events", func() bool { p := src.Positions(); return p[0] == 13 && p[1] == 12 })
	first.stop() // the last checkpoint

	if committed := c.Committed(t, "sluice", "clicks"); committed[0] != 13 || committed[1] != 12 {
		t.Errorf("committed %v after the last checkpoint, want 13 and 12", committed)
	}
	latest, _, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := decode(latest)
	if err != nil {
		t.Fatal(err)
	}
	if src := snap.Sources["ev"]; src.Topic != "clicks" || src.Group != "sluice" || src.Start != "earliest" || fmt.Sprint(src.Positions) != "map[0:13 1:12]" {
		t.Errorf("checkpoint source = %+v", src)
	}
	if _, ok := snap.Statements["per10s"]; !ok || snap.Node != "n1" || snap.Version != Version {
		t.Errorf("checkpoint = node %q version %d statements %v", snap.Node, snap.Version, slices.Collect(func(yield func(string) bool) {
			for k := range snap.Statements {
				yield(k)
			}
		}))
	}

	produce(t, c, 25, 40)
	second := startNode(t, c, store)
	if _, err := second.cp.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	src, err = second.cp.Add(ctx, "ev", kafka.StreamConfig{Topic: "clicks"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "40 events", func() bool { p := src.Positions(); return p[0] == 20 && p[1] == 20 })
	closeWindows(t, c)
	got := second.rows(t, 5)
	want := []string{"0:a:10:45", "10000:a:10:145", "20000:a:5:110", "20000:b:5:135", "30000:b:10:345"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("windows %v, want %v", got, want)
	}
	// The rows leave while the closing event is processed; it is counted
	// as read right after.
	q, _ := second.rt.Query("per10s")
	waitFor(t, "the closing event to be counted", func() bool { return q.Stats().In >= 16 })
	if in := q.Stats().In; in != 16 {
		t.Errorf("the second run read %d events, want the 16 after the checkpoint", in)
	}
}

// TestRemoveCheckpointsFirst removes a stream: a checkpoint covering its
// last positions is stored and committed before its source stops.
func TestRemoveCheckpointsFirst(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 2))
	store, err := NewDirStore(t.TempDir(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	produce(t, c, 0, 7)
	n := startNode(t, c, store)
	src, err := n.cp.Add(ctx, "ev", kafka.StreamConfig{Topic: "clicks", Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "7 events", func() bool { p := src.Positions(); return p[0] == 4 && p[1] == 3 })
	if err := n.cp.Remove("ev"); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.cp.Get("ev"); ok {
		t.Error("the source still runs after Remove")
	}
	if err := n.cp.Remove("ev"); err == nil || !strings.Contains(err.Error(), "no Kafka source") {
		t.Errorf("second Remove = %v", err)
	}
	if committed := c.Committed(t, "g", "clicks"); committed[0] != 4 || committed[1] != 3 {
		t.Errorf("committed %v, want 4 and 3", committed)
	}
	latest, _, _ := store.Load(ctx)
	var doc struct {
		Seq     uint64                     `json:"seq"`
		Sources map[string]json.RawMessage `json:"sources"`
	}
	if err := json.Unmarshal(latest, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Seq != 1 || string(doc.Sources["ev"]) != `{"topic":"clicks","group":"g","start":"earliest","positions":{"0":4,"1":3}}` {
		t.Errorf("checkpoint %d: %s", doc.Seq, doc.Sources["ev"])
	}
}

// TestAddRestoredDeclaresStreamsAgain restarts a node whose stream was
// declared at run time: the checkpoint declares it again at its positions.
func TestAddRestoredDeclaresStreamsAgain(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 2))
	store, err := NewDirStore(t.TempDir(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	produce(t, c, 0, 15)
	first := startNode(t, c, store)
	if _, err := first.cp.Restore(ctx); err != nil { // nothing yet: a fresh start
		t.Fatal(err)
	}
	src, err := first.cp.Add(ctx, "ev", kafka.StreamConfig{Topic: "clicks", Group: "g", Start: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "15 events", func() bool { p := src.Positions(); return p[0] == 8 && p[1] == 7 })
	first.stop()

	produce(t, c, 15, 20)
	second := startNode(t, c, store)
	if _, err := second.cp.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	second.cp.AddRestored(ctx)
	src, ok := second.cp.Get("ev")
	if !ok {
		t.Fatal("the checkpoint's stream was not declared again")
	}
	if cfg := src.Config(); cfg.Topic != "clicks" || cfg.Group != "g" {
		t.Errorf("declared again as %s/%s", cfg.Topic, cfg.Group)
	}
	waitFor(t, "20 events", func() bool { p := src.Positions(); return p[0] == 10 && p[1] == 10 })
	closeWindows(t, c)
	if got := strings.Join(second.rows(t, 2), " "); got != "0:a:10:45 10000:a:10:145" {
		t.Errorf("windows %s", got)
	}
}

// TestEventTimeOnly lets the wall clock run an hour past a statement's
// input: without the mark the wall clock closes the window, with it the
// window waits for event time.
func TestEventTimeOnly(t *testing.T) {
	for _, mark := range []bool{false, true} {
		t.Run(fmt.Sprintf("marked=%v", mark), func(t *testing.T) {
			var clock atomic.Int64
			clock.Store(time.Now().UnixMilli())
			rt := operators.NewRuntime(operators.RuntimeConfig{TickInterval: time.Millisecond, Now: clock.Load})
			defer rt.Close()
			specs, err := sqlengine.Compile(`@Name("w") @EventTime(column="ts", idle="1ms") SELECT COUNT(*) AS n FROM raw GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);
@Name("copy") INSERT INTO ev SELECT * FROM src;
@Name("w2") @EventTime(column="ts", idle="1ms") SELECT COUNT(*) AS n FROM ev GROUP BY TUMBLE(ts, INTERVAL 10 SECOND)`)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range specs {
				if _, err := rt.Deploy(s); err != nil {
					t.Fatal(err)
				}
			}
			if mark {
				rt.EventTimeOnly("raw")
				rt.EventTimeOnly("src") // and ev, fed from it
			}
			for _, stream := range []string{"raw", "src"} {
				if err := rt.Ingest(stream, []*operators.Record{{Raw: []byte(`{"ts":1000}`)}}); err != nil {
					t.Fatal(err)
				}
			}
			stats := func(name string) operators.QueryStats {
				q, _ := rt.Query(name)
				return q.Stats()
			}
			waitFor(t, "both statements to read their event", func() bool { return stats("w").In == 1 && stats("w2").In == 1 })
			// The wall clock runs on a minute per step, as a real one
			// would: a statement's quiet period starts at its first tick
			// after the event, whenever that comes.
			if !mark {
				waitFor(t, "the wall clock to close both windows", func() bool {
					clock.Add(time.Minute.Milliseconds())
					return stats("w").Out == 1 && stats("w2").Out == 1
				})
				return
			}
			for range 100 { // a hundred minutes, over some hundred ticks
				clock.Add(time.Minute.Milliseconds())
				time.Sleep(time.Millisecond)
			}
			if w, w2 := stats("w").Out, stats("w2").Out; w != 0 || w2 != 0 {
				t.Errorf("event-time-only statements emitted %d and %d rows by the wall clock", w, w2)
			}
		})
	}
}

// unreadableStore cannot load and counts saves.
// countingStore counts saves and holds no checkpoint; down, it cannot be
// read.
type countingStore struct {
	saves atomic.Int32
	down  bool
}

func (s *countingStore) Save(context.Context, []byte) error { s.saves.Add(1); return nil }
func (s *countingStore) Load(context.Context) ([]byte, []byte, error) {
	if s.down {
		return nil, nil, fmt.Errorf("store down")
	}
	return nil, nil, nil
}
func (s *countingStore) String() string { return "counting" }

// A checkpoint that was not restored is kept for the next start: Close
// does not replace it with one of the fresh state, whether Restore failed
// or never ran (start-up stopped before it). A checkpointer that restored,
// even nothing, takes its last one.
func TestCloseAfterFailedRestoreKeepsTheCheckpoint(t *testing.T) {
	for _, tt := range []struct {
		name    string
		restore bool
		down    bool
		saves   int32
	}{
		{"restore failed", true, true, 0},
		{"never restored", false, false, 0},
		{"restored nothing", true, false, 1},
	} {
		store := &countingStore{down: tt.down}
		rt := operators.NewRuntime(operators.RuntimeConfig{})
		cp, err := New(Config{Store: store, Node: "n1", Logger: quiet()}, rt, kafka.NewManager(kafka.Config{Logger: quiet()}, rt))
		if err != nil {
			t.Fatal(err)
		}
		if tt.restore {
			_, err := cp.Restore(context.Background())
			if tt.down != (err != nil) || (tt.down && err.Error() != "store down") {
				t.Fatalf("%s: restore: %v", tt.name, err)
			}
		}
		if err := cp.Close(); err != nil {
			t.Fatal(err)
		}
		rt.Close()
		if got := store.saves.Load(); got != tt.saves {
			t.Errorf("%s: %d saves on close, want %d", tt.name, got, tt.saves)
		}
	}
}
func (s *countingStore) SavePartition(context.Context, string, int64, []byte) error { return nil }
func (s *countingStore) LoadPartitions(_ context.Context, keys []string) ([][]byte, error) {
	return make([][]byte, len(keys)), nil
}
