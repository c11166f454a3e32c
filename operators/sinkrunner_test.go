package operators_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
)

// gatedSender delivers nothing until open is closed, then records rows.
type gatedSender struct {
	open chan struct{}
	mu   sync.Mutex
	got  []string
}

func (g *gatedSender) send(ctx context.Context, rows []*operators.Record) (buffer.Result, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return buffer.Result{}, ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range rows {
		g.got = append(g.got, r.String())
	}
	return buffer.Result{}, nil
}

// A statement stopped while its sink's buffer is full: the rows the buffer
// queued are delivered and counted as writes; only the rest are
// dead-lettered and counted as failures.
func TestStoppedWriteDeadLettersOnlyRowsTheSinkDidNotQueue(t *testing.T) {
	send := &gatedSender{open: make(chan struct{})}
	operators.RegisterSink(operators.SinkPlugin{Name: "test_partial_buffer", New: func(cfg operators.SinkConfig) (operators.Sink, error) {
		opt := buffer.Options{Capacity: 2, MaxBatch: 2, Interval: time.Millisecond,
			MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, CloseTimeout: time.Second}
		return buffer.New(cfg.Query, "test_partial_buffer", cfg.Env, opt, send.send), nil
	}})
	rt := operators.NewRuntime(operators.RuntimeConfig{StopGrace: 50 * time.Millisecond})
	defer rt.Close()
	pass := func(name, source string) *operators.QuerySpec {
		return &operators.QuerySpec{Name: name, Source: source, Build: func(*operators.Counters) operators.Operator {
			return &operators.Map{Extract: operators.NewExtractor(nil), Star: true}
		}}
	}
	if _, err := rt.Deploy(pass("dead", operators.DeadLetterStream)); err != nil {
		t.Fatal(err)
	}
	dead, err := rt.Subscribe("dead", 16)
	if err != nil {
		t.Fatal(err)
	}
	spec := pass("stuck", "s")
	spec.Sinks = []operators.SinkDecl{{Type: "test_partial_buffer"}}
	if _, err := rt.Deploy(spec); err != nil {
		t.Fatal(err)
	}
	in := []*operators.Record{{Raw: []byte(`{"a":1}`)}, {Raw: []byte(`{"a":2}`)}, {Raw: []byte(`{"a":3}`)}}
	if err := rt.Ingest("s", in); err != nil {
		t.Fatal(err)
	}
	q, _ := rt.Query("stuck")
	deleted := make(chan error, 1)
	go func() { deleted <- rt.Delete("stuck") }()

	// The buffer holds two rows; the third is dead-lettered once the grace
	// period is over. Only then may the sink deliver.
	select {
	case r := <-dead.C:
		want := `statement stopped before the sink accepted the rows: test_partial_buffer sink: buffer full, 1 rows not queued: context canceled`
		if got := r.Get("row").Text(); got != `{"a":3}` || r.Get("reason").Text() != want {
			t.Fatalf("dead letter %s", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the row the sink never queued was not dead-lettered")
	}
	close(send.open)
	select {
	case err := <-deleted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Delete hung")
	}
	select {
	case r := <-dead.C:
		t.Fatalf("a second dead letter: %s", r)
	case <-time.After(50 * time.Millisecond):
	}
	send.mu.Lock()
	got := slices.Clone(send.got)
	send.mu.Unlock()
	if want := []string{`{"a":1}`, `{"a":2}`}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	st := q.Stats().Sinks[0]
	if st.Writes != 2 || st.Failures != 1 || st.Counters["acked"] != 2 || st.Counters["dead_lettered"] != 0 {
		t.Fatalf("sink status %+v", st)
	}
	if errs := q.Stats().Errors; errs != 1 {
		t.Errorf("statement errors = %d, want 1: the row not queued", errs)
	}
}
