package generator

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/mileusna/useragent"
	"github.com/phuslu/iploc"
)

func TestBotShare(t *testing.T) {
	c := testConfig()
	c.Users = 20000
	c.Count = 300000
	kinds := map[Kind]int{}
	for _, e := range events(t, c) {
		kinds[e.Kind]++
	}
	bots := c.Count - kinds[Human]
	share := float64(bots) / float64(c.Count)
	t.Logf("bot share %.4f, by kind %v", share, kinds)
	if share < 0.035 || share > 0.045 {
		t.Fatalf("bot share %.4f, want 0.04 ± 0.005", share)
	}
	for _, k := range []Kind{Crawler, Tool, Headless, Abuser} {
		if kinds[k] == 0 {
			t.Fatalf("no %s events", k)
		}
	}
	if c.BotFraction = 0; true {
		for _, e := range events(t, c) {
			if e.Bot() {
				t.Fatalf("bot fraction 0 gave a %s event", e.Kind)
			}
		}
	}
}

// TestAbusiveIP counts requests per IP per 10-second window: the abusive
// IP passes 300 in every window inside its bursts, and no other IP ever
// does, so a HAVING COUNT(*) > 300 detector flags exactly that one.
func TestAbusiveIP(t *testing.T) {
	c := testConfig()
	c.Users = 20000
	c.Count = 300000
	type key struct {
		ip  netip.Addr
		win int64
	}
	perWindow := map[key]int{}
	for _, e := range events(t, c) {
		perWindow[key{e.IP, e.TS / 10000}]++
	}
	abusive := netip.MustParseAddr(AbusiveIP)
	var hot []int
	for k, n := range perWindow {
		if k.ip == abusive && n > 300 {
			hot = append(hot, n)
		}
		if k.ip != abusive && n > 300 {
			t.Fatalf("%s made %d requests in one window", k.ip, n)
		}
	}
	// 300,000 events at ~42/s span ~2 hours: at least one full burst of a
	// minute at ~50/s, which covers five aligned windows of ~500.
	slices.Sort(hot)
	t.Logf("abusive windows over 300: %v", hot)
	if len(hot) < 5 || hot[0] < 400 {
		t.Fatalf("abusive IP windows over 300: %v, want at least 5 of ~500", hot)
	}
}

func TestCountries(t *testing.T) {
	c := testConfig()
	c.Count = 10000
	per, human := map[string]int{}, map[string]int{}
	v6 := 0
	for _, e := range events(t, c) {
		code := iploc.IPCountry(e.IP)
		per[code]++
		if e.Kind == Human {
			human[code]++
		}
		if e.IP.Is6() {
			v6++
		}
	}
	t.Logf("countries %v, IPv6 %d", per, v6)
	if len(per) < 20 {
		t.Fatalf("%d countries in 10,000 events, want at least 20: %v", len(per), per)
	}
	if per["ZZ"] > 0 || per[""] > 0 {
		t.Fatalf("%d events from addresses iploc cannot place", per["ZZ"]+per[""])
	}
	for code, n := range human {
		if code != "US" && n >= human["US"] {
			t.Fatalf("%s has %d human events, more than the US's %d", code, n, human["US"])
		}
	}
	if v6 < 500 || v6 > 2500 {
		t.Fatalf("%d IPv6 events of 10,000", v6)
	}
}

// TestDevices parses every user agent with mileusna/useragent: people use
// desktops, phones and tablets; bots other than the abusive IP are bots
// or scripts by their user agent.
func TestDevices(t *testing.T) {
	c := testConfig()
	c.Count = 50000
	var desktop, mobile, tablet, humans int
	for _, e := range events(t, c) {
		ua := useragent.Parse(e.UA)
		switch e.Kind {
		case Human:
			humans++
			if ua.Bot {
				t.Fatalf("human event with bot user agent %q", e.UA)
			}
			switch {
			case ua.Tablet:
				tablet++
			case ua.Mobile:
				mobile++
			case ua.Desktop:
				desktop++
			default:
				t.Fatalf("user agent %q is no known device", e.UA)
			}
		case Crawler, Headless:
			if !ua.Bot {
				t.Fatalf("%s user agent %q not a bot to useragent", e.Kind, e.UA)
			}
		case Tool:
			if ua.Desktop || ua.Mobile || ua.Tablet {
				t.Fatalf("tool user agent %q looks like a device", e.UA)
			}
		}
	}
	share := func(n int) float64 { return float64(n) / float64(humans) }
	t.Logf("desktop %.3f mobile %.3f tablet %.3f", share(desktop), share(mobile), share(tablet))
	if share(desktop) < 0.3 || share(mobile) < 0.4 || share(tablet) < 0.03 {
		t.Fatalf("device mix desktop %.3f mobile %.3f tablet %.3f", share(desktop), share(mobile), share(tablet))
	}
}

// TestFunnel checks the view → cart → purchase ratios and that every cart
// and purchase follows from the session's pages.
func TestFunnel(t *testing.T) {
	c := testConfig()
	c.Count = 200000
	actions := map[Action]int{}
	cart := map[int]string{}
	for _, e := range events(t, c) {
		actions[e.Action]++
		switch e.Action {
		case Cart:
			if e.Page != "/cart" || e.LastPage != "/item/"+e.ItemID {
				t.Fatalf("cart of item %s on %s after %s", e.ItemID, e.Page, e.LastPage)
			}
			cart[e.User] = e.ItemID
		case Purchase:
			if e.Page != "/checkout" || e.LastPage != "/cart" || cart[e.User] != e.ItemID {
				t.Fatalf("purchase of %s on %s after %s; last cart %s", e.ItemID, e.Page, e.LastPage, cart[e.User])
			}
		}
	}
	t.Logf("actions %v", actions)
	if r := float64(actions[Cart]) / float64(actions[View]); r < 0.02 || r > 0.08 {
		t.Fatalf("carts per view %.3f", r)
	}
	if r := float64(actions[Purchase]) / float64(actions[Cart]); r < 0.25 || r > 0.45 {
		t.Fatalf("purchases per cart %.3f", r)
	}
}

// TestLongTails checks Zipf page popularity, latency and think time.
func TestLongTails(t *testing.T) {
	c := testConfig()
	c.Count = 200000
	c.BotFraction = 0
	itemViews := map[string]int{}
	var latency, think []int
	last := map[int]int64{}
	for _, e := range events(t, c) {
		if e.Action == View && e.ItemID != "" {
			itemViews[e.ItemID]++
		}
		latency = append(latency, e.LatencyMS)
		if !e.SessionStart() {
			think = append(think, int(e.TS-last[e.User]))
		}
		last[e.User] = e.TS
	}
	counts := make([]int, 0, len(itemViews))
	total := 0
	for _, n := range itemViews {
		counts = append(counts, n)
		total += n
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, n := range counts[:c.Items/100] {
		top += n
	}
	slices.Sort(latency)
	slices.Sort(think)
	pct := func(s []int, p int) int { return s[len(s)*p/100] }
	t.Logf("top 1%% of items: %.3f of item views; %d items seen; latency p50 %d p99 %d max %d; think p50 %d p90 %d",
		float64(top)/float64(total), len(counts), pct(latency, 50), pct(latency, 99), latency[len(latency)-1], pct(think, 50), pct(think, 90))
	if share := float64(top) / float64(total); share < 0.2 || share > 0.5 {
		t.Fatalf("top 1%% of items get %.3f of item views: not long-tailed", share)
	}
	if len(counts) < c.Items/2 {
		t.Fatalf("only %d of %d items ever viewed: no tail", len(counts), c.Items)
	}
	if p50, p99 := pct(latency, 50), pct(latency, 99); p50 < 40 || p50 > 120 || p99 < 4*p50 || latency[len(latency)-1] > 30000 {
		t.Fatalf("latency p50 %d p99 %d max %d", p50, p99, latency[len(latency)-1])
	}
	if p50, p90 := pct(think, 50), pct(think, 90); p50 < 5000 || p50 > 10000 || p90 < 2*p50 {
		t.Fatalf("think time p50 %d p90 %d", p50, p90)
	}
}
