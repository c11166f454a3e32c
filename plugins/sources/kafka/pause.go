package kafka

import (
	"context"
	"sync"
)

// gate holds a source's hand-ons while a checkpointer takes a snapshot.
// The partition readers keep fetching until their queues are full; only handing batches
// on to the stream stops. Pauses nest: every Pause needs its Resume.
type gate struct {
	mu      sync.Mutex
	held    int           // Pause calls not yet resumed
	busy    bool          // a batch is being handed on
	changed chan struct{} // closed and replaced whenever held or busy changes
}

func newGate() *gate { return &gate{changed: make(chan struct{})} }

// signal wakes every waiter; mu must be held.
func (g *gate) signal() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// enter waits until the source is not paused and marks a hand-on busy.
func (g *gate) enter(ctx context.Context) error {
	g.mu.Lock()
	for g.held > 0 {
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		g.mu.Lock()
	}
	g.busy = true
	g.mu.Unlock()
	return nil
}

func (g *gate) leave() {
	g.mu.Lock()
	g.busy = false
	g.signal()
	g.mu.Unlock()
}

// pause stops further hand-ons and waits for the one in progress.
func (g *gate) pause(ctx context.Context) error {
	g.mu.Lock()
	g.held++
	for g.busy {
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			g.resume()
			return ctx.Err()
		}
		g.mu.Lock()
	}
	g.mu.Unlock()
	return nil
}

func (g *gate) resume() {
	g.mu.Lock()
	if g.held > 0 {
		g.held--
		g.signal()
	}
	g.mu.Unlock()
}

// Pause stops the source from handing batches on and returns once the
// batch in progress, if any, has been handed on: from then until Resume,
// Positions does not move. The partition readers keep fetching ahead until
// their queues are full. Pauses nest; each needs a Resume. If ctx ends first, the pause
// is undone and ctx's error returned.
func (s *Source) Pause(ctx context.Context) error { return s.gate.pause(ctx) }

// Resume undoes one Pause.
func (s *Source) Resume() { s.gate.resume() }
