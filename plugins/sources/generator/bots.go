package generator

import "net/netip"

var botPrefixes = func() []netip.Prefix {
	out := make([]netip.Prefix, len(botAgents))
	for i, b := range botAgents {
		out[i] = netip.MustParsePrefix(b.prefix)
	}
	return out
}()

// bot makes one request of a crawler, tool or headless scraper. Requests
// are a Poisson process; a pause of more than 30 minutes starts a new
// session, as it does for people.
func (g *Generator) bot(e *Event, id int32, ts int64, a *actor) int64 {
	i := id - g.firstBot
	b := &botAgents[i]
	h := mix(g.cfg.Seed ^ mix(uint64(id)^0xb07))
	if b.rotate {
		h = g.rng.Uint64()
	}
	*e = Event{TS: ts, User: int(id), Device: deviceID(g.cfg.Seed, uint64(id), 0), IP: addrIn(botPrefixes[i], h), UA: b.ua, Action: View, Kind: b.kind}
	var next int32
	switch r := g.rng.IntN(100); {
	case b.kind == Headless && r < 85:
		next = g.popularItem()
	case b.kind == Headless:
		next = g.search()
	case b.ua == UAUptimeRobot || r < 8:
		next = 0
	case r < 20:
		next = g.category()
	default:
		// Crawlers and scripts walk the whole catalogue, not just the hits.
		next = int32(g.cat.firstIt + g.rng.IntN(g.cat.items))
	}
	g.request(e, a, ts, next)
	gap := int64(g.rng.ExpFloat64() * g.botMean[i])
	if gap == sessionGap {
		gap++ // keep every gap clearly inside or outside a session
	}
	return ts + gap
}

// abuse makes one request of the abusive IP: it scrapes item pages in
// order, about AbuseRate a second during one-minute bursts, then pauses
// so that it averages half of the bot share.
func (g *Generator) abuse(e *Event, id int32, ts int64, a *actor) int64 {
	*e = Event{TS: ts, User: int(id), Device: deviceID(g.cfg.Seed, uint64(id), 0), IP: g.abuserIP, UA: abuserUA, Action: View, Kind: Abuser}
	next := int32(g.cat.firstIt) + a.step%int32(g.cat.items)
	a.step++
	g.request(e, a, ts, next)
	at := ts + int64(1000/g.cfg.AbuseRate*(0.5+g.rng.Float64()))
	if at >= a.burstEnd {
		at = a.burstEnd + int64(g.plan.abuseGapMs)
		if at-ts == sessionGap {
			at++
		}
		a.burstEnd = at + burstMs
	}
	return at
}

// request fills the page fields of an automated request and remembers it
// for the next one's last_page.
func (g *Generator) request(e *Event, a *actor, ts int64, next int32) {
	p := &g.cat.pages[next]
	e.Page, e.ItemID = p.path, p.item
	if a.page >= 0 && ts-a.lastTS <= sessionGap {
		e.LastPage = g.cat.pages[a.page].path
	}
	e.LatencyMS = g.latency(p.kind)
	a.page, a.lastTS = next, ts
}
