package kafka

import (
	"sync"
	"testing"
	"time"

	"sluice/operators"
)

// target is a fake ingest target: it keeps every batch it takes by stream
// and refuses calls as its refuse function decides.
type target struct {
	mu      sync.Mutex
	streams map[string][]*operators.Record
	calls   int
	refused int
	// refuse is asked on every call (n counts calls from 1); true answers
	// ErrBackpressure and takes nothing.
	refuse func(n int, batch []*operators.Record) bool
	// pending, when set, answers Pending; asked counts the calls.
	pending func() int
	asked   int
}

func newTarget() *target { return &target{streams: map[string][]*operators.Record{}} }

func (t *target) Ingest(stream string, batch []*operators.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	if t.refuse != nil && t.refuse(t.calls, batch) {
		t.refused++
		return operators.ErrBackpressure
	}
	t.streams[stream] = append(t.streams[stream], batch...)
	return nil
}

func (t *target) Declare(string) {}

func (t *target) Pending(string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.asked++
	if t.pending == nil {
		return 0
	}
	return t.pending()
}

func (t *target) records(stream string) []*operators.Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*operators.Record(nil), t.streams[stream]...)
}

func (t *target) count(stream string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.streams[stream])
}

// waitFor polls cond until it holds or 30 seconds pass.
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
