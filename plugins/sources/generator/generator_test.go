package generator

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func testConfig() Config {
	c := DefaultConfig()
	c.Seed = 42
	c.Users = 2000
	c.Start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return c
}

func ndjson(t testing.TB, c Config) []byte {
	t.Helper()
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for ok := true; ok; {
		out, ok = g.AppendNext(out)
	}
	return out
}

func events(t testing.TB, c Config) []Event {
	t.Helper()
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for {
		e, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

func TestDeterministic(t *testing.T) {
	c := testConfig()
	c.Count = 20000
	c.Jitter = 3 * time.Second
	a, b := ndjson(t, c), ndjson(t, c)
	if !bytes.Equal(a, b) {
		t.Fatal("same config gave different output")
	}
	if n := bytes.Count(a, []byte{'\n'}); n != c.Count {
		t.Fatalf("got %d lines, want %d", n, c.Count)
	}
	c.Seed++
	if bytes.Equal(a, ndjson(t, c)) {
		t.Fatal("a different seed gave the same output")
	}
}

// TestSchema decodes every line with encoding/json and checks each field's
// JSON type, and that the structured Event encodes to the same line.
func TestSchema(t *testing.T) {
	c := testConfig()
	c.Count = 30000
	lines := bytes.Split(bytes.TrimSuffix(ndjson(t, c), []byte{'\n'}), []byte{'\n'})
	evs := events(t, c)
	if len(lines) != c.Count || len(evs) != c.Count {
		t.Fatalf("got %d lines and %d events, want %d", len(lines), len(evs), c.Count)
	}
	fields := []string{"ts", "user_id", "mid", "ip", "ua", "page", "last_page", "item_id", "action", "latency_ms", "referrer"}
	for i, line := range lines {
		if got := evs[i].AppendJSON(nil); !bytes.Equal(got, line) {
			t.Fatalf("event %d: Event.AppendJSON = %s, AppendNext = %s", i, got, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if len(m) != len(fields) {
			t.Fatalf("line %d has %d fields, want %d: %s", i, len(m), len(fields), line)
		}
		for _, f := range fields {
			v, ok := m[f]
			if !ok {
				t.Fatalf("line %d lacks %q: %s", i, f, line)
			}
			switch f {
			case "ts", "latency_ms":
				n, ok := v.(float64)
				if !ok || n != float64(int64(n)) || n < 0 {
					t.Fatalf("line %d: %s = %#v, want a non-negative integer", i, f, v)
				}
			case "last_page", "item_id":
				if _, ok := v.(string); !ok && v != nil {
					t.Fatalf("line %d: %s = %#v, want string or null", i, f, v)
				}
			default:
				if _, ok := v.(string); !ok {
					t.Fatalf("line %d: %s = %#v, want a string", i, f, v)
				}
			}
		}
		e := &evs[i]
		if m["user_id"] != e.UserID() || m["mid"] != e.MID() || m["ip"] != e.IP.String() || int64(m["ts"].(float64)) != e.TS {
			t.Fatalf("line %d disagrees with its Event: %s", i, line)
		}
		switch a := Action(m["action"].(string)); a {
		case View:
		case Cart, Purchase:
			if m["item_id"] == nil {
				t.Fatalf("line %d: %s without item_id", i, a)
			}
		default:
			t.Fatalf("line %d: action %q", i, a)
		}
		if p := m["page"].(string); strings.HasPrefix(p, "/item/") && m["item_id"] != strings.TrimPrefix(p, "/item/") {
			t.Fatalf("line %d: item page with item_id %v", i, m["item_id"])
		}
	}
}

// TestSessions recomputes sessions from the events alone (a user's events
// more than 30 minutes apart start a new one) and checks that last_page is
// null exactly on each session's first event and is the previous page
// otherwise, and that a user's sessions are more than 30 minutes apart.
func TestSessions(t *testing.T) {
	c := testConfig()
	c.Users = 300
	c.Count = 40000
	prev := map[int]Event{}
	starts, gaps := 0, 0
	for _, e := range events(t, c) {
		p, seen := prev[e.User]
		prev[e.User] = e
		if seen && e.TS < p.TS {
			t.Fatalf("user %s goes back in time without jitter", e.UserID())
		}
		start := !seen || e.TS-p.TS > 30*60*1000
		if start != e.SessionStart() {
			t.Fatalf("%s at %d: session start %v but last_page %q (previous click %d ms before)", e.UserID(), e.TS, start, e.LastPage, e.TS-p.TS)
		}
		if !start && e.LastPage != p.Page {
			t.Fatalf("%s at %d: last_page %q, previous page %q", e.UserID(), e.TS, e.LastPage, p.Page)
		}
		if start {
			starts++
			if seen {
				gaps++
				if e.Kind == Human && e.TS-p.TS <= 30*60*1000 {
					t.Fatalf("%s: sessions %d ms apart", e.UserID(), e.TS-p.TS)
				}
			}
		} else if e.Kind == Human && e.TS-p.TS > thinkMax {
			t.Fatalf("%s: think time %d ms", e.UserID(), e.TS-p.TS)
		}
	}
	// 40,000 clicks at ~7 per session over ~300 users: most users come back.
	if starts < 4000 || gaps < 3500 {
		t.Fatalf("%d sessions, %d of them returning users: too few to test the gap", starts, gaps)
	}
}

func TestJitterReordersTheSameEvents(t *testing.T) {
	c := testConfig()
	c.Duration = 30 * time.Minute
	ordered := events(t, c)
	c.Jitter = 2 * time.Second
	jittered := events(t, c)
	if len(ordered) != len(jittered) || len(ordered) < 9000 {
		t.Fatalf("%d events without jitter, %d with", len(ordered), len(jittered))
	}
	var maxTS, late int64
	displaced := 0
	for i, e := range jittered {
		if e.TS < maxTS {
			displaced++
			late = max(late, maxTS-e.TS)
		}
		maxTS = max(maxTS, e.TS)
		if i > 0 && ordered[i].TS < ordered[i-1].TS {
			t.Fatalf("without jitter event %d goes back in time", i)
		}
	}
	if late > 2000 {
		t.Fatalf("an event arrived %d ms after a later one; jitter is 2000", late)
	}
	if displaced < len(jittered)/10 || late < 1500 {
		t.Fatalf("only %d of %d events out of order, at most %d ms: jitter not applied", displaced, len(jittered), late)
	}
	key := func(e Event) string { return string(e.AppendJSON(nil)) }
	count := map[string]int{}
	for _, e := range ordered {
		count[key(e)]++
	}
	for _, e := range jittered {
		count[key(e)]--
	}
	for k, n := range count {
		if n != 0 {
			t.Fatalf("jitter changed the events, not just their order: %s (%+d)", k, n)
		}
	}
}

func TestStops(t *testing.T) {
	c := testConfig()
	c.Duration = 10 * time.Minute
	evs := events(t, c)
	end := c.Start.Add(c.Duration).UnixMilli()
	if len(evs) == 0 || evs[len(evs)-1].TS >= end || evs[0].TS < c.Start.UnixMilli() {
		t.Fatalf("%d events, not all within [start, start+10m)", len(evs))
	}
	c.Count = 100
	if n := len(events(t, c)); n != 100 {
		t.Fatalf("count 100 with a duration gave %d events", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no users", func(c *Config) { c.Users = 0 }, "users must be at least 1"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "rate must be"},
		{"too few users for the rate", func(c *Config) { c.Users = 100; c.Rate = 1000 }, "needs at least 259647 users"},
		{"too many users", func(c *Config) { c.Users = MaxUsers + 1 }, "users must be at most 100000000"},
		{"a rate past the users it can keep", func(c *Config) { c.Users = MaxUsers + 1; c.Rate = 1e12 }, "a rate of 1e+12 events/s needs 259646689967630 users"},
		{"a rate whose user count overflows an int", func(c *Config) { c.Rate = 1e19 }, "a rate of 1e+19 events/s needs 2596466899676294545408 users"},
		{"bot share", func(c *Config) { c.BotFraction = 0.9 }, "bot fraction must be within [0, 0.5]"},
		{"NaN bot share", func(c *Config) { c.BotFraction = math.NaN(); c.Rate = 1000 }, "bot fraction must be within"},
		{"negative count", func(c *Config) { c.Count = -5 }, "count must be >= 0"},
		{"negative jitter", func(c *Config) { c.Jitter = -time.Second }, "jitter must be >= 0"},
		{"no items", func(c *Config) { c.Items = 0 }, "items must be within [1, 1000000], got 0"},
		{"too many items", func(c *Config) { c.Items = 2_000_000_000 }, "items must be within [1, 1000000], got 2000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.edit(&c)
			_, err := New(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// The rate holds from the first second and after: the generator starts as
// if the shop had been open for a while, with sessions under way and rests
// part-way through, whether --rate sets the users (rests of about 30
// minutes), more users than the rate needs (longer rests) or none (rests
// of about an hour).
func TestRateIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		name  string
		users int
		rate  float64
	}{
		{"users for the rate", UsersFor(100, 0.04), 100},
		{"more users than the rate needs", 3 * UsersFor(100, 0.04), 100},
		{"no rate", 40000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			c.Users, c.Rate, c.AbuseRate = tc.users, tc.rate, 0
			c.Duration = 150 * time.Minute
			g, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			const bucket = 10 * 60_000 // ms
			counts := make([]int, c.Duration.Milliseconds()/bucket)
			for {
				e, ok := g.Next()
				if !ok {
					break
				}
				counts[(e.TS-c.Start.UnixMilli())/bucket]++
			}
			want := g.Rate()
			for i, n := range counts {
				if got := float64(n) / (bucket / 1000); got < 0.9*want || got > 1.1*want {
					t.Errorf("%.1f events/s in the 10 minutes from %v, want %.1f ± 10%%; per 10 minutes: %v", got, time.Duration(i)*bucket*time.Millisecond, want, counts)
				}
			}
		})
	}
}

func TestUsersFor(t *testing.T) {
	c := testConfig()
	c.Rate = 5000
	c.Users = UsersFor(c.Rate, c.BotFraction)
	if _, err := New(c); err != nil {
		t.Fatalf("UsersFor(%v) = %d users, New says: %v", c.Rate, c.Users, err)
	}
	c.Users--
	if _, err := New(c); err == nil {
		t.Fatalf("%d users accepted for %v events/s; UsersFor said %d", c.Users, c.Rate, c.Users+1)
	}
}

func TestWithUsersForRate(t *testing.T) {
	c := testConfig()
	c.Users, c.Rate = 10, 1000
	if got, want := c.WithUsersForRate().Users, UsersFor(1000, c.BotFraction); got != want {
		t.Fatalf("users %d, want %d", got, want)
	}
	c.Users = 10_000_000
	if got := c.WithUsersForRate().Users; got != 10_000_000 {
		t.Fatalf("users lowered to %d", got)
	}
	c.Rate = 0
	if got := c.WithUsersForRate().Users; got != 10_000_000 {
		t.Fatalf("users %d without a rate", got)
	}
}
