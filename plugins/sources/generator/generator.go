// Package generator produces realistic clickstream, deterministic from a
// seed: users in sessions with think time and long pauses between
// sessions, a real browser mix, crawlers, tools and one abusive IP, IPs
// from real address blocks of many countries, long-tailed page
// popularity, a view → cart → purchase funnel, long-tailed latency and
// optional out-of-order delivery.
package generator

import (
	"math"
	"math/rand/v2"
	"net/netip"
)

// Generator yields events in event-time order (or, with Jitter, slightly
// out of it). It is not safe for concurrent use.
type Generator struct {
	cfg   Config
	plan  plan
	rng   *rand.Rand
	cat   *catalog
	items *rand.Zipf
	terms *rand.Zipf

	actors   []actor
	sched    []slot // min-heap of the actors' next event times
	firstBot int32
	abuser   int32 // -1 without an abusive IP
	abuserIP netip.Addr
	botMean  []float64 // mean ms between requests of each bot agent

	end     int64      // event time where generation stops
	jitter  int64      // ms
	delay   *rand.Rand // jitter draws apart, so jitter reorders the same events
	pending []delayed
	seq     uint64
	emitted int
	drained bool
}

type slot struct {
	at int64
	id int32
}

// actor is the little state a user or bot carries between clicks;
// everything else about it is derived from a hash of its id.
type actor struct {
	lastTS   int64 // previous click, for the 30-minute session rule
	burstEnd int64 // abuser: end of the current burst
	page     int32 // current page, -1 between sessions
	cart     int32 // page of the item last put in the cart, -1 none
	step     int32 // clicks in this session; the abuser's scrape position
	device   uint8
	carted   bool // the previous click put an item in the cart
	kind     Kind
}

type delayed struct {
	at  int64
	seq uint64
	ev  Event
}

// New checks cfg and lays out the users, bots and catalogue.
func New(cfg Config) (*Generator, error) {
	p, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, mix(cfg.Seed^0x5eed)))
	g := &Generator{
		cfg:    cfg,
		plan:   p,
		rng:    rng,
		cat:    newCatalog(cfg.Items, rng),
		terms:  rand.NewZipf(rng, 1.2, 1, uint64(len(searchTerms)-1)),
		end:    math.MaxInt64,
		jitter: cfg.Jitter.Milliseconds(),
		delay:  rand.New(rand.NewPCG(mix(cfg.Seed^0xde1a), cfg.Seed)),
		abuser: -1,
	}
	g.items = rand.NewZipf(rng, 1.05, 20, uint64(cfg.Items-1))
	start := cfg.Start.UnixMilli()
	if cfg.Duration > 0 {
		g.end = start + cfg.Duration.Milliseconds()
	}
	// Begin in the steady state, as if the shop had been open for a while:
	// each user is at a random point of its cycle. In a session (the share
	// of the cycle sessions take), it clicks when the pause under way ends;
	// a session ends after each click with the same chance, so what is left
	// of one is as long as a new one, and the user starts one. Resting, it
	// is in the fixed half hour, with the rest of it left, or in the
	// exponential tail, which has the whole tail left however long it ran.
	// Starting everyone at rest would hold the rate below the plan for the
	// first minutes and push it above the plan half an hour later.
	for id := 0; id < cfg.Users; id++ {
		at := rng.Float64() * p.cycleMs
		switch {
		case at < sessionMs:
			at = float64(g.thinkLeft())
		case at < sessionMs+restMin:
			at -= sessionMs
		default:
			at = restMin + rng.ExpFloat64()*p.extraMs
		}
		g.add(Human, start+int64(at))
	}
	g.firstBot = int32(len(g.actors))
	if p.botRate > 0 {
		total := 0
		for _, b := range botAgents {
			total += b.weight
		}
		for _, b := range botAgents {
			mean := 1000 / (p.botRate * float64(b.weight) / float64(total))
			g.botMean = append(g.botMean, mean)
			g.add(b.kind, start+int64(rng.ExpFloat64()*mean))
		}
	}
	if p.abuseAvg > 0 {
		g.abuser = int32(len(g.actors))
		g.abuserIP = netip.MustParseAddr(AbusiveIP)
		at := start + abuseDelayMs
		g.add(Abuser, at)
		g.actors[g.abuser].burstEnd = at + burstMs
	}
	for i := len(g.sched)/2 - 1; i >= 0; i-- {
		g.down(i)
	}
	return g, nil
}

func (g *Generator) add(k Kind, at int64) {
	id := int32(len(g.actors))
	g.actors = append(g.actors, actor{page: -1, cart: -1, kind: k})
	g.sched = append(g.sched, slot{at: at, id: id})
}

// Rate is the planned mean number of events per second of event time.
func (g *Generator) Rate() float64 { return g.plan.humanRate + g.plan.botRate + g.plan.abuseAvg }

// Next returns the next event; false once Count or Duration is reached.
func (g *Generator) Next() (Event, bool) {
	if g.cfg.Count > 0 && g.emitted >= g.cfg.Count {
		return Event{}, false
	}
	if g.jitter <= 0 {
		var e Event
		if !g.generate(&e) {
			return Event{}, false
		}
		g.emitted++
		return e, true
	}
	for {
		// An event may leave once no event still to be generated can be
		// due before it: those all have at >= their ts >= sched[0].at.
		if len(g.pending) > 0 && (g.drained || g.pending[0].at <= g.sched[0].at) {
			e := g.popDelayed()
			g.emitted++
			return e, true
		}
		if g.drained {
			return Event{}, false
		}
		var e Event
		if !g.generate(&e) {
			g.drained = true
			continue
		}
		g.pushDelayed(delayed{at: e.TS + g.delay.Int64N(g.jitter+1), seq: g.seq, ev: e})
		g.seq++
	}
}

// AppendNext appends the next event as one NDJSON line.
func (g *Generator) AppendNext(dst []byte) ([]byte, bool) {
	e, ok := g.Next()
	if !ok {
		return dst, false
	}
	return append(e.AppendJSON(dst), '\n'), true
}

// generate fills e with the earliest actor's next click in event time.
func (g *Generator) generate(e *Event) bool {
	s := g.sched[0]
	if s.at >= g.end {
		return false
	}
	a := &g.actors[s.id]
	var next int64
	switch a.kind {
	case Human:
		next = g.human(e, s.id, s.at, a)
	case Abuser:
		next = g.abuse(e, s.id, s.at, a)
	default:
		next = g.bot(e, s.id, s.at, a)
	}
	g.sched[0].at = next
	g.down(0)
	return true
}

func (g *Generator) less(i, j int) bool {
	a, b := g.sched[i], g.sched[j]
	return a.at < b.at || a.at == b.at && a.id < b.id
}

func (g *Generator) down(i int) {
	n := len(g.sched)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && g.less(r, l) {
			m = r
		}
		if !g.less(m, i) {
			return
		}
		g.sched[i], g.sched[m] = g.sched[m], g.sched[i]
		i = m
	}
}

func (d *delayed) before(o *delayed) bool { return d.at < o.at || d.at == o.at && d.seq < o.seq }

func (g *Generator) pushDelayed(d delayed) {
	g.pending = append(g.pending, d)
	i := len(g.pending) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !g.pending[i].before(&g.pending[p]) {
			break
		}
		g.pending[i], g.pending[p] = g.pending[p], g.pending[i]
		i = p
	}
}

func (g *Generator) popDelayed() Event {
	h := g.pending
	e := h[0].ev
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	g.pending = h
	for i := 0; ; {
		l := 2*i + 1
		if l >= last {
			break
		}
		m := l
		if r := l + 1; r < last && h[r].before(&h[l]) {
			m = r
		}
		if !h[m].before(&h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return e
}
