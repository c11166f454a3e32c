package operators

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// within fails the test if fn does not return within d, or returns an
// error. fn reports through its result, not t: it may outlive the test.
func within(t *testing.T, d time.Duration, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	case <-time.After(d):
		t.Fatalf("%s hung", what)
	}
}

// stuckRuntime runs "up" (in → s) and "stuck" (reads s, its sink is down)
// with one-batch queues, and feeds it until the stream goroutine of s waits
// on stuck's full queue and up waits on s.
func stuckRuntime(t *testing.T) *Runtime {
	t.Helper()
	rt := NewRuntime(RuntimeConfig{QueryQueue: 1, StopGrace: 50 * time.Millisecond})
	t.Cleanup(rt.Close)
	if _, err := rt.Deploy(passSpec("up", "in", "s")); err != nil {
		t.Fatal(err)
	}
	spec := passSpec("stuck", "s", "")
	spec.Sinks = []SinkDecl{{Type: "test_down"}}
	if _, err := rt.Deploy(spec); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := rt.Ingest("in", []*Record{{Raw: []byte(`{"a":1}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	stuck, _ := rt.Query("stuck")
	up, _ := rt.Query("up")
	// stuck holds one batch in its sink write and one queued; the stream
	// goroutine of s holds the third and its queue (chainedQueue) is full;
	// up waits to put one more on s.
	waitFor(t, "the chain to back up", func() bool {
		return stuck.inflight.Load() == 3 && up.inflight.Load() >= 1 && rt.stream("s").pending.Load() >= chainedQueue+1
	})
	return rt
}

// A statement whose sink is down and whose queue is full blocks its
// stream's goroutine. Changing the readers of that stream must not wait
// for it: deleting or replacing the stuck statement, or the one feeding
// it, ends within the grace period, and the rest of the runtime answers
// meanwhile.
func TestStuckReaderHangsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(rt *Runtime) error
	}{
		{"delete stuck", func(rt *Runtime) error { return rt.Delete("stuck") }},
		{"replace stuck", func(rt *Runtime) error { _, _, err := rt.Replace(passSpec("stuck", "s", "")); return err }},
		{"deploy beside stuck", func(rt *Runtime) error { _, err := rt.Deploy(passSpec("beside", "s", "")); return err }},
		{"delete upstream", func(rt *Runtime) error { return rt.Delete("up") }},
		{"replace upstream", func(rt *Runtime) error { _, _, err := rt.Replace(passSpec("up", "in", "s")); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := stuckRuntime(t)
			within(t, 5*time.Second, tc.name, func() error { return tc.do(rt) })
			within(t, 5*time.Second, "ingest on another stream", func() error {
				return rt.Ingest("other", []*Record{{Raw: []byte(`{}`)}})
			})
			within(t, 5*time.Second, "listing the statements", func() error { rt.Queries(); return nil })
		})
	}
}

// A stopping INSERT INTO statement hands on every row its queued batches
// give, whether it was deleted or replaced.
func TestStoppingChainedStatementHandsOnItsRows(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(fmt.Sprint("replace=", replace), func(t *testing.T) {
			block := &blockingSink{release: make(chan struct{})}
			name := fmt.Sprintf("test_blocking_%d", testSinks.Add(1))
			RegisterSink(SinkPlugin{Name: name, New: func(SinkConfig) (Sink, error) { return block, nil }})
			rt := NewRuntime(RuntimeConfig{QueryQueue: 32})
			defer rt.Close()
			if _, err := rt.Deploy(passSpec("down", "mid", "")); err != nil {
				t.Fatal(err)
			}
			spec := passSpec("up", "in", "mid")
			spec.Sinks = []SinkDecl{{Type: name}}
			if _, err := rt.Deploy(spec); err != nil {
				t.Fatal(err)
			}
			up, _ := rt.Query("up")
			const n = 20
			for range n {
				if err := rt.Ingest("in", []*Record{{Raw: []byte(`{"a":1}`)}}); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "every batch handed to up", func() bool { return up.inflight.Load() == n })
			done := make(chan struct{})
			go func() {
				defer close(done)
				if replace {
					_, _, _ = rt.Replace(passSpec("up", "in", "mid"))
				} else {
					_ = rt.Delete("up")
				}
			}()
			waitFor(t, "up to stop", func() bool { return up.stopped.Load() })
			close(block.release)
			<-done
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := rt.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			down, _ := rt.Query("down")
			if got, errs := down.Stats().In, up.Stats().Errors; got != n || errs != 0 {
				t.Errorf("down got %d rows, want %d; up counted %d errors", got, n, errs)
			}
		})
	}
}

// countSink counts rows, a millisecond per write.
type countSink struct{ n *atomic.Int64 }

func (s countSink) Write(_ context.Context, rows []*Record) error {
	time.Sleep(time.Millisecond)
	s.n.Add(int64(len(rows)))
	return nil
}
func (countSink) Flush(context.Context) error { return nil }
func (countSink) Close() error                { return nil }

// Close processes what the streams accepted before it stops the
// statements: an accepted batch is never thrown away.
func TestCloseProcessesAcceptedBatches(t *testing.T) {
	var n atomic.Int64
	name := fmt.Sprintf("test_count_%d", testSinks.Add(1))
	RegisterSink(SinkPlugin{Name: name, New: func(SinkConfig) (Sink, error) { return countSink{&n}, nil }})
	rt := NewRuntime(RuntimeConfig{})
	// The chained statement sorts first, so Close reaches it before the
	// statement feeding it.
	spec := passSpec("a_chained", "mid", "")
	spec.Sinks = []SinkDecl{{Type: name}}
	if _, err := rt.Deploy(spec); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Deploy(passSpec("b_feeder", "s", "mid")); err != nil {
		t.Fatal(err)
	}
	const batches = 60
	for range batches {
		if err := rt.Ingest("s", []*Record{{Raw: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	rt.Close()
	if got := n.Load(); got != batches {
		t.Errorf("the sink got %d of %d accepted rows", got, batches)
	}
}

// Drain, and so Snapshot, waits for a replaced statement to finish its
// queued batches.
func TestDrainWaitsForStoppingStatement(t *testing.T) {
	block := &blockingSink{release: make(chan struct{})}
	name := fmt.Sprintf("test_blocking_%d", testSinks.Add(1))
	RegisterSink(SinkPlugin{Name: name, New: func(SinkConfig) (Sink, error) { return block, nil }})
	rt := NewRuntime(RuntimeConfig{StopGrace: 5 * time.Second})
	defer rt.Close()
	spec := passSpec("q", "s", "")
	spec.Sinks = []SinkDecl{{Type: name}}
	if _, err := rt.Deploy(spec); err != nil {
		t.Fatal(err)
	}
	old, _ := rt.Query("q")
	for range 3 {
		if err := rt.Ingest("s", []*Record{{Raw: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the batches handed on", func() bool { return old.inflight.Load() == 3 })
	go func() { _, _, _ = rt.Replace(passSpec("q", "s", "")) }()
	waitFor(t, "the replace", func() bool { q, _ := rt.Query("q"); return q != old })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := rt.Drain(ctx); err == nil {
		t.Fatalf("Drain returned with %d batches still in the replaced statement", old.inflight.Load())
	}
	close(block.release)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rt.Drain(ctx); err != nil || old.inflight.Load() != 0 {
		t.Fatalf("drain: %v, %d batches left", err, old.inflight.Load())
	}
}

// A snapshot taken while a statement is replaced waits for the replace
// instead of failing on the statement that stopped.
func TestSnapshotDuringReplace(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{})
	defer rt.Close()
	spec := func(name string) *QuerySpec {
		s := passSpec(name, "s", "")
		s.StateShape = "map"
		return s
	}
	for i := range 30 {
		if _, err := rt.Deploy(spec(fmt.Sprint("a", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rt.Deploy(spec("z")); err != nil {
		t.Fatal(err)
	}
	for round := range 200 {
		var wg sync.WaitGroup
		var err error
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = rt.Snapshot(ctx)
		})
		wg.Go(func() {
			time.Sleep(time.Duration(round%20) * 100 * time.Microsecond) // land at different points of the snapshot
			_, _, _ = rt.Replace(spec("z"))
		})
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

// TestConcurrentLifecycleLeavesNoStoppedReader races Replace and Delete of
// one name. A statement stopped while another call still had to put it on
// its stream stayed a reader there: once its queue filled, the stream's
// goroutine blocked on it for good, and with it every deploy on the stream.
func TestConcurrentLifecycleLeavesNoStoppedReader(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{QueryQueue: 1})
	defer rt.Close()
	for round := range 1000 {
		if _, err := rt.Deploy(passSpec("x", "s", "")); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { _, _, _ = rt.Replace(passSpec("x", "s", "")) })
		wg.Go(func() { _, _, _ = rt.Replace(passSpec("x", "s", "")) })
		wg.Go(func() { _ = rt.Delete("x") })
		wg.Wait()
		_ = rt.Delete("x")
		s := rt.stream("s")
		s.mu.RLock()
		readers := len(s.subs)
		s.mu.RUnlock()
		if readers != 0 {
			t.Fatalf("round %d: stream s has %d readers after every statement was deleted", round, readers)
		}
	}
	for range 20 {
		if err := rt.Ingest("s", []*Record{{Raw: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// A snapshot cannot finish while a statement is stuck on a down sink, but
// deleting that statement must not wait for the snapshot to give up; nor
// must an unrelated deploy.
func TestSnapshotDoesNotHoldUpLifecycle(t *testing.T) {
	rt := stuckRuntime(t)
	snap := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := rt.Snapshot(ctx)
		snap <- err
	}()
	waitFor(t, "the snapshot to start", func() bool { return rt.holding.Load() })
	within(t, 5*time.Second, "a deploy during the snapshot", func() error {
		_, err := rt.Deploy(passSpec("other", "x", ""))
		return err
	})
	within(t, 5*time.Second, "deleting the stuck statement", func() error { return rt.Delete("stuck") })
	select {
	case err := <-snap:
		if err != nil {
			t.Fatalf("the snapshot, once the stuck statement was gone: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the snapshot did not finish once the stuck statement was gone")
	}
}

// seqOp records the arrival stamp of each batch's first record.
type seqOp struct {
	mu  *sync.Mutex
	got *[]int64
}

func (o seqOp) Process(batch []*Record, _ Emit) {
	o.mu.Lock()
	*o.got = append(*o.got, batch[0].Arrival)
	o.mu.Unlock()
}
func (seqOp) Tick(int64, Emit) {}
func (seqOp) Finish(Emit)      {}
func (seqOp) StateSize() int   { return 0 }

// Each batch reaches exactly one version of a statement replaced over and
// over, in order, while readers around it on the same stream are
// replaced, deleted and deployed.
func TestReplacedStatementSeesEveryBatchOnceInOrder(t *testing.T) {
	var mu sync.Mutex
	var got []int64
	watched := func() *QuerySpec {
		return &QuerySpec{Name: "w", Source: "s", Build: func(*Counters) Operator { return seqOp{&mu, &got} }}
	}
	rt := NewRuntime(RuntimeConfig{QueryQueue: 1, QueueSize: 4096})
	defer rt.Close()
	for _, spec := range []*QuerySpec{passSpec("a", "s", ""), watched(), passSpec("b", "s", "")} {
		if _, err := rt.Deploy(spec); err != nil {
			t.Fatal(err)
		}
	}
	const n = 3000
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			_, _, _ = rt.Replace(watched())
			switch i % 3 {
			case 0:
				_ = rt.Delete("a")
				_, _ = rt.Deploy(passSpec("a", "s", ""))
			case 1:
				_, _, _ = rt.Replace(passSpec("b", "s", ""))
			case 2:
				_, _ = rt.Deploy(passSpec(fmt.Sprint("c", i), "s", ""))
				_ = rt.Delete(fmt.Sprint("c", i))
			}
		}
	})
	for i := 0; i < n; {
		if err := rt.Ingest("s", []*Record{{Arrival: int64(i)}}); err == nil {
			i++
		} else {
			time.Sleep(10 * time.Microsecond) // back-pressure: let the readers catch up
		}
	}
	stop.Store(true)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rt.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("the watched statement's versions got %d batches, want %d", len(got), n)
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("batch %d is number %d", i, v)
		}
	}
}

// slowMap passes its input on, taking d per batch.
type slowMap struct {
	*Map
	d time.Duration
}

func (m slowMap) Process(batch []*Record, emit Emit) {
	time.Sleep(m.d)
	m.Map.Process(batch, emit)
}

// An INSERT INTO statement slower than the grace period still hands on
// every row while the target has room; so does a version replaced again
// before it ever ran, which gets a grace period of its own.
func TestSlowChainedStatementKeepsRowsAcrossReplaces(t *testing.T) {
	for _, again := range []bool{false, true} {
		t.Run(fmt.Sprint("replaced_again=", again), func(t *testing.T) {
			rt := NewRuntime(RuntimeConfig{StopGrace: 100 * time.Millisecond, QueryQueue: 16})
			defer rt.Close()
			if _, err := rt.Deploy(passSpec("down", "out", "")); err != nil {
				t.Fatal(err)
			}
			slow := passSpec("w", "s", "out")
			slow.Build = func(*Counters) Operator {
				return slowMap{&Map{Extract: NewExtractor(nil), Star: true}, 60 * time.Millisecond}
			}
			if _, err := rt.Deploy(slow); err != nil {
				t.Fatal(err)
			}
			v0, _ := rt.Query("w")
			ingest := func(n int) {
				for range n {
					if err := rt.Ingest("s", []*Record{{Raw: []byte(`{"a":1}`)}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			ingest(8)
			waitFor(t, "v0 to hold its batches", func() bool { return v0.inflight.Load() == 8 })
			var wg sync.WaitGroup
			wg.Go(func() { _, _, _ = rt.Replace(passSpec("w", "s", "out")) })
			waitFor(t, "v1", func() bool { q, _ := rt.Query("w"); return q != v0 })
			v1, _ := rt.Query("w")
			total := 8
			if again {
				ingest(8)
				total += 8
				waitFor(t, "v1 to hold its batches", func() bool { return v1.inflight.Load() == 8 })
				wg.Go(func() { _, _, _ = rt.Replace(passSpec("w", "s", "out")) })
			}
			wg.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := rt.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			down, _ := rt.Query("down")
			if got := down.Stats().In; got != uint64(total) {
				t.Errorf("down got %d of %d rows; v0 counted %d errors, v1 %d", got, total, v0.Stats().Errors, v1.Stats().Errors)
			}
		})
	}
}

// BenchmarkStreamHandOn is the cost of giving a batch to each reader of a
// stream whose readers keep up.
func BenchmarkStreamHandOn(b *testing.B) {
	for _, readers := range []int{1, 4, 16} {
		b.Run(fmt.Sprint("readers=", readers), func(b *testing.B) {
			s := &stream{name: "b", queue: make(chan []*Record, 1), tail: newRing(tailSize), swaps: make(chan swapRequest)}
			for range readers {
				s.subs = append(s.subs, &Query{in: make(chan []*Record, 8), spec: &QuerySpec{}})
			}
			batch := []*Record{{Raw: []byte(`{}`), Index: &RawIndex{}}}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.handOn(batch)
				if i%8 == 7 {
					for _, q := range s.subs {
						for range 8 {
							<-q.in
						}
					}
				}
			}
		})
	}
}

// A statement deployed once Close has begun is refused: Close would not
// stop it.
func TestDeployAfterClose(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{})
	rt.Close()
	_, err := rt.Deploy(passSpec("late", "s", ""))
	if !errors.Is(err, ErrClosed) || err.Error() != `deploy "late": the runtime is shutting down` {
		t.Fatalf("Deploy after Close = %v", err)
	}
	if qs := rt.Queries(); len(qs) != 0 {
		t.Fatalf("%d statements run after Close", len(qs))
	}
}
