package operators

import (
	"context"
	"fmt"
	"time"
)

// Checkpoints: with a source that can replay (Kafka), the runtime's state
// is saved together with the source offsets it covers. The caller pauses
// its sources, calls Snapshot (which waits until everything queued has been
// processed and every sink has acknowledged), stores the snapshot with the
// offsets, commits them, and resumes. After a restart, Restore puts the
// state back before the sources seek to the stored offsets.

// StatementState is one statement's saved state.
type StatementState struct {
	Shape string `json:"shape"`
	State []byte `json:"state"`
}

// Drain waits until every stream and statement queue is empty, no batch
// is being processed and no replaced or deleted statement is still
// finishing, so that everything ingested so far has gone through.
// Sources must be paused, or it may never return before ctx ends.
func (rt *Runtime) Drain(ctx context.Context) error {
	quiet := 0
	for quiet < 2 {
		if rt.idle() {
			quiet++
		} else {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func (rt *Runtime) idle() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	// Under rt.mu, which Replace and Delete hold while they take a
	// statement off the registry and count it as stopping: the statement
	// is seen in one place or the other.
	if rt.stopping.Load() != 0 {
		return false
	}
	for _, s := range rt.streams {
		if s.pending.Load() != 0 {
			return false
		}
	}
	for _, q := range rt.queries {
		if q.inflight.Load() != 0 {
			return false
		}
	}
	return true
}

// do runs fn in the statement's goroutine, between batches.
func (q *Query) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case q.control <- func() { fn(); close(done) }:
	case <-q.done:
		return fmt.Errorf("statement %q stopped", q.spec.Name)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Snapshot drains the runtime, saves each stateful statement's state by
// name, then waits for every sink to acknowledge. While it runs, Ingest
// answers ErrBackpressure and wall-clock ticks are skipped, so nothing is
// emitted between the drain and the end of the snapshot: every row the
// saved state has already emitted is in a sink's buffer when the sinks are
// flushed.
//
// A Deploy, Replace or Delete under way finishes first, and none starts
// until the snapshot is taken. The drain runs before that wait, so that a
// statement stuck on a down sink, which keeps the drain from ending, can
// still be deleted.
func (rt *Runtime) Snapshot(ctx context.Context) (map[string]StatementState, error) {
	rt.ingest.Lock()
	defer rt.ingest.Unlock()
	rt.holding.Store(true)
	defer rt.holding.Store(false)
	if err := rt.Drain(ctx); err != nil {
		return nil, err
	}
	if err := rt.lockLife(ctx); err != nil {
		return nil, err
	}
	defer rt.life.Unlock()
	// What a replaced statement handed on while the lock was awaited.
	if err := rt.Drain(ctx); err != nil {
		return nil, err
	}
	queries := rt.Queries()
	out := map[string]StatementState{}
	for _, q := range queries {
		s, ok := q.op.(Snapshotter)
		if !ok || q.spec.StateShape == "" {
			continue
		}
		var state []byte
		var err error
		if derr := q.do(ctx, func() { state, err = s.Snapshot() }); derr != nil {
			return nil, derr
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", q.spec.Name, err)
		}
		out[q.spec.Name] = StatementState{Shape: q.spec.StateShape, State: state}
	}
	for _, q := range queries {
		if err := q.FlushSinks(ctx); err != nil {
			return nil, fmt.Errorf("snapshot %q: flush sinks: %w", q.spec.Name, err)
		}
	}
	return out, nil
}

// Restore puts saved state back into running statements of the same name
// and state shape; it returns the names it restored. A statement whose
// shape changed since the snapshot starts fresh.
func (rt *Runtime) Restore(ctx context.Context, states map[string]StatementState) ([]string, error) {
	if err := rt.lockLife(ctx); err != nil {
		return nil, err
	}
	defer rt.life.Unlock()
	var restored []string
	for name, st := range states {
		q, ok := rt.Query(name)
		if !ok || q.spec.StateShape != st.Shape {
			continue
		}
		s, ok := q.op.(Snapshotter)
		if !ok {
			continue
		}
		var err error
		if derr := q.do(ctx, func() { err = s.Restore(st.State) }); derr != nil {
			return restored, derr
		}
		if err != nil {
			return restored, fmt.Errorf("restore %q: %w", name, err)
		}
		restored = append(restored, name)
	}
	return restored, nil
}

// lockLife takes life for writing, waiting no longer than ctx. It polls
// instead of blocking in Lock: a writer waiting in Lock would hold up every
// Deploy, Replace and Delete behind the one it waits for.
func (rt *Runtime) lockLife(ctx context.Context) error {
	for !rt.life.TryLock() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for deploys, replaces and deletes to finish: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
