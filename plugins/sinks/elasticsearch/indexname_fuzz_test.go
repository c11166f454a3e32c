package elasticsearch

import "testing"

// FuzzIndexPattern parses arbitrary index arguments: a pattern accepted at
// deploy time must name a valid index at every time a row can carry, so
// that no write fails on the name.
func FuzzIndexPattern(f *testing.F) {
	for _, s := range []string{"metrics-{yyyy.MM.dd}", "dau-{yyyy-MM-dd}", "logs-{yy}{MM}-{HH}", "plain", "{.}", "x{+}", "{}", "a{b}"} {
		f.Add(s, int64(1_700_000_000_000))
	}
	f.Fuzz(func(t *testing.T, src string, ms int64) {
		p, err := parseIndexPattern(src)
		if err != nil {
			return
		}
		ms = (ms%4_000_000_000_000 + 4_000_000_000_000) % 4_000_000_000_000 // 1970 to 2096
		if err := checkIndexName(p.name(ms)); err != nil {
			t.Fatalf("index=%q accepted, but at %d: %v", src, ms, err)
		}
	})
}
