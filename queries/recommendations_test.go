package queries_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
	"sluice/plugins/sinks/redis/redistest"
)

// click is one hand-written event, at offset from 2026-11-21 10:00 UTC.
type click struct {
	at       time.Duration
	user     string
	page     string
	lastPage string // "" for a session's first click
	item     string // "" for pages without an item
	action   string
}

func (c click) json(t *testing.T) []byte {
	t.Helper()
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	b, err := json.Marshal(map[string]any{
		"ts":         time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).Add(c.at).UnixMilli(),
		"user_id":    c.user,
		"mid":        "m-" + c.user,
		"ip":         "81.2.69.142",
		"ua":         "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"page":       c.page,
		"last_page":  nullable(c.lastPage),
		"item_id":    nullable(c.item),
		"action":     c.action,
		"latency_ms": 40,
		"referrer":   "",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ratings counts the clicks 08_recommendations.sql turns into ratings: a
// view, add-to-cart or purchase of an item.
func ratings(clicks []click) uint64 {
	n := uint64(0)
	for _, c := range clicks {
		if c.item != "" && (c.action == "view" || c.action == "cart" || c.action == "purchase") {
			n++
		}
	}
	return n
}

// TestRecommendations runs 08_recommendations.sql in the shipped pipeline
// against a real Redis, with three shoppers whose sessions build the
// co-occurrence scores, then clicks whose recommendations must land
// within a second. Every number below is worked out by hand from the
// weights (view 1, cart 3, purchase 5).
func TestRecommendations(t *testing.T) {
	s := time.Second
	training := []click{
		// u1: the home page (no item, no rating: its session_seq 1 is not
		// a rating's), then A, B, B to the cart, B bought.
		{0 * s, "u1", "/", "", "", "view"},
		{10 * s, "u1", "/item/A", "/", "A", "view"},           // sess u1 [A]
		{20 * s, "u1", "/item/B", "/item/A", "B", "view"},     // sim:B A+1, sim:A B+1; rec:u1 [A]
		{30 * s, "u1", "/cart", "/item/B", "B", "cart"},       // sim:B A+3, sim:A B+3
		{40 * s, "u1", "/checkout", "/cart", "B", "purchase"}, // sim:B A+5, sim:A B+5 → A:9 / B:9
		// u2: A, then C viewed and carted.
		{50 * s, "u2", "/item/A", "", "A", "view"},        // top(sim:A)=[B]; rec:u2 [B]
		{60 * s, "u2", "/item/C", "/item/A", "C", "view"}, // sim:C A+1, sim:A C+1; rec:u2 [A B]
		{70 * s, "u2", "/cart", "/item/C", "C", "cart"},   // sim:C A+3, sim:A C+3 → C:4
		// u3: B, C, D viewed.
		{80 * s, "u3", "/item/B", "", "B", "view"},         // top(sim:B)=[A]; rec:u3 [A]
		{90 * s, "u3", "/item/C", "/item/B", "C", "view"},  // sim:C B+1, sim:B C+1; top(sim:C)=[A:4 B:1]; rec:u3 [A B]
		{100 * s, "u3", "/item/D", "/item/C", "D", "view"}, // sim:D C+1 B+1, sim:C D+1, sim:B D+1;
		// top(sim:D)=[C B] (a tie: the member that sorts last first); rec:u3 [C B A]
	}
	trained := map[string]string{
		"sim:A":  "zset C:4;B:9; no ttl",
		"sim:B":  "zset C:1;D:1;A:9; no ttl",
		"sim:C":  "zset B:1;D:1;A:4; no ttl",
		"sim:D":  "zset B:1;C:1; no ttl",
		"rec:u1": "list A no ttl",
		"rec:u2": "list A,B no ttl",
		"rec:u3": "list C,B,A no ttl",
	}
	later := []struct {
		click click
		key   string
		want  []string
	}{
		// A new visitor looks at A: A's best matches, B then C.
		{click{200 * s, "u4", "/item/A", "", "A", "view"}, "rec:u4", []string{"B", "C"}},
		// and then at D: sim:D A+1, sim:A D+1; D's matches tie at 1: C, B, A.
		{click{210 * s, "u4", "/item/D", "/item/A", "D", "view"}, "rec:u4", []string{"C", "B", "A"}},
		// u1 comes back within the session to D, seen with B and A there:
		// sim:D B+1 A+1 → A:2 B:2 C:1, so B, A, C go in front of u1's A.
		{click{220 * s, "u1", "/item/D", "/checkout", "D", "view"}, "rec:u1", []string{"B", "A", "C"}},
	}
	final := map[string]string{
		"sim:A":  "zset D:2;C:4;B:9; no ttl",
		"sim:B":  "zset C:1;D:2;A:9; no ttl",
		"sim:C":  "zset B:1;D:1;A:4; no ttl",
		"sim:D":  "zset C:1;A:2;B:2; no ttl",
		"rec:u1": "list B,A,C no ttl",
		"rec:u2": "list A,B no ttl",
		"rec:u3": "list C,B,A no ttl",
		"rec:u4": "list C,B,A no ttl",
	}
	// Each session's recent items, newest first, and the session_seq of
	// its ratings (the seen set that makes a replay change nothing).
	sessions := []string{
		"list C,A ttl 6h0m0s | set 1,2,3 ttl 6h0m0s",       // u2
		"list D,A ttl 6h0m0s | set 1,2 ttl 6h0m0s",         // u4
		"list D,B,A ttl 6h0m0s | set 2,3,4,5,6 ttl 6h0m0s", // u1
		"list D,C,B ttl 6h0m0s | set 1,2,3 ttl 6h0m0s",     // u3
	}
	slices.Sort(sessions)

	clicks := slices.Clone(training)
	for _, l := range later {
		clicks = append(clicks, l.click)
	}
	rated := ratings(clicks)

	redisSrv := redistest.NewServer(t)
	rc := redisClient(t, redisSrv.Addr())
	env := &operators.Env{RedisURL: redisSrv.URL()}
	app := startSluice(t, env, nil)
	var lines [][]byte
	for _, c := range training {
		lines = append(lines, c.json(t))
	}
	app.ingest(t, lines)
	app.settle(t)
	sameDump(t, "after the training clicks", appState(t, rc), trained)

	for _, l := range later {
		line := l.click.json(t)
		lines = append(lines, line)
		sent := time.Now()
		app.ingest(t, [][]byte{line})
		var got []string
		for !slices.Equal(got, l.want) {
			if time.Since(sent) > time.Second {
				t.Fatalf("%s clicked %s: %s = %q a second later, want %q", l.click.user, l.click.item, l.key, got, l.want)
			}
			time.Sleep(5 * time.Millisecond)
			got = rc.LRange(context.Background(), l.key, 0, -1).Val()
		}
		t.Logf("%s clicked %s: %s = %q after %v", l.click.user, l.click.item, l.key, got, time.Since(sent).Round(time.Millisecond))
	}
	app.settle(t)
	sameDump(t, "after the later clicks", appState(t, rc), final)
	if got := sessionState(t, rc); !slices.Equal(got, sessions) {
		t.Fatalf("sessions:\n%q\nwant\n%q", got, sessions)
	}
	if got := app.sinkCounters(t, "recommendations")["redis"]; got["acked"] != rated || got["dead_lettered"] != 0 {
		t.Fatalf("recommendations sink counters %v, want the %d ratings acknowledged", got, rated)
	}

	// A replay after a restart: a new sluice reads every event again from
	// the start. The sessionizer gives each event the session and
	// session_seq it had, every rating is found in its session's seen set,
	// and neither a score nor a list changes.
	before := redisDump(t, rc, "*")
	app.stop()
	app = startSluice(t, env, nil)
	app.ingest(t, lines)
	app.settle(t)
	sameDump(t, "after a replay", redisDump(t, rc, "*"), before)
	if got := app.sinkCounters(t, "recommendations")["redis"]; got["acked"] != rated || got["dead_lettered"] != 0 {
		t.Fatalf("recommendations sink counters in the replay %v, want the %d ratings acknowledged", got, rated)
	}
}

// Without --redis-url and --es-url both applications still run: their rows
// go on (live over SSE), and their status names what is missing.
func TestAppsRunWithoutRedisOrElasticsearch(t *testing.T) {
	app := startSluice(t, &operators.Env{}, nil)
	clicks := []click{
		{0, "u1", "/item/A", "", "A", "view"},
		{time.Second, "u1", "/item/B", "/item/A", "B", "view"},
		{2 * time.Second, "u2", "/", "", "", "view"},
	}
	var lines [][]byte
	starts := uint64(0) // DAU's candidates at 10:00: the sessions' first clicks
	for _, c := range clicks {
		lines = append(lines, c.json(t))
		if c.lastPage == "" {
			starts++
		}
	}
	app.ingest(t, lines)
	app.settle(t)
	for _, tc := range []struct {
		name   string
		rows   uint64
		status string
	}{
		{"dau", starts, "degraded: redis sink: no Redis address (set --redis-url): not configured"},
		{"ratings", ratings(clicks), "running"},
		{"recommendations", ratings(clicks), "degraded: redis sink: no Redis address (set --redis-url): not configured"},
	} {
		q, _ := app.rt.Query(tc.name)
		if st := q.Stats(); st.Out != tc.rows || q.Status() != tc.status {
			t.Errorf("%s: %d rows out, status %q; want %d rows, %q", tc.name, st.Out, q.Status(), tc.rows, tc.status)
		}
	}
}

// appState is the keys a shop front reads: sim:* and rec:*.
func appState(t *testing.T, rc *goredis.Client) map[string]string {
	t.Helper()
	out := redisDump(t, rc, "sim:*")
	maps.Copy(out, redisDump(t, rc, "rec:*"))
	return out
}

// sessionState is each session's recent-items list and seen set, sorted:
// session ids are hashes, so the test knows sessions by their contents.
func sessionState(t *testing.T, rc *goredis.Client) []string {
	t.Helper()
	dump := redisDump(t, rc, "sess:*")
	var out []string
	for k, v := range dump {
		if strings.HasSuffix(k, ":seen") {
			continue
		}
		seen, ok := dump[k+":seen"]
		if !ok {
			t.Fatalf("session %s has no seen set", k)
		}
		out = append(out, v+" | "+seen)
	}
	if len(out)*2 != len(dump) {
		t.Fatalf("session keys %q", dump)
	}
	slices.Sort(out)
	return out
}
