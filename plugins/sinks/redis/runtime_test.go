package redis

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sinks/redis/redistest"
)

// passThrough emits its input: a statement that is only its sinks.
type passThrough struct{}

func (passThrough) Process(batch []*operators.Record, emit operators.Emit) { emit(batch) }
func (passThrough) Tick(int64, operators.Emit)                             {}
func (passThrough) Finish(operators.Emit)                                  {}
func (passThrough) StateSize() int                                         { return 0 }

// With Redis down, the sink's buffer fills, the statement waits, the
// queues behind it fill, and ingest is refused (429) instead of memory
// growing; once Redis is back, every accepted event lands.
func TestRedisDownReachesIngestAsBackpressure(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	rt := operators.NewRuntime(operators.RuntimeConfig{Env: &operators.Env{RedisURL: srv.URL()}, QueueSize: 2, QueryQueue: 2})
	t.Cleanup(rt.Close)
	// A statement stops only once its sink takes its rows: bring Redis back
	// before rt.Close if the test fails while it is down.
	t.Cleanup(srv.Restart)
	q, err := rt.Deploy(&operators.QuerySpec{
		Name: "dau", Source: "events", Columns: []string{"*"},
		Sinks: []operators.SinkDecl{{Type: "redis", Args: map[string]string{
			"mode": "set", "key": "dau:{date}", "member": "mid",
			"batch": "10", "buffer": "20", "flush": "5ms", "backoff": "5ms", "max_backoff": "20ms",
		}}},
		Build: func(*operators.Counters) operators.Operator { return passThrough{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	batch := func(n int) []*operators.Record {
		var out []*operators.Record
		for i := range 10 {
			out = append(out, &operators.Record{Raw: fmt.Appendf(nil, `{"date":"2026-11-21","mid":"m%03d"}`, n*10+i)})
		}
		return out
	}

	srv.Stop()
	accepted := 0
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := rt.Ingest("events", batch(accepted))
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, operators.ErrBackpressure):
			t.Fatal(err)
		case q.Stats().Sinks[0].Counters["buffered"] == 20:
			// Refused while the sink is full: back-pressure reached ingest.
		default:
			time.Sleep(time.Millisecond) // the queues behind the sink are still draining
			continue
		}
		if err != nil {
			break
		}
		if accepted > 100 || time.Now().After(deadline) {
			t.Fatalf("ingest accepted %d batches with Redis down; back-pressure never reached it", accepted)
		}
	}
	// 20 rows in the sink buffer, one batch held by the statement, two in its queue, two in the stream's.
	if accepted > 8 {
		t.Fatalf("ingest accepted %d batches of 10 before refusing; the bounded queues hold at most 8", accepted)
	}
	for q.Stats().Sinks[0].Counters["retries"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sink status with Redis down: %+v", q.Stats().Sinks[0])
		}
		time.Sleep(time.Millisecond)
	}

	srv.Restart()
	for rt.Ingest("events", batch(accepted)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("ingest still refused after Redis came back")
		}
		time.Sleep(time.Millisecond)
	}
	accepted++
	// Every accepted batch reaches the sink before it flushes.
	for q.Stats().In < uint64(10*accepted) {
		if time.Now().After(deadline) {
			t.Fatalf("statement read %d of %d events", q.Stats().In, 10*accepted)
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.FlushSinks(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.SCard(ctx, "dau:2026-11-21").Val(); n != int64(10*accepted) {
		t.Fatalf("SCARD dau:2026-11-21 = %d, want %d accepted events", n, 10*accepted)
	}
	if st := q.Stats().Sinks[0]; st.Counters["acked"] != uint64(10*accepted) || st.Counters["dead_lettered"] != 0 || st.Writes != uint64(10*accepted) {
		t.Fatalf("sink status after recovery: %+v", st)
	}
}
