package queries_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"sluice/operators"
	_ "sluice/plugins"
	"sluice/plugins/sinks/elasticsearch/estest"
	"sluice/plugins/sinks/redis/redistest"
	"sluice/plugins/sources/generator"
)

// TestDAU feeds two UTC days of generated clickstream through the shipped
// pipeline with Redis and Elasticsearch configured, and checks 07_dau.sql
// against the generator's own labels: every human device seen on a day is
// in that day's set, and its document is its first view of the day.
// Replaying every event changes nothing in either store.
func TestDAU(t *testing.T) {
	cfg := generator.DefaultConfig()
	cfg.Seed, cfg.Users = 21, 400
	cfg.Start = time.Date(2026, 11, 21, 23, 15, 0, 0, time.UTC)
	cfg.Duration = 90 * time.Minute
	cfg.BotFraction, cfg.AbuseRate = 0.05, 0 // the abusive IP is the detector test's
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var events []generator.Event
	var lines [][]byte
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		events = append(events, e)
		lines = append(lines, e.AppendJSON(nil))
	}

	// Expected, from the labels: per day, each human device's first view
	// (events come in event-time order: no jitter).
	type deviceDay struct{ date, mid string }
	first := map[deviceDay]generator.Event{}
	days := map[string][]string{} // date → mids
	continued := 0                // devices whose first view of a day continues a visit begun the day before
	bots := 0
	for _, e := range events {
		if e.Bot() {
			bots++
			continue
		}
		k := deviceDay{dateOf(e.TS), e.MID()}
		if _, seen := first[k]; seen {
			continue
		}
		first[k] = e
		days[k.date] = append(days[k.date], k.mid)
		if !e.SessionStart() {
			continued++
		}
	}
	if len(days) != 2 || continued == 0 || bots == 0 {
		t.Fatalf("the traffic must span two days, with devices first seen mid-visit after midnight and bots: %d days, %d continued, %d bots", len(days), continued, bots)
	}

	redisSrv := redistest.NewServer(t)
	es := newESTarget(t)
	s := startSluice(t, &operators.Env{RedisURL: redisSrv.URL(), ESURL: es.url}, es.edit)
	s.ingest(t, lines)
	s.settle(t)

	rc := redisClient(t, redisSrv.Addr())
	ctx := context.Background()
	for date, mids := range days {
		if n := rc.SCard(ctx, "dau:"+date).Val(); n != int64(len(mids)) {
			t.Errorf("SCARD dau:%s = %d, want %d devices", date, n, len(mids))
		}
		got := rc.SMembers(ctx, "dau:"+date).Val()
		slices.Sort(got)
		slices.Sort(mids)
		if !slices.Equal(got, mids) {
			t.Errorf("dau:%s holds other devices than the %d seen that day", date, len(mids))
		}
		if ttl := rc.TTL(ctx, "dau:"+date).Val(); ttl <= 47*time.Hour || ttl > 48*time.Hour {
			t.Errorf("dau:%s expires in %v, want 48h", date, ttl)
		}

		docs := es.docs(t, "dau-"+date)
		if len(docs) != len(mids) {
			t.Errorf("dau-%s has %d documents, want %d", date, len(docs), len(mids))
		}
		perHour := map[int]int{}
		bad := 0
		for _, mid := range mids {
			e := first[deviceDay{date, mid}]
			want := normalizeJSON(t, map[string]any{
				"mid": mid, "user_id": e.UserID(), "ts": e.TS, "date": date, "hour": hourOf(e.TS),
				"page": e.Page, "country": e.Country, "device": e.DeviceClass,
			})
			if got := docs[date+":"+mid]; got != want && bad < 5 {
				bad++
				t.Errorf("dau-%s/_doc/%s:%s = %s\nwant the device's first view of the day %s", date, date, mid, got, want)
			}
			perHour[hourOf(e.TS)]++
		}
		if got := es.newDevicesPerHour(t, "dau-"+date); !maps.Equal(got, perHour) {
			t.Errorf("dau-%s new devices per hour: %v, want %v", date, got, perHour)
		}
	}

	// The candidates: session starts and every view of the first half
	// hour of a day. The day's other views never reach the sinks.
	candidates := 0
	for _, e := range events {
		if !e.Bot() && (e.SessionStart() || e.TS%86_400_000 < 30*60_000) {
			candidates++
		}
	}
	if got := s.sinkCounters(t, "dau"); got["redis"]["acked"] != uint64(candidates) || got["elasticsearch"]["acked"] != uint64(candidates) {
		t.Errorf("dau sink counters %v, want %d rows acknowledged by each", got, candidates)
	}

	// A replay after a restart: a new sluice reads every event again from
	// the start, as it would re-consume a Kafka topic. Nothing changes in
	// Redis (the other shipped statements' keys included) or in
	// Elasticsearch.
	redisBefore := redisDump(t, rc, "*")
	esBefore := map[string]map[string]string{}
	for date := range days {
		esBefore[date] = es.docs(t, "dau-"+date)
	}
	unchanged := func(what, pattern string) {
		t.Helper()
		want := redisBefore
		if pattern != "*" {
			want = map[string]string{}
			for k, v := range redisBefore {
				if ok, _ := path.Match(pattern, k); ok {
					want[k] = v
				}
			}
		}
		sameDump(t, "Redis after "+what, redisDump(t, rc, pattern), want)
		for date, docs := range esBefore {
			if got := es.docs(t, "dau-"+date); !maps.Equal(got, docs) {
				t.Errorf("dau-%s changed after %s", date, what)
			}
		}
	}
	s.stop()
	s = startSluice(t, &operators.Env{RedisURL: redisSrv.URL(), ESURL: es.url}, es.edit)
	s.ingest(t, lines)
	s.settle(t)
	unchanged("a replay after a restart", "*")
	// The same events sent again to the running server: DAU's writes are
	// keyed by day and device only, so nothing changes either. (The
	// recommendations are keyed by session, and a running sessionizer puts
	// events sent again into the sessions still open: 08_recommendations.sql.)
	s.ingest(t, lines)
	s.settle(t)
	unchanged("the events sent again", "dau:*")
	got := s.sinkCounters(t, "dau")
	for _, sink := range []string{"redis", "elasticsearch"} {
		if c := got[sink]; c["acked"] != uint64(2*candidates) || c["dead_lettered"] != 0 {
			t.Errorf("%s counters after two replays: %v, want %d acknowledged", sink, c, 2*candidates)
		}
	}
}

func dateOf(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }
func hourOf(ms int64) int    { return time.UnixMilli(ms).UTC().Hour() }

func normalizeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(back)
	return string(b)
}

// esTarget is where the DAU documents go: the estest stand-in, or a real
// cluster when SLUICE_TEST_ES_URL is set. On a real cluster the shipped
// statements' index patterns get a prefix unique to the test, and the
// indices are deleted afterwards. Reads go through the HTTP API either way.
type esTarget struct {
	url    string
	prefix string
}

func newESTarget(t *testing.T) *esTarget {
	t.Helper()
	url := os.Getenv("SLUICE_TEST_ES_URL")
	if url == "" {
		return &esTarget{url: estest.New(t).URL()}
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &esTarget{url: strings.TrimSuffix(url, "/"), prefix: "sluice-test-" + hex.EncodeToString(b) + "-"}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, e.url+"/"+e.prefix+"*", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return e
}

// edit prefixes every shipped index pattern on a real cluster.
func (e *esTarget) edit(sql string) string {
	if e.prefix == "" {
		return sql
	}
	return strings.ReplaceAll(sql, `index="`, `index="`+e.prefix)
}

func (e *esTarget) search(t *testing.T, index, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(e.url+"/"+e.prefix+index+"/_refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Post(e.url+"/"+e.prefix+index+"/_search", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/_search %s: %d %s", index, body, resp.StatusCode, raw)
	}
	var out map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// docs is an index's documents: _id → source, re-encoded with sorted keys.
func (e *esTarget) docs(t *testing.T, index string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, h := range e.search(t, index, `{"size":10000}`)["hits"].(map[string]any)["hits"].([]any) {
		hit := h.(map[string]any)
		out[hit["_id"].(string)] = normalizeJSON(t, hit["_source"])
	}
	return out
}

// newDevicesPerHour is the seed paper's query: a terms aggregation by hour.
func (e *esTarget) newDevicesPerHour(t *testing.T, index string) map[int]int {
	t.Helper()
	body := e.search(t, index, `{"size":0,"aggs":{"by_hour":{"terms":{"field":"hour","size":24}}}}`)
	out := map[int]int{}
	for _, b := range body["aggregations"].(map[string]any)["by_hour"].(map[string]any)["buckets"].([]any) {
		bucket := b.(map[string]any)
		out[int(bucket["key"].(float64))] = int(bucket["doc_count"].(float64))
	}
	return out
}
