package operators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// passSpec reads a stream and emits every event unchanged.
func passSpec(name, source, target string) *QuerySpec {
	return &QuerySpec{Name: name, Source: source, Target: target, Build: func(*Counters) Operator {
		return &Map{Extract: NewExtractor(nil), Star: true}
	}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRuntimeChainsAndSubscribes(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{})
	defer rt.Close()
	if _, err := rt.Deploy(passSpec("copy", "in", "mid")); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Deploy(passSpec("tail", "mid", "")); err != nil {
		t.Fatal(err)
	}
	sub, err := rt.Subscribe("tail", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := rt.Ingest("in", []*Record{{Raw: []byte(`{"a":1}`)}, {Raw: []byte(`{"a":2}`)}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"a":1}`, `{"a":2}`} {
		select {
		case r := <-sub.C:
			if r.String() != want {
				t.Errorf("got %s, want %s", r, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no row")
		}
	}
	q, _ := rt.Query("tail")
	waitFor(t, "counters", func() bool { return q.Stats().In == 2 && q.Stats().Out == 2 })
	if got := len(rt.Recent("tail")); got != 2 {
		t.Errorf("recent rows %d, want 2", got)
	}
}

func TestRuntimeRefusesCycles(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{})
	defer rt.Close()
	if _, err := rt.Deploy(passSpec("ab", "a", "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Deploy(passSpec("bc", "b", "c")); err != nil {
		t.Fatal(err)
	}
	_, err := rt.Deploy(passSpec("ca", "c", "a"))
	if err == nil || !strings.Contains(err.Error(), "would feed back into its own source stream c") {
		t.Fatalf("got %v", err)
	}
	if _, err := rt.Deploy(passSpec("ab", "x", "")); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate name: %v", err)
	}
	if err := rt.Delete("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
}

// blockingSink holds every Write until released, like a sink whose system is down.
type blockingSink struct{ release chan struct{} }

func (s *blockingSink) Write(ctx context.Context, _ []*Record) error {
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return nil
}
func (s *blockingSink) Flush(context.Context) error { return nil }
func (s *blockingSink) Close() error                { return nil }

func TestBackpressureReachesIngest(t *testing.T) {
	block := &blockingSink{release: make(chan struct{})}
	name := fmt.Sprintf("test_blocking_%d", testSinks.Add(1)) // a name per run: -count=N
	RegisterSink(SinkPlugin{Name: name, New: func(SinkConfig) (Sink, error) { return block, nil }})
	rt := NewRuntime(RuntimeConfig{QueueSize: 2, QueryQueue: 1})
	spec := passSpec("slow", "s", "")
	spec.Sinks = []SinkDecl{{Type: name}}
	if _, err := rt.Deploy(spec); err != nil {
		t.Fatal(err)
	}
	accepted := 0
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		if err = rt.Ingest("s", []*Record{{Raw: []byte(`{}`)}}); err == nil {
			accepted++
		}
	}
	if !errors.Is(err, ErrBackpressure) {
		t.Fatalf("ingest never pushed back: %v", err)
	}
	// One batch in the sink, one in the statement's queue, one held by the
	// stream goroutine, two in the stream's queue.
	if accepted > 5 {
		t.Errorf("accepted %d batches into bounded queues of 5", accepted)
	}
	close(block.release)
	q, _ := rt.Query("slow")
	waitFor(t, "the accepted batches", func() bool { return q.Stats().Out == uint64(accepted) })
	rt.Close()
}

func TestReplaceMovesSubscribers(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{})
	defer rt.Close()
	if _, err := rt.Deploy(passSpec("q", "s", "")); err != nil {
		t.Fatal(err)
	}
	sub, _ := rt.Subscribe("q", 16)
	defer sub.Close()
	if _, kept, err := rt.Replace(passSpec("q", "s", "")); err != nil || kept {
		t.Fatalf("replace: kept=%v err=%v", kept, err)
	}
	if err := rt.Ingest("s", []*Record{{Raw: []byte(`{"after":true}`)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-sub.C:
		if r.String() != `{"after":true}` {
			t.Errorf("got %s", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription did not survive the replace")
	}
}

func TestRingDetachesBodySlices(t *testing.T) {
	body := []byte(`{"a":1}` + strings.Repeat(" ", 4096))
	r := newRing(4)
	r.add([]*Record{{Raw: body[:7]}, {Raw: []byte(`{"b":2}`)}})
	got := r.snapshot()
	if len(got) != 2 || string(got[0].Raw) != `{"a":1}` || cap(got[0].Raw) >= 256 {
		t.Errorf("kept %q with capacity %d", got[0].Raw, cap(got[0].Raw))
	}
	r.add([]*Record{{Raw: []byte("1")}, {Raw: []byte("2")}, {Raw: []byte("3")}, {Raw: []byte("4")}, {Raw: []byte("5")}})
	var order []string
	for _, x := range r.snapshot() {
		order = append(order, string(x.Raw))
	}
	if strings.Join(order, ",") != "2,3,4,5" {
		t.Errorf("ring holds %v, want the last four", order)
	}
}

// ctxSink blocks every write until its context ends, like a sink whose
// system is down.
type ctxSink struct{}

func (ctxSink) Write(ctx context.Context, _ []*Record) error {
	<-ctx.Done()
	return ctx.Err()
}
func (ctxSink) Flush(context.Context) error { return nil }
func (ctxSink) Close() error                { return nil }

// testSinks numbers the sinks tests register.
var testSinks atomic.Int64

func init() {
	RegisterSink(SinkPlugin{Name: "test_down", New: func(SinkConfig) (Sink, error) { return ctxSink{}, nil }})
}

func TestDeleteDoesNotHangOnADownSink(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{StopGrace: 50 * time.Millisecond})
	defer rt.Close()
	dead, err := rt.Subscribe("dead", 16)
	if err == nil {
		t.Fatal("subscribed to a statement that does not exist")
	}
	if _, err := rt.Deploy(passSpec("dead", DeadLetterStream, "")); err != nil {
		t.Fatal(err)
	}
	if dead, err = rt.Subscribe("dead", 16); err != nil {
		t.Fatal(err)
	}
	spec := passSpec("stuck", "s", "")
	spec.Sinks = []SinkDecl{{Type: "test_down"}}
	if _, err := rt.Deploy(spec); err != nil {
		t.Fatal(err)
	}
	if err := rt.Ingest("s", []*Record{{Raw: []byte(`{"a":1}`)}}); err != nil {
		t.Fatal(err)
	}
	q, _ := rt.Query("stuck")
	waitFor(t, "the write to block", func() bool { return q.Stats().Queued == 0 && q.inflight.Load() == 1 })
	done := make(chan error)
	go func() { done <- rt.Delete("stuck") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Delete hung on a blocked sink")
	}
	// The wait for the sink counts as blocked time, not as processing.
	if st := q.Stats(); st.Blocked < 0.05 || st.Busy < 0 || st.Busy >= st.Blocked {
		t.Errorf("busy %gs, blocked %gs: want the 50 ms grace period blocked", st.Busy, st.Blocked)
	}
	select {
	case r := <-dead.C:
		if got := r.Get("row").Text(); got != `{"a":1}` || !strings.Contains(r.Get("reason").Text(), "statement stopped") {
			t.Errorf("dead letter %s", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the rows the sink never took were not dead-lettered")
	}
}

// Sink types are found whatever the case they were registered or named in.
func TestSinkNamesIgnoreCase(t *testing.T) {
	name := fmt.Sprintf("Test_Case_%d", testSinks.Add(1))
	RegisterSink(SinkPlugin{Name: name, New: func(SinkConfig) (Sink, error) { return ctxSink{}, nil }})
	for _, n := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
		if p, ok := LookupSink(n); !ok || p.Name != name {
			t.Errorf("LookupSink(%q) = %q, %v", n, p.Name, ok)
		}
	}
}

// Ingest creates at most MaxStreams streams; existing streams and the
// streams statements name stay usable past the limit.
func TestIngestCreatesAtMostMaxStreams(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{MaxStreams: 2})
	defer rt.Close()
	// A stream indexes the records it takes: each ingest gets its own.
	batch := func() []*Record { return []*Record{{Raw: []byte(`{"a":1}`)}} }
	for _, name := range []string{"a", "b", "a"} {
		if err := rt.Ingest(name, batch()); err != nil {
			t.Fatalf("ingest %s: %v", name, err)
		}
	}
	err := rt.Ingest("c", batch())
	if !errors.Is(err, ErrTooManyStreams) || !strings.Contains(err.Error(), `"c"`) || !strings.Contains(err.Error(), "already 2") {
		t.Fatalf("ingest c: %v, want ErrTooManyStreams naming c and the limit", err)
	}
	if _, err := rt.Deploy(passSpec("copy", "d", "e")); err != nil {
		t.Fatal(err)
	}
	if err := rt.Ingest("d", batch()); err != nil {
		t.Fatalf("ingest into a stream a statement reads: %v", err)
	}
	var names []string
	for _, st := range rt.Streams() {
		names = append(names, st.Name)
	}
	if got := strings.Join(names, " "); got != "a b d e" {
		t.Errorf("streams %q, want a b d e", got)
	}
}

// panicky panics on a batch holding a "boom" field, as a bug some input
// provokes would.
type panicky struct{ Map }

func (p *panicky) Process(batch []*Record, emit Emit) {
	for _, r := range batch {
		if bytes.Contains(r.Raw, []byte(`"boom"`)) {
			panic("boom")
		}
	}
	p.Map.Process(batch, emit)
}

// TestPanicInAStatementIsContained: a statement that panics on a batch
// counts its records as errors, says so in Status, and goes on with the
// next batch; the process and the other statements stay up.
func TestPanicInAStatementIsContained(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{})
	defer rt.Close()
	spec := &QuerySpec{Name: "q", Source: "in", Build: func(*Counters) Operator {
		return &panicky{Map{Extract: NewExtractor(nil), Star: true}}
	}}
	q, err := rt.Deploy(spec)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := rt.Subscribe("q", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, raw := range []string{`{"n":1}`, `{"boom":true}`, `{"n":3}`} {
		if err := rt.Ingest("in", []*Record{{Raw: []byte(raw)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{`{"n":1}`, `{"n":3}`} {
		select {
		case r := <-sub.C:
			if r.String() != want {
				t.Fatalf("row %s, want %s", r, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("row %s did not come", want)
		}
	}
	waitFor(t, "the batches counted", func() bool { return q.Stats().In == 3 })
	if st := q.Stats(); st.Errors != 1 {
		t.Errorf("errors = %d, want 1 (the record of the batch that panicked)", st.Errors)
	}
	if got, want := q.Status(), "degraded: panicked on a batch (boom); see the log"; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}
