package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestBenchEmbeddedShipped runs the shipped pipeline on raw events.
func TestBenchEmbeddedShipped(t *testing.T) {
	var out bytes.Buffer
	err := runBench(context.Background(), []string{"--embedded", "--shipped", "--events", "20000", "--batch", "500", "--users", "2000"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		`benchmark      the shipped pipeline (queries/*.sql) on stream "events"`,
		`taken in by every reader of "events"`,
		"dropped        0\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}
