package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/operators"
)

func TestAuth(t *testing.T) {
	ts := newTestServer(t, Config{AdminToken: "adm1n", IngestToken: "1ngest"}, operators.RuntimeConfig{})
	unauthorized := `{"error":"missing or wrong bearer token (Authorization: Bearer <token>)"}`
	cases := []struct {
		name, method, path, body, auth string
		status                         int
	}{
		{"deploy without token", "POST", "/v1/queries", "q s", "", 401},
		{"deploy with ingest token", "POST", "/v1/queries", "q s", "Bearer 1ngest", 401},
		{"deploy with a prefix of the token", "POST", "/v1/queries", "q s", "Bearer adm", 401},
		{"deploy with basic auth", "POST", "/v1/queries", "q s", "Basic adm1n", 401},
		{"deploy", "POST", "/v1/queries", "q s", "Bearer adm1n", 201},
		{"list is open", "GET", "/v1/queries", "", "", 200},
		{"get is open", "GET", "/v1/queries/q", "", "", 200},
		{"replace without token", "PUT", "/v1/queries/q", "q s", "", 401},
		{"replace", "PUT", "/v1/queries/q", "q s", "bearer adm1n", 200},
		{"ingest without token", "POST", "/v1/streams/s/events", `{}`, "", 401},
		{"ingest with admin token", "POST", "/v1/streams/s/events", `{}`, "Bearer adm1n", 401},
		{"ingest", "POST", "/v1/streams/s/events", `{}`, "Bearer 1ngest", 202},
		{"streams are open", "GET", "/v1/streams", "", "", 200},
		{"dashboard read is open", "GET", "/v1/dashboard", "", "", 200},
		{"dashboard write without token", "PUT", "/v1/dashboard", `{}`, "", 401},
		{"dashboard write", "PUT", "/v1/dashboard", `{}`, "Bearer adm1n", 204},
		{"delete without token", "DELETE", "/v1/queries/q", "", "", 401},
		{"delete", "DELETE", "/v1/queries/q", "", "Bearer adm1n", 204},
		{"health is open", "GET", "/healthz", "", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			r := ts.do(tc.method, tc.path, []byte(tc.body), hdr...)
			want := ""
			if tc.status == 401 {
				want = unauthorized
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
			r.expect(t, tc.status, want)
		})
	}
}

func TestDashboard(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServer(t, Config{DataDir: dir}, operators.RuntimeConfig{})
	ts.do("GET", "/v1/dashboard", nil).expect(t, 200, `{}`)
	layout := `{"widgets":[{"query":"page_views","type":"timeseries","x":0,"y":0}]}`
	ts.do("PUT", "/v1/dashboard", []byte(layout)).expect(t, 204, "")
	ts.do("GET", "/v1/dashboard", nil).expect(t, 200, layout)
	ts.do("PUT", "/v1/dashboard", []byte(`{"widgets":[`)).expect(t, 400, `{"error":"dashboard document is not valid JSON: unexpected end of JSON input"}`)
	ts.do("PUT", "/v1/dashboard", []byte(`"`+strings.Repeat("x", 1<<20)+`"`)).expect(t, 413, `{"error":"dashboard document is larger than 1048576 bytes"}`)
	ts.do("GET", "/v1/dashboard", nil).expect(t, 200, layout)

	// A second server over the same data dir starts with the saved layout.
	again := newTestServer(t, Config{DataDir: dir}, operators.RuntimeConfig{})
	again.do("GET", "/v1/dashboard", nil).expect(t, 200, layout)
	if b, err := os.ReadFile(filepath.Join(dir, "dashboard.json")); err != nil || string(b) != layout {
		t.Fatalf("dashboard.json = %q, %v", b, err)
	}
}

func TestDashboardStoreRefusesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dashboard.json")
	if err := os.WriteFile(path, []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := newDashboardStore(dir)
	if err == nil || err.Error() != path+" is not valid JSON; fix or remove it" {
		t.Fatalf("got %v", err)
	}
	mem, err := newDashboardStore("")
	if err != nil || string(mem.get()) != "{}" {
		t.Fatalf("memory store: %q, %v", mem.get(), err)
	}
	if err := mem.put([]byte(`[1]`)); err != nil || string(mem.get()) != "[1]" {
		t.Fatalf("memory put: %q, %v", mem.get(), err)
	}
}

func init() {
	operators.RegisterSink(operators.SinkPlugin{Name: "metrics_test", New: func(operators.SinkConfig) (operators.Sink, error) { return nopSink{}, nil }})
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, Config{MaxBody: 64}, operators.RuntimeConfig{})
	specs, _ := fakeCompile("m s", nil)
	specs[0].Sinks = []operators.SinkDecl{{Type: "metrics_test"}, {Type: "metrics_test"}}
	if _, err := ts.rt.Deploy(specs[0]); err != nil {
		t.Fatal(err)
	}
	ts.do("POST", "/v1/streams/s/events", []byte(`[{"a":1},{"a":2},{"a":3}]`)).expect(t, 202, "")
	ts.do("POST", "/v1/streams/s/events", []byte(`{"a":`)).expect(t, 400, "")
	ts.do("POST", "/v1/streams/s/events", []byte(`{"a":"`+strings.Repeat("x", 100)+`"}`)).expect(t, 413, "")
	wants := []string{
		`sluice_stream_events_total{stream="s"} 3`,
		`sluice_stream_queue_depth{stream="s"} 0`,
		`sluice_query_events_in_total{query="m"} 3`,
		`sluice_query_rows_out_total{query="m"} 3`,
		`sluice_query_late_events_total{query="m"} 0`,
		`sluice_query_errors_total{query="m"} 0`,
		`sluice_query_evictions_total{query="m"} 0`,
		`sluice_query_busy_seconds_total{query="m"} `,
		`sluice_query_blocked_seconds_total{query="m"} `,
		`sluice_query_state_size{query="m"} `,
		`sluice_sink_writes_total{query="m",sink="metrics_test"} 3`,
		`sluice_sink_writes_total{query="m",sink="metrics_test#2"} 3`,
		`sluice_sink_failures_total{query="m",sink="metrics_test"} 0`,
		`sluice_ingest_rejected_total{reason="invalid",stream="s"} 1`,
		`sluice_ingest_rejected_total{reason="too_large",stream="s"} 1`,
		"# TYPE sluice_stream_events_total counter",
		"# TYPE sluice_query_state_size gauge",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	}
	// A statement counts its input after processing it and sinks write
	// in the background: scrape until every counter has caught up.
	var missing []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := ts.do("GET", "/metrics", nil)
		r.expect(t, 200, "")
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(r.body, "\n"+want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range missing {
		t.Errorf("metrics lack %q", want)
	}
}

type nopSink struct{}

func (nopSink) Write(_ context.Context, _ []*operators.Record) error { return nil }
func (nopSink) Flush(context.Context) error                          { return nil }
func (nopSink) Close() error                                         { return nil }

func TestInfoEndpoints(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{})
	ts.do("GET", "/healthz", nil).expect(t, 200, `{"status":"ok","queries":0,"streams":0}`)
	ts.do("POST", "/v1/queries", []byte("q reads")).expect(t, 201, "")
	ts.do("POST", "/v1/streams/other/events", []byte(`[{"a":1},{"a":2}]`)).expect(t, 202, "")
	ts.do("POST", "/v1/streams/other/events", []byte(`{"a":3}`)).expect(t, 202, "")
	ts.do("GET", "/healthz", nil).expect(t, 200, `{"status":"ok","queries":1,"streams":2}`)

	var streams []struct {
		operators.StreamStats
		Rate *float64 `json:"rate"`
	}
	ts.do("GET", "/v1/streams", nil).decode(t, &streams)
	if len(streams) != 2 || streams[0].Name != "other" || streams[0].Ingested != 3 || streams[0].Rate == nil ||
		streams[1].Name != "reads" || len(streams[1].Readers) != 1 || streams[1].Readers[0] != "q" {
		t.Fatalf("streams %+v", streams)
	}
	waitFor(t, 2*time.Second, "the tail", func() bool { return tailLen(ts.rt, "other") == 2 })
	ts.do("GET", "/v1/streams/other/tail", nil).expect(t, 200, `[{"a":1},{"a":3}]`)
	ts.do("GET", "/v1/streams/nothing/tail", nil).expect(t, 404, `{"error":"no stream named \"nothing\""}`)
	ts.do("GET", "/v1/streams/reads/tail", nil).expect(t, 200, `[]`) // a stream without events

	var fns map[string][]string
	ts.do("GET", "/v1/functions", nil).decode(t, &fns)
	for _, k := range []string{"functions", "sinks", "annotations"} {
		if fns[k] == nil {
			t.Errorf("functions answer lacks %q: %v", k, fns)
		}
	}

	ts.do("GET", "/v1/nothing", nil).expect(t, 404, `{"error":"no such endpoint"}`)
	ts.do("PATCH", "/v1/queries", nil).expect(t, 405, `{"error":"method PATCH not allowed here"}`)
	r := ts.do("GET", "/", nil)
	if r.status != 200 || !strings.Contains(r.body, "<html") {
		t.Fatalf("dashboard page: %d %.80s", r.status, r.body)
	}
}

func TestRateTracker(t *testing.T) {
	rt := newRateTracker()
	t0 := time.Unix(1000, 0)
	stats := func(n uint64) []operators.StreamStats { return []operators.StreamStats{{Name: "s", Ingested: n}} }
	if got := rt.rate("s", 50, t0); got != 0 {
		t.Fatalf("no samples: %v", got)
	}
	for i := 0; i <= 15; i++ {
		rt.observe(t0.Add(time.Duration(i)*time.Second), stats(uint64(i*100)))
	}
	// Samples from 5 s to 15 s are kept: (1600-500)/(16-5) events/s.
	if got := rt.rate("s", 1600, t0.Add(16*time.Second)); got != 100 {
		t.Fatalf("rate %v, want 100", got)
	}
	if got := rt.rate("new", 220, t0.Add(16*time.Second)); got != 20 {
		t.Fatalf("new stream rate %v, want 20", got)
	}
	if n := len(rt.samples); n != 11 {
		t.Fatalf("%d samples kept, want 11", n)
	}
	b, _ := json.Marshal(streamView{StreamStats: operators.StreamStats{Name: "s"}, Rate: 12.5})
	if !strings.Contains(string(b), `"name":"s"`) || !strings.HasSuffix(string(b), `"rate":12.5}`) {
		t.Fatalf("stream view JSON %s", b)
	}
}

func TestRequestLog(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	debug := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newTestServer(t, Config{Logger: debug}, operators.RuntimeConfig{})
	ts.do("POST", "/v1/streams/s/events", []byte(`{"a":1}`)).expect(t, 202, "")
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), `level=DEBUG msg="http request" method=POST path=/v1/streams/s/events status=202 bytes=14 body_bytes=7 `) {
		t.Fatalf("log:\n%s", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestProfilingBehindAdminToken(t *testing.T) {
	off := newTestServer(t, Config{AdminToken: "adm"}, operators.RuntimeConfig{})
	off.do("GET", "/debug/pprof/", nil, "Authorization", "Bearer adm").expect(t, 404, "")
	on := newTestServer(t, Config{AdminToken: "adm", Profiling: true}, operators.RuntimeConfig{})
	on.do("GET", "/debug/pprof/", nil).expect(t, 401, "")
	r := on.do("GET", "/debug/pprof/goroutine?debug=1", nil, "Authorization", "Bearer adm")
	if r.status != 200 || !strings.Contains(r.body, "goroutine profile:") {
		t.Fatalf("profile: %d %.80s", r.status, r.body)
	}
}

// A deploy that arrives once the runtime is closing is told to come back,
// not that its SQL is wrong.
func TestDeployDuringShutdown(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{})
	ts.rt.Close()
	ts.do("POST", "/v1/queries", []byte("late s")).expect(t, 503, `{"error":"deploy \"late\": the runtime is shutting down"}`)
}
