package functions

import (
	"strings"
	"sync"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/mileusna/useragent"

	"sluice/operators"
)

// device is what sluice keeps of a parsed user agent.
type device struct {
	kind    string // desktop, mobile, tablet, bot or unknown
	browser string
	version string
	os      string
	bot     bool
}

// deviceCache holds parsed user agents by UA string. Parsing costs
// microseconds and real traffic repeats a few thousand user agents, so
// after warm-up nearly every lookup is a hit. Bounded at 100,000 entries.
var deviceCache = sync.OnceValue(func() *ristretto.Cache[string, device] {
	c, err := ristretto.NewCache(&ristretto.Config[string, device]{
		NumCounters:        1_000_000,
		MaxCost:            100_000,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		panic("functions: user-agent cache: " + err.Error()) // only on a bad constant config
	}
	return c
})

func init() {
	ua := func(name, doc string, field func(device) string) {
		text(name, doc, func(s string) operators.Value {
			if v := field(lookupDevice(s)); v != "" {
				return operators.Str(v)
			}
			return operators.Null()
		})
	}
	ua("device_type", "device_type(ua): desktop, mobile, tablet, bot or unknown", func(d device) string { return d.kind })
	ua("browser", "browser(ua): browser name, e.g. Chrome, Firefox, Safari, Edge (NULL when unknown)", func(d device) string { return d.browser })
	ua("browser_version", "browser_version(ua): browser version, e.g. 124.0.6367.82 (NULL when unknown)", func(d device) string { return d.version })
	ua("os", "os(ua): operating system, e.g. Windows, macOS, iOS, Android, Linux (NULL when unknown)", func(d device) string { return d.os })
}

func lookupDevice(ua string) device {
	c := deviceCache()
	if d, ok := c.Get(ua); ok {
		return d
	}
	d := parseDevice(ua)
	c.Set(ua, d, 1)
	return d
}

func parseDevice(s string) device {
	u := useragent.Parse(s)
	d := device{browser: u.Name, version: u.Version, os: u.OS, bot: u.Bot || matchesBotAgent(s)}
	switch {
	case d.bot:
		d.kind = "bot"
	// Android tablets leave "Mobile" out of their user agent, which the
	// parser does not use.
	case u.Tablet, u.OS == useragent.Android && !strings.Contains(s, "Mobile"):
		d.kind = "tablet"
	case u.Mobile:
		d.kind = "mobile"
	case u.Desktop:
		d.kind = "desktop"
	default:
		d.kind = "unknown"
	}
	return d
}
