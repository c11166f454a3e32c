package operators

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// sinkRunner wraps one of a statement's sinks with its counters and status.
type sinkRunner struct {
	query    string
	decl     SinkDecl
	sink     Sink // nil when not configured or failed to start
	env      *Env
	writes   atomic.Uint64
	failures atomic.Uint64

	mu      sync.Mutex
	state   string // "ok", "not configured (…)", "failed to start: …"
	lastErr string
}

// SinkStatus is a sink's state for the API and metrics.
type SinkStatus struct {
	Type      string `json:"type"`
	State     string `json:"state"`
	Writes    uint64 `json:"writes"`
	Failures  uint64 `json:"failures"`
	LastError string `json:"last_error,omitempty"`
	// Counters come from sinks that keep their own (see CountingSink).
	Counters map[string]uint64 `json:"counters,omitempty"`
}

func newSinkRunner(query string, d SinkDecl, columns []string, env *Env) *sinkRunner {
	r := &sinkRunner{query: query, decl: d, env: env, state: "ok"}
	p, ok := LookupSink(d.Type)
	if !ok {
		r.state = "unknown sink type " + d.Type
		return r
	}
	s, err := p.New(SinkConfig{Query: query, Args: d.Args, Env: env, Columns: columns})
	switch {
	case errors.Is(err, ErrNotConfigured):
		r.state = err.Error()
	case err != nil:
		r.state = "sink " + d.Type + " failed to start: " + err.Error()
	default:
		r.sink = s
	}
	return r
}

// write hands rows to the sink. ctx ends only when the statement is being
// stopped and the sink has not taken the rows within the grace period: they
// go to the dead-letter stream rather than vanish. Rows the sink took before
// failing (a *PartialWriteError) will still be delivered, so they are
// neither dead-lettered nor counted as failures. It returns how many rows
// failed.
func (r *sinkRunner) write(ctx context.Context, rows []*Record) (failed int) {
	if r.sink == nil {
		return 0
	}
	err := r.sink.Write(ctx, rows)
	if err == nil {
		r.writes.Add(uint64(len(rows)))
		return 0
	}
	var partial *PartialWriteError
	if errors.As(err, &partial) {
		accepted := min(max(partial.Accepted, 0), len(rows))
		r.writes.Add(uint64(accepted))
		rows = rows[accepted:]
	}
	if ctx.Err() != nil && len(rows) > 0 {
		r.env.DeadLetter(r.query, r.decl.Type, "statement stopped before the sink accepted the rows: "+err.Error(), rows)
	}
	r.failures.Add(uint64(len(rows)))
	r.mu.Lock()
	r.lastErr = err.Error()
	r.mu.Unlock()
	r.env.Log().Error("sink write failed", "query", r.query, "sink", r.decl.Type, "rows", len(rows), "err", err)
	return len(rows)
}

func (r *sinkRunner) close(ctx context.Context) {
	if r.sink == nil {
		return
	}
	if err := r.sink.Flush(ctx); err != nil {
		r.env.Log().Error("sink flush failed", "query", r.query, "sink", r.decl.Type, "err", err)
	}
	if err := r.sink.Close(); err != nil {
		r.env.Log().Error("sink close failed", "query", r.query, "sink", r.decl.Type, "err", err)
	}
}

func (r *sinkRunner) status() SinkStatus {
	r.mu.Lock()
	st := SinkStatus{Type: r.decl.Type, State: r.state, Writes: r.writes.Load(), Failures: r.failures.Load(), LastError: r.lastErr}
	r.mu.Unlock()
	if c, ok := r.sink.(CountingSink); ok {
		st.Counters = c.Counters()
	}
	return st
}
