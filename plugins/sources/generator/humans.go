package generator

import (
	"math"
	"net/netip"
)

// Funnel and navigation, per mille.
const (
	cartPerMille     = 90  // an item view leads to add-to-cart
	purchasePerMille = 400 // an add-to-cart leads straight to purchase
)

// externalReferrers are where sessions come from ("" = typed or bookmarked).
var externalReferrers = []struct {
	url    string
	weight int
}{
	{"", 330},
	{"https://www.google.com/", 350},
	{"https://www.bing.com/", 60},
	{"https://duckduckgo.com/", 30},
	{"https://www.facebook.com/", 80},
	{"https://t.co/", 50},
	{"https://www.instagram.com/", 50},
	{"https://news.ycombinator.com/", 30},
}

// human makes the click of a user at ts and returns when the user clicks
// next: after a think time within the session, or after a rest of more
// than 30 minutes once the session ends.
func (g *Generator) human(e *Event, id int32, ts int64, a *actor) int64 {
	u := uint64(id)
	if a.page < 0 {
		a.device = g.pickDevice(u)
		a.step = 0
		a.cart = -1
		a.carted = false
	}
	dev := deviceID(g.cfg.Seed, u, a.device)
	class := deviceClassOf(dev)
	*e = Event{TS: ts, User: int(id), Device: dev, IP: g.deviceIP(u, dev), UA: deviceUA(class, dev), Action: View, Kind: Human,
		Country: countries[g.countryOf(u)].code, DeviceClass: class.name}

	var next int32
	if a.page < 0 {
		next = g.landing()
		e.Referrer = externalReferrers[pickWeighted(len(externalReferrers), func(i int) int { return externalReferrers[i].weight }, g.rng.IntN(1000))].url
	} else {
		prev := &g.cat.pages[a.page]
		e.LastPage, e.Referrer = prev.path, prev.url
		next, e.Action = g.click(a, prev)
	}
	p := &g.cat.pages[next]
	e.Page, e.ItemID = p.path, p.item
	if e.Action != View {
		e.ItemID = g.cat.pages[a.cart].item
	}
	e.LatencyMS = g.latency(p.kind)

	a.page = next
	a.step++
	if a.step >= maxSession || g.rng.IntN(1000) < exitPerMille {
		a.page = -1
		return ts + restMin + int64(g.rng.ExpFloat64()*g.plan.extraMs)
	}
	return ts + g.think()
}

func (g *Generator) landing() int32 {
	switch r := g.rng.IntN(100); {
	case r < 30:
		return 0
	case r < 75:
		return g.popularItem()
	case r < 90:
		return g.search()
	default:
		return g.category()
	}
}

// click moves a session on from prev: the funnel first, then browsing.
func (g *Generator) click(a *actor, prev *page) (int32, Action) {
	if a.carted {
		a.carted = false
		if g.rng.IntN(1000) < purchasePerMille {
			return 2, Purchase
		}
	} else if prev.kind == pageItem && g.rng.IntN(1000) < cartPerMille {
		a.cart = a.page
		a.carted = true
		return 1, Cart
	}
	switch r := g.rng.IntN(100); {
	case r < 58:
		return g.popularItem(), View
	case r < 73:
		return g.search(), View
	case r < 85:
		return g.category(), View
	case r < 95:
		return 0, View
	default:
		return 1, View
	}
}

func (g *Generator) popularItem() int32 { return g.cat.itemRank[g.items.Uint64()] }
func (g *Generator) search() int32      { return int32(g.cat.firstQ) + int32(g.terms.Uint64()) }
func (g *Generator) category() int32 {
	return int32(g.cat.firstCat + g.rng.IntN(len(categories)))
}

// think is the pause between two clicks: lognormal, median 7 s, long
// tail, at most 20 minutes.
func (g *Generator) think() int64 {
	ms := thinkMedian * math.Exp(thinkSigma*g.rng.NormFloat64())
	return int64(math.Min(math.Max(ms, 300), thinkMax))
}

// thinkLeft is what is left of the pause a user in a session is in at a
// random moment. Long pauses are more likely to be underway, so the pause
// is drawn size-biased (for a lognormal: its median e^σ² times longer), and
// a uniform share of it is left.
func (g *Generator) thinkLeft() int64 {
	ms := thinkMedian * math.Exp(thinkSigma*thinkSigma+thinkSigma*g.rng.NormFloat64())
	return int64(g.rng.Float64() * math.Min(math.Max(ms, 300), thinkMax))
}

// latencyMedian is the server time per page kind, ms.
var latencyMedian = [...]float64{
	pageHome: 40, pageCart: 90, pageCheckout: 250, pageCategory: 70, pageSearch: 140, pageItem: 60,
}

// latency is lognormal around the page's median with a 2% Pareto tail
// (cache misses, GC pauses, slow backends), capped at 30 s.
func (g *Generator) latency(k pageKind) int {
	ms := latencyMedian[k] * math.Exp(0.5*g.rng.NormFloat64())
	if g.rng.IntN(1000) < 20 {
		ms *= 5 / math.Pow(1-g.rng.Float64(), 1/1.2)
	}
	return int(math.Min(math.Max(ms, 1), 30000))
}

// pickDevice chooses the device of a new session: the user's main device
// most of the time.
func (g *Generator) pickDevice(u uint64) uint8 {
	n := devicesOf(g.cfg.Seed, u)
	if n == 1 || g.rng.IntN(100) < 60 {
		return 0
	}
	return uint8(1 + g.rng.IntN(n-1))
}

// devicesOf is how many devices a user owns: 1 (50%), 2 (35%) or 3.
func devicesOf(seed, u uint64) int {
	switch h := mix(seed^mix(u^0xde71ce5)) % 100; {
	case h < 50:
		return 1
	case h < 85:
		return 2
	default:
		return 3
	}
}

// deviceID is a user's device number d as a stable 64-bit id (mid).
func deviceID(seed, u uint64, d uint8) uint64 {
	return mix(seed ^ mix(u<<8|uint64(d)+0x1d))
}

// deviceClassOf picks the device's class from its id.
func deviceClassOf(dev uint64) *deviceClass {
	return &deviceClasses[pickWeighted(len(deviceClasses), func(i int) int { return deviceClasses[i].weight }, int(dev%1000))]
}

// deviceUA picks the device's browser within its class from its id.
func deviceUA(c *deviceClass, dev uint64) string {
	total := 0
	for _, a := range c.agents {
		total += a.weight
	}
	return c.agents[pickWeighted(len(c.agents), func(i int) int { return c.agents[i].weight }, int((dev>>16)%uint64(total)))].ua
}

// deviceIP is the device's address in its owner's country; a quarter of
// devices in countries with IPv6 blocks use IPv6.
func (g *Generator) deviceIP(u, dev uint64) netip.Addr {
	c := &countries[g.countryOf(u)]
	h := mix(dev ^ 0x1f)
	if len(c.v6) > 0 && h%1000 < v6Share {
		return addrIn(c.v6[(h>>10)%uint64(len(c.v6))], mix(h))
	}
	return addrIn(c.v4[(h>>10)%uint64(len(c.v4))], mix(h))
}

var countryTotal = func() int {
	t := 0
	for _, c := range countries {
		t += c.weight
	}
	return t
}()

func (g *Generator) countryOf(u uint64) int {
	r := int(mix(g.cfg.Seed^mix(u^0xc0)) % uint64(countryTotal))
	return pickWeighted(len(countries), func(i int) int { return countries[i].weight }, r)
}

// pickWeighted returns the index whose cumulative weight range holds r.
func pickWeighted(n int, weight func(int) int, r int) int {
	for i := 0; i < n-1; i++ {
		r -= weight(i)
		if r < 0 {
			return i
		}
	}
	return n - 1
}

// mix is the splitmix64 finaliser: a fast, well-spread 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
