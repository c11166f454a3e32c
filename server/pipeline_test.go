package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sluice/operators"
	_ "sluice/plugins"
	"sluice/plugins/sources/generator"
	"sluice/queries"
	"sluice/server"
)

// TestShippedPipeline feeds the shipped pipeline over HTTP with generated
// clickstream and checks its results against numbers computed from the
// generator's own labels — which events are bots, where each visitor's IP
// comes from, what device it is, where sessions start — not from sluice.
func TestShippedPipeline(t *testing.T) {
	cfg := generator.DefaultConfig()
	cfg.Seed, cfg.Users, cfg.Count = 7, 2000, 12000
	cfg.BotFraction, cfg.AbuseRate = 0.05, 0 // the abusive IP is the detector test's
	cfg.Jitter = 2 * time.Second             // out of order, within the 5 s lateness
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	var events []generator.Event
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		events = append(events, e)
	}

	// Expected numbers, from the generator's labels.
	type winKey struct {
		start int64
		label string
	}
	humans, sessions := 0, 0
	byCountry, byDevice := map[winKey]int{}, map[winKey]int{}
	var maxTS int64
	for _, e := range events {
		maxTS = max(maxTS, e.TS)
		if e.Bot() {
			continue
		}
		humans++
		if e.SessionStart() {
			sessions++
		}
		w := e.TS - e.TS%10_000
		byCountry[winKey{w, e.Country}]++
		byDevice[winKey{w, e.DeviceClass}]++
	}
	if humans == len(events) || sessions == 0 {
		t.Fatalf("generator made %d humans of %d events, %d sessions", humans, len(events), sessions)
	}

	rt := operators.NewRuntime(operators.RuntimeConfig{})
	defer rt.Close()
	// Windows close by event time alone, whatever the machine's speed.
	rt.EventTimeOnly("events")
	srv, err := server.New(server.Config{}, rt)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	files, _ := fs.Glob(queries.Files, "*.sql")
	for _, f := range files {
		src, _ := fs.ReadFile(queries.Files, f)
		if _, err := srv.DeploySQL(string(src)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	post(t, ts.URL+"/v1/queries", `@Name("country_views") @EventTime(column="ts", lateness="5s")
SELECT country, COUNT(*) AS views FROM sessionized GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country`, http.StatusCreated)

	// The live SSE view drops rows a slow reader cannot take (and counts
	// them); the test reads through subscriptions with room for every row.
	countryRows := subscribe(t, rt, "country_views")
	deviceRows := subscribe(t, rt, "views_by_device")
	sessionRows := subscribe(t, rt, "sessions")

	// Send NDJSON in batches, then one late-night visitor three hours on
	// whose event moves every watermark past everything before it.
	for i, e := range events {
		body.Write(append(e.AppendJSON(nil), '\n'))
		if (i+1)%500 == 0 || i == len(events)-1 {
			ingest(t, ts.URL, body.Bytes())
			body.Reset()
		}
	}
	sentinel := fmt.Sprintf(`{"ts":%d,"user_id":"sentinel","mid":"s","ip":"73.158.1.1","ua":%q,"page":"/","last_page":null,"item_id":null,"action":"view","latency_ms":1,"referrer":""}`,
		maxTS+3*3600_000, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	ingest(t, ts.URL, []byte(sentinel))
	settle(t, ts.URL)

	stats := queryStats(t, ts.URL)
	if got := stats["collector"].RowsOut; got != uint64(humans+1) {
		t.Errorf("collector let %d events through, want %d humans + the sentinel (%d bots removed)", got, humans+1, len(events)-humans)
	}
	for name, st := range stats {
		if st.Late != 0 || st.Errors != 0 {
			t.Errorf("%s: %d late events, %d errors", name, st.Late, st.Errors)
		}
	}
	if got := stats["bot_detector"].RowsOut; got != 0 {
		t.Errorf("bot detector flagged %d IPs in traffic without an abuser", got)
	}

	// Sessions: one start and one end row per session, and the end rows'
	// event counts add up to every human event.
	starts, ends, eventsInSessions := 0, 0, 0
	for _, r := range sessionRows.all() {
		if r["user_id"] == "sentinel" {
			continue
		}
		switch r["event"] {
		case "start":
			starts++
		case "end":
			ends++
			eventsInSessions += int(r["events"].(float64))
		}
	}
	if starts != sessions || ends != sessions || eventsInSessions != humans {
		t.Errorf("sessions: %d starts, %d ends holding %d events; want %d sessions holding %d events", starts, ends, eventsInSessions, sessions, humans)
	}

	check := func(name string, rows []map[string]any, label string, want map[winKey]int) {
		got := map[winKey]int{}
		for _, r := range rows {
			l, _ := r[label].(string)
			k := winKey{int64(r["window_start"].(float64)), l}
			if _, dup := got[k]; dup {
				t.Errorf("%s: window %d %s emitted twice", name, k.start, l)
			}
			got[k] = int(r["views"].(float64))
		}
		mismatches := 0
		for k, n := range want {
			if got[k] != n {
				mismatches++
				if mismatches <= 5 {
					t.Errorf("%s: window %d %s = %d views, want %d", name, k.start, k.label, got[k], n)
				}
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d window rows, want %d", name, len(got), len(want))
		}
	}
	check("country_views", countryRows.all(), "country", byCountry)
	check("views_by_device", deviceRows.all(), "device", byDevice)
}

func post(t *testing.T, url, body string, want int) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
}

// ingest posts NDJSON, waiting out back-pressure.
func ingest(t *testing.T, base string, ndjson []byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(base+"/v1/streams/events/events", "application/x-ndjson", bytes.NewReader(ndjson))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return
		case resp.StatusCode == http.StatusTooManyRequests && time.Now().Before(deadline):
			time.Sleep(20 * time.Millisecond)
		default:
			t.Fatalf("ingest: %d %s", resp.StatusCode, b)
		}
	}
}

type stat struct {
	In      uint64 `json:"events_in"`
	RowsOut uint64 `json:"rows_out"`
	Late    uint64 `json:"late_events"`
	Errors  uint64 `json:"errors"`
}

func queryStats(t *testing.T, base string) map[string]stat {
	t.Helper()
	var views []struct {
		Name  string `json:"name"`
		Stats stat   `json:"stats"`
	}
	getJSON(t, base+"/v1/queries", &views)
	out := map[string]stat{}
	for _, v := range views {
		out[v.Name] = v.Stats
	}
	return out
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// settle waits until every statement has taken in everything its source
// stream received and nothing is queued, twice in a row.
func settle(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	calm := 0
	for calm < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the pipeline did not settle in 60 s")
		}
		var streams []struct {
			Ingested uint64   `json:"ingested"`
			Depth    int64    `json:"queue_depth"`
			Readers  []string `json:"readers"`
		}
		getJSON(t, base+"/v1/streams", &streams)
		stats := queryStats(t, base)
		ok := true
		for _, s := range streams {
			for _, r := range s.Readers {
				ok = ok && s.Depth == 0 && stats[r].In == s.Ingested
			}
		}
		if ok {
			calm++
		} else {
			calm = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rowStream collects a statement's output rows as JSON objects.
type rowStream struct {
	sub *operators.Subscription
}

func subscribe(t *testing.T, rt *operators.Runtime, name string) *rowStream {
	t.Helper()
	sub, err := rt.Subscribe(name, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return &rowStream{sub: sub}
}

// all returns what has arrived; callers settle the pipeline first.
func (rs *rowStream) all() []map[string]any {
	var out []map[string]any
	for {
		select {
		case r := <-rs.sub.C:
			var m map[string]any
			if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
				panic(err)
			}
			out = append(out, m)
		default:
			if rs.sub.Dropped.Load() != 0 {
				panic("a test subscription dropped rows")
			}
			return out
		}
	}
}
