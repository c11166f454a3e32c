package server

import (
	"sync"
	"time"

	"sluice/operators"
)

// rateWindow is how far back the ingest rate of a stream looks.
const rateWindow = 10 * time.Second

// rateTracker keeps about rateWindow of per-second samples of every
// stream's ingested counter, so GET /v1/streams can report events/s.
type rateTracker struct {
	mu      sync.Mutex
	samples []rateSample // oldest first
}

type rateSample struct {
	at     time.Time
	counts map[string]uint64
}

func newRateTracker() *rateTracker { return &rateTracker{} }

// observe records the counters at a moment and forgets samples that are
// no longer needed: it keeps the newest one that is at least rateWindow old.
func (t *rateTracker) observe(at time.Time, stats []operators.StreamStats) {
	counts := make(map[string]uint64, len(stats))
	for _, st := range stats {
		counts[st.Name] = st.Ingested
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.samples = append(t.samples, rateSample{at: at, counts: counts})
	drop := 0
	for drop+1 < len(t.samples) && !t.samples[drop+1].at.After(at.Add(-rateWindow)) {
		drop++
	}
	t.samples = t.samples[drop:]
}

// rate is the events/s of a stream whose counter reads ingested at now,
// measured from the oldest sample kept. A stream missing from that sample
// was created since and started at zero.
func (t *rateTracker) rate(name string, ingested uint64, now time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.samples) == 0 {
		return 0
	}
	oldest := t.samples[0]
	secs := now.Sub(oldest.at).Seconds()
	before := oldest.counts[name]
	if secs <= 0 || ingested < before {
		return 0
	}
	return float64(ingested-before) / secs
}

// sampleRates feeds the tracker until Close.
func (s *Server) sampleRates(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	s.rates.observe(time.Now(), s.rt.Streams())
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			s.rates.observe(now, s.rt.Streams())
		}
	}
}
