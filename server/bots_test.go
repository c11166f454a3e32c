package server_test

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sluice/operators"
	"sluice/queries"
	"sluice/server"
)

// An IP with more than 300 requests in 10 seconds is flagged by the shipped
// bot detector, listed at /v1/bots, and from then on dropped by the
// collector — even with a browser's user agent.
func TestBotDetectorBlocksAbusiveIP(t *testing.T) {
	rt := operators.NewRuntime(operators.RuntimeConfig{})
	defer rt.Close()
	rt.EventTimeOnly("events")
	srv, err := server.New(server.Config{}, rt)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, f := range []string{"01_collector.sql", "02_bot_detector.sql"} {
		src, _ := fs.ReadFile(queries.Files, f)
		if _, err := srv.DeploySQL(string(src)); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	del(t, ts.URL+"/v1/bots") // flags are process-wide: start with none

	const abuser, person = "45.155.205.233", "73.158.1.1"
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	event := func(ts int64, ip string) string {
		return fmt.Sprintf(`{"ts":%d,"ip":%q,"ua":%q,"page":"/item/1"}`+"\n", ts, ip, chrome)
	}
	var b strings.Builder
	for i := 0; i < 301; i++ { // 301 requests within [0, 10 s): over the threshold
		b.WriteString(event(int64(i*30), abuser))
	}
	for i := 0; i < 5; i++ {
		b.WriteString(event(int64(i*1000), person))
	}
	ingest(t, ts.URL, []byte(b.String()))
	settle(t, ts.URL) // the collector has seen these before any flag exists
	// An event at 15 s moves the detector's watermark (lateness 5 s) past
	// the first window's end: it closes and flags the IP.
	ingest(t, ts.URL, []byte(event(15_000, person)))
	settle(t, ts.URL)

	var bots []struct {
		IP    string `json:"ip"`
		Query string `json:"query"`
	}
	getJSON(t, ts.URL+"/v1/bots", &bots)
	if len(bots) != 1 || bots[0].IP != abuser || bots[0].Query != "bot_detector" {
		t.Fatalf("GET /v1/bots = %+v, want the abusive IP flagged by bot_detector", bots)
	}
	before := queryStats(t, ts.URL)["collector"].RowsOut
	if before != 301+6 {
		t.Fatalf("collector passed %d events before the flag, want all 307", before)
	}
	b.Reset()
	for i := 0; i < 50; i++ {
		b.WriteString(event(int64(16_000+i), abuser))
	}
	b.WriteString(event(16_100, person))
	ingest(t, ts.URL, []byte(b.String()))
	settle(t, ts.URL)
	if got := queryStats(t, ts.URL)["collector"].RowsOut - before; got != 1 {
		t.Errorf("after the flag the collector passed %d events, want only the person's 1", got)
	}
	del(t, ts.URL+"/v1/bots/"+abuser)
	getJSON(t, ts.URL+"/v1/bots", &bots)
	if len(bots) != 0 {
		t.Errorf("after DELETE /v1/bots/%s: %+v", abuser, bots)
	}
}

func del(t *testing.T, url string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE %s: %v %v", url, err, resp)
	}
	resp.Body.Close()
}
