// Package sinktest opens registered sinks the way a statement does and
// drives them in tests.
package sinktest

import (
	"context"
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
