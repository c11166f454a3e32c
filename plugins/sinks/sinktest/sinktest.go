// Package sinktest opens registered sinks the way a statement does and
// drives them in tests.
package sinktest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/operators"
)

// Open builds a registered sink for statement "q", closed when the test ends.
func Open(t testing.TB, typ string, env *operators.Env, args map[string]string, columns ...string) operators.Sink {
	t.Helper()
	p, ok := operators.LookupSink(typ)
	if !ok {
		t.Fatalf("%s sink is not registered", typ)
	}
	s, err := p.New(operators.SinkConfig{Query: "q", Args: args, Env: env, Columns: columns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Flush waits up to 20 s for the sink to acknowledge everything written.
func Flush(t testing.TB, s operators.Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// Write hands rows to the sink and waits for their acknowledgement.
func Write(t testing.TB, s operators.Sink, rows []*operators.Record) {
	t.Helper()
	if err := s.Write(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	Flush(t, s)
}

// Poll waits up to 10 s for cond to hold, failing the test with what.
func Poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// DeadLetters records what a sink sends to the dead-letter stream.
type DeadLetters struct {
	mu   sync.Mutex
	rows []*operators.Record
}

// Env is env whose Emit records dead letters; a sink has no other stream
// to write to, so any other is refused.
func (d *DeadLetters) Env(env operators.Env) *operators.Env {
	env.Emit = func(stream string, recs []*operators.Record) error {
		if stream != operators.DeadLetterStream {
			return fmt.Errorf("unexpected stream %q", stream)
		}
		d.mu.Lock()
		d.rows = append(d.rows, recs...)
		d.mu.Unlock()
		return nil
	}
	return &env
}

// Got lists each dead letter's given fields, joined by "|".
func (d *DeadLetters) Got(fields ...string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []string{}
	for _, r := range d.rows {
		vals := make([]string, len(fields))
		for i, f := range fields {
			vals[i] = r.Get(f).Text()
		}
		out = append(out, strings.Join(vals, "|"))
	}
	return out
}
