package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchTarget reads the server's resource use: its CPU seconds so far and
// its peak resident memory.
type benchTarget interface {
	begin() // called right before the load starts
	usage(ctx context.Context, base string) (cpu float64, rss int64, err error)
}

type loadRun struct {
	base    string
	sources []string // SQL to deploy, one request each, in order
	o       benchOptions
	batches []benchBatch
	target  benchTarget
	log     io.Writer
}

type benchResult struct {
	sent, accepted, processed int64
	dropped                   int64
	throttled, failed         int64
	statements                int
	acceptTime, processTime   time.Duration
	cpu                       float64
	peakRSS                   int64
	payload                   int
	span                      time.Duration // event time the events cover
	busiest                   string        // the statement busy the longest during the run
	busy                      float64       // and its busy seconds
}

// runLoad deploys the statements, pushes every batch with o.conns clients
// and waits until every statement has taken in all that reached it.
func runLoad(ctx context.Context, lr loadRun) (*benchResult, error) {
	api := &benchAdmin{base: strings.TrimSuffix(lr.base, "/"), token: lr.o.adminToken, http: &http.Client{Timeout: 30 * time.Second}}
	deployed, err := lr.deploy(ctx, api)
	defer func() {
		for _, name := range slices.Backward(deployed) {
			if err := api.remove(context.Background(), name); err != nil {
				fmt.Fprintf(lr.log, "removing statement %q: %v\n", name, err)
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	poster, err := newEventPoster(lr.base, lr.o.stream, lr.o.token, lr.o.conns)
	if err != nil {
		return nil, err
	}
	list, err := api.statements(ctx)
	if err != nil {
		return nil, err
	}
	base := countsOf(list)
	lr.target.begin()
	cpu0, _, err := lr.target.usage(ctx, lr.base)
	if err != nil {
		return nil, err
	}
	peak := &peakSampler{target: lr.target, base: lr.base}
	stopSampling := peak.start(ctx, 200*time.Millisecond)

	r := &benchResult{}
	began := time.Now()
	var accepted atomic.Int64
	pushErr := pushAll(ctx, poster, lr.batches, lr.o.conns, &accepted)
	r.acceptTime = time.Since(began)
	r.accepted = accepted.Load()
	for _, b := range lr.batches {
		r.sent += int64(b.n)
	}
	if pushErr != nil {
		stopSampling()
		return nil, fmt.Errorf("pushing events (%d of %d accepted): %w", r.accepted, r.sent, pushErr)
	}
	r.processed, r.statements, err = api.waitDrained(ctx, base, lr.o.stream, r.accepted)
	r.processTime = time.Since(began)
	stopSampling()
	if err != nil {
		return nil, err
	}
	cpu1, rss, err := lr.target.usage(ctx, lr.base)
	if err != nil {
		return nil, err
	}
	after, err := api.statements(ctx)
	if err != nil {
		return nil, err
	}
	r.busiest, r.busy = busiest(list, after)
	r.cpu = cpu1 - cpu0
	r.peakRSS = max(rss, peak.max.Load())
	r.throttled, r.failed = poster.throttled.Load(), poster.failed.Load()
	r.dropped = r.sent - r.processed
	return r, nil
}

// deploy sends each source and returns the statements it started. With
// --shipped, a file whose statements already run is left as it is (a
// server runs the shipped pipeline by default); otherwise a leftover
// --name statement from an interrupted run is replaced.
func (lr loadRun) deploy(ctx context.Context, api *benchAdmin) ([]string, error) {
	var deployed []string
	for _, src := range lr.sources {
		names, err := api.deploy(ctx, src)
		if errors.Is(err, errDeployed) {
			if lr.o.shipped {
				continue
			}
			if err = api.remove(ctx, lr.o.name); err == nil {
				names, err = api.deploy(ctx, src)
			}
		}
		if err != nil {
			return deployed, fmt.Errorf("deploying the benchmark statements: %w", err)
		}
		deployed = append(deployed, names...)
	}
	return deployed, nil
}

// pushAll posts the batches in order from conns goroutines; the first
// error stops the others.
func pushAll(ctx context.Context, p *eventPoster, batches []benchBatch, conns int, accepted *atomic.Int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batches) || ctx.Err() != nil {
					return
				}
				if err := p.post(ctx, batches[i].body, batches[i].n); err != nil {
					cancel(err)
					return
				}
				accepted.Add(int64(batches[i].n))
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// peakSampler follows the server's resident memory during the run.
type peakSampler struct {
	target benchTarget
	base   string
	max    atomic.Int64
}

func (s *peakSampler) start(ctx context.Context, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, rss, err := s.target.usage(ctx, s.base); err == nil && rss > s.max.Load() {
				s.max.Store(rss)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (r *benchResult) print(w io.Writer, o benchOptions) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	what := fmt.Sprintf("statement %q", o.name)
	if o.shipped {
		what = "the shipped pipeline (queries/*.sql)"
	} else if o.sqlFile != "" {
		what = o.sqlFile
	}
	fmt.Fprintf(w, "benchmark      %s on stream %q\n", what, o.stream)
	fmt.Fprintf(w, "statements     %d on the server, all drained\n", r.statements)
	fmt.Fprintf(w, "events sent    %d in %d-event batches over %d connections\n", r.sent, o.batch, o.conns)
	if r.span > 0 {
		fmt.Fprintf(w, "event time     %v of traffic (%.0f events/s)\n", r.span.Round(time.Second), float64(r.sent)/r.span.Seconds())
	}
	fmt.Fprintf(w, "accepted/s     %.0f (all accepted after %v)\n", float64(r.accepted)/r.acceptTime.Seconds(), r.acceptTime.Round(time.Millisecond))
	fmt.Fprintf(w, "processed/s    %.0f (taken in by every reader of %q after %v)\n", float64(r.processed)/r.processTime.Seconds(), o.stream, r.processTime.Round(time.Millisecond))
	fmt.Fprintf(w, "429 retries    %d\n", r.throttled)
	fmt.Fprintf(w, "other retries  %d\n", r.failed)
	fmt.Fprintf(w, "dropped        %d\n", r.dropped)
	fmt.Fprintf(w, "server CPU     %.2f s (%.2f cores)\n", r.cpu, r.cpu/r.processTime.Seconds())
	if r.busiest != "" {
		fmt.Fprintf(w, "busiest        %s: processing %.2f s of the %.2f s (%.0f%%)\n", r.busiest, r.busy, r.processTime.Seconds(), 100*r.busy/r.processTime.Seconds())
	}
	if o.embedded {
		fmt.Fprintf(w, "peak RSS       %.0f MiB (this process: server, load clients and %.0f MiB of pre-generated events)\n", mib(r.peakRSS), mib(int64(r.payload)))
	} else {
		fmt.Fprintf(w, "peak RSS       %.0f MiB (sampled from /metrics)\n", mib(r.peakRSS))
	}
}
