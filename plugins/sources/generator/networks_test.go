package generator

import (
	"net/netip"
	"testing"

	"github.com/phuslu/iploc"
)

// TestCountryBlocks checks every block's label against iploc at addresses
// spread over the whole block, so geo_country(ip) agrees with the table.
func TestCountryBlocks(t *testing.T) {
	for _, c := range countries {
		for _, p := range append(append([]netip.Prefix{}, c.v4...), c.v6...) {
			for i := uint64(0); i < 512; i++ {
				a := addrIn(p, mix(i))
				if !p.Contains(a) {
					t.Fatalf("%s: %s outside %s", c.code, a, p)
				}
				if got := iploc.IPCountry(a); got != c.code {
					t.Fatalf("%s: iploc says %s is in %q", c.code, a, got)
				}
			}
		}
	}
}

func TestBotBlocks(t *testing.T) {
	want := map[string]string{ // operators' published ranges and the clouds scripts run in
		"66.249.64.0/19": "US", "157.55.39.0/24": "US", "40.77.167.0/24": "US", "5.255.253.0/24": "RU",
		"54.36.148.0/24": "FR", "17.241.0.0/16": "US", "167.99.0.0/20": "US", "3.80.0.0/16": "US",
		"178.62.0.0/20": "GB", "88.198.0.0/16": "DE", "138.68.0.0/20": "US", "54.210.0.0/16": "US",
	}
	for i, b := range botAgents {
		c, ok := want[b.prefix]
		if !ok {
			t.Fatalf("bot block %s has no expected country in this test", b.prefix)
		}
		for j := uint64(0); j < 256; j++ {
			a := addrIn(botPrefixes[i], mix(j))
			if got := iploc.IPCountry(a); got != c {
				t.Fatalf("%s: iploc says %s is in %q, want %s", b.prefix, a, got, c)
			}
		}
	}
	if got := iploc.IPCountry(netip.MustParseAddr(AbusiveIP)); got != "RU" {
		t.Fatalf("abusive IP %s is in %q, want RU", AbusiveIP, got)
	}
}

func TestAddrInIsAHostAddress(t *testing.T) {
	p := netip.MustParsePrefix("10.1.0.0/16")
	for i := uint64(0); i < 4096; i++ {
		b := addrIn(p, i).As4()
		if b[3] == 0 || b[3] == 255 {
			t.Fatalf("addrIn(%s, %d) = %v: network or broadcast-looking address", p, i, b)
		}
	}
}
