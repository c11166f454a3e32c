package server

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/operators"
	_ "sluice/plugins"
	"sluice/sqlengine"
)

// TestConcurrentAPI has four clients deploy, replace and delete statements
// (chained through INSERT INTO, windowed, running, with sinks), post
// events, follow results and read every listing at once, in random order,
// for a second and a half. Every answer must be one of the documented
// statuses with a JSON body (never a 500, a hang or a dropped connection),
// and afterwards the server must still deploy, ingest and answer exactly.
func TestConcurrentAPI(t *testing.T) {
	ts := newTestServer(t, Config{Compile: sqlengine.Compile}, operators.RuntimeConfig{QueueSize: 4})
	statements := map[string][]string{
		"chain":   {`@Name("chain") INSERT INTO b SELECT *, UPPER(a) AS up FROM s WHERE v > 1`, `@Name("chain") INSERT INTO b SELECT * FROM s`},
		"counts":  {`@Name("counts") SELECT a, COUNT(*) AS n FROM s GROUP BY a`, `@Name("counts") SELECT a, COUNT(*) AS n FROM s WHERE TRUE GROUP BY a`},
		"windows": {`@Name("windows") @EventTime(column="ts", lateness="1s") SELECT a, COUNT(*) AS n, PERCENTILE(v, 90) AS p FROM b GROUP BY TUMBLE(ts, INTERVAL 1 SECOND), CUBE(a)`},
		"sessions": {`@Name("sessions") @EventTime(column="ts") SELECT a, COUNT(*) AS n FROM b GROUP BY SESSION(ts, INTERVAL 2 SECOND), a`,
			`@Name("sessions") @EventTime(column="ts") SELECT a, COUNT(*) AS n, MAX(v) AS hi FROM b GROUP BY SESSION(ts, INTERVAL 2 SECOND), a`},
		"sink": {`@Name("sink") @Sink(type="stdout") SELECT a FROM b WHERE v = 3`},
	}
	names := []string{"chain", "counts", "windows", "sessions", "sink"}
	ok := map[string][]int{
		"deploy":  {201, 400, 409},
		"replace": {200, 400, 404},
		"delete":  {204, 404},
		"ingest":  {202, 429},
		"read":    {200, 404},
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	var mu sync.Mutex
	seen := map[string]int{} // "kind status" → answers
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 99))
			client := &http.Client{Timeout: 10 * time.Second}
			call := func(kind, method, path, body string) {
				req, _ := http.NewRequest(method, ts.url+path, strings.NewReader(body))
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("%s %s: %v", method, path, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				seen[fmt.Sprint(kind, " ", resp.StatusCode)]++
				mu.Unlock()
				want := ok[kind]
				good := false
				for _, s := range want {
					good = good || resp.StatusCode == s
				}
				if !good || (resp.StatusCode >= 400 && !strings.HasPrefix(string(b), `{"error":`)) {
					t.Errorf("%s %s: %d %s (want one of %v)", method, path, resp.StatusCode, b, want)
				}
			}
			for n := 0; time.Now().Before(deadline); n++ {
				name := names[rng.IntN(len(names))]
				versions := statements[name]
				switch rng.IntN(8) {
				case 0:
					call("deploy", http.MethodPost, "/v1/queries", versions[rng.IntN(len(versions))])
				case 1:
					call("replace", http.MethodPut, "/v1/queries/"+name, versions[rng.IntN(len(versions))])
				case 2:
					call("delete", http.MethodDelete, "/v1/queries/"+name, "")
				case 3, 4, 5:
					var b strings.Builder
					for i := range 50 {
						fmt.Fprintf(&b, `{"ts":%d,"a":"k%d","v":%d}`+"\n", 1_700_000_000_000+int64(n)*100+int64(i), rng.IntN(5), rng.IntN(5))
					}
					call("ingest", http.MethodPost, "/v1/streams/s/events", b.String())
				case 6:
					path := []string{"/v1/queries", "/v1/streams", "/v1/queries/" + name, "/v1/streams/b/tail", "/metrics", "/v1/functions"}[rng.IntN(6)]
					call("read", http.MethodGet, path, "")
				case 7:
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.url+"/v1/queries/"+name+"/results", nil)
					if resp, err := client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					cancel()
				}
			}
		})
	}
	wg.Wait()
	for _, k := range []string{"deploy 201", "replace 200", "delete 204", "ingest 202", "read 200"} {
		if seen[k] == 0 {
			t.Errorf("no %q answer in the storm: %v", k, seen)
		}
	}

	ts.do(http.MethodGet, "/healthz", nil).expect(t, http.StatusOK, "")
	ts.do(http.MethodPost, "/v1/queries", []byte(`@Name("after") SELECT a, COUNT(*) AS n FROM fresh GROUP BY a`)).expect(t, http.StatusCreated, "")
	ts.do(http.MethodPost, "/v1/streams/fresh/events", []byte(`{"a":"x"}`+"\n"+`{"a":"x"}`+"\n"+`{"a":"y"}`)).expect(t, http.StatusAccepted, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.rt.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range ts.rt.Recent("after") {
		got[r.Get("a").Text()] = r.Get("n").I
	}
	if got["x"] != 2 || got["y"] != 1 {
		t.Fatalf("counts after the storm: %v", got)
	}
}
