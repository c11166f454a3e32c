package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/web"

	"github.com/chromedp/chromedp"
)

// fakeAPI answers the sluice API with canned statements and rows.
type fakeAPI struct {
	mu     sync.Mutex
	views  []map[string]any
	rows   map[string][]map[string]any
	layout []byte
}

func newFakeAPI(base int64) *fakeAPI {
	f := &fakeAPI{rows: map[string][]map[string]any{}, layout: []byte(`{"widgets":[]}`)}
	view := func(name, sql string, widget map[string]string, cols []string) map[string]any {
		return map[string]any{
			"name": name, "sql": sql, "source": "events", "status": "running",
			"sinks": []map[string]any{{"type": "sse"}}, "widget": widget, "columns": cols,
			"plan": []map[string]any{
				{"id": 1, "op": "source", "detail": "stream events"},
				{"id": 2, "op": "filter", "detail": "NOT is_bot(ua)", "inputs": []int{1}},
				{"id": 3, "op": "window_aggregate", "detail": "TUMBLE 10s by CUBE(country, device): COUNT(*)", "inputs": []int{2}},
				{"id": 4, "op": "sink", "detail": "sse", "inputs": []int{3}},
			},
			"stats": map[string]any{"events_in": 1234, "rows_out": 56, "late_events": 2, "errors": 0, "state_size": 12,
				"queued_batches": 0, "subscriber_drops": 0, "started": time.Now().UTC().Format(time.RFC3339),
				"sinks": []map[string]any{{"type": "sse", "state": "ok", "writes": 56, "failures": 0}}},
		}
	}
	f.views = []map[string]any{
		view("page_views", "@Name(\"page_views\")\n@Widget(type=\"timeseries\", title=\"Views by device\", value=\"views\", series=\"device\")\nSELECT country, device, COUNT(*) AS views\nFROM events\nGROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(country, device);",
			map[string]string{"type": "timeseries", "title": "Views by device", "value": "views", "series": "device"}, []string{"country", "device", "views"}),
		view("sessions", "@Name(\"sessions\")\nSELECT COUNT(*) AS active FROM session_starts GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);",
			map[string]string{"type": "counter", "title": "Active sessions", "value": "active"}, []string{"active"}),
		view("top_pages", "@Name(\"top_pages\")\nSELECT page, COUNT(*) AS views FROM events GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page ORDER BY views DESC LIMIT 10;",
			map[string]string{"type": "topn", "title": "Top pages", "value": "views", "label": "page"}, []string{"page", "views"}),
		view("by_country", "@Name(\"by_country\")\n...", map[string]string{"type": "bar", "title": "Views by country", "value": "views", "label": "country"}, []string{"country", "device", "views"}),
	}
	f.views[3]["status"] = "degraded: sink elasticsearch not configured"
	countries := []string{"US", "DE", "IN", "BR"}
	devices := []string{"mobile", "desktop", "tablet"}
	for w := int64(0); w < 8; w++ {
		ws := base + w*10000
		total := 0
		for ci, c := range countries {
			cTotal := 0
			for di, d := range devices {
				n := int((w+1)*int64(3+ci)) + di*7 + ci*5
				cTotal += n
				f.rows["page_views"] = append(f.rows["page_views"], windowRow(ws, map[string]any{"country": c, "device": d, "views": n}))
			}
			total += cTotal
			f.rows["page_views"] = append(f.rows["page_views"], windowRow(ws, map[string]any{"country": c, "device": nil, "views": cTotal}))
			f.rows["by_country"] = append(f.rows["by_country"], windowRow(ws, map[string]any{"country": c, "device": nil, "views": cTotal}))
		}
		for di, d := range devices {
			n := 0
			for ci := range countries {
				n += int((w+1)*int64(3+ci)) + di*7 + ci*5
			}
			f.rows["page_views"] = append(f.rows["page_views"], windowRow(ws, map[string]any{"country": nil, "device": d, "views": n}))
		}
		f.rows["page_views"] = append(f.rows["page_views"], windowRow(ws, map[string]any{"country": nil, "device": nil, "views": total}))
		f.rows["sessions"] = append(f.rows["sessions"], windowRow(ws, map[string]any{"active": 40 + int(w)*3}))
		for i, p := range []string{"/", "/cart", "/search", "/item/42", "/checkout"} {
			f.rows["top_pages"] = append(f.rows["top_pages"], windowRow(ws, map[string]any{"page": p, "views": 100 - i*17 + int(w)}))
		}
	}
	return f
}

func windowRow(ws int64, cols map[string]any) map[string]any {
	cols["window_start"] = ws
	cols["window_end"] = ws + 10000
	cols["_key"] = fmt.Sprintf("%d|%v", ws, cols)
	return cols
}

var nameAnnotation = regexp.MustCompile(`@Name\("([^"]+)"\)`)

func (f *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /v1/queries", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, f.views)
	})
	mux.HandleFunc("POST /v1/queries", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sql := string(body)
		if i := strings.Index(sql, "SELEKT"); i >= 0 {
			line := strings.Count(sql[:i], "\n") + 1
			writeJSON(w, 400, map[string]any{"error": "syntax error", "errors": []map[string]any{{"statement": 1, "line": line, "column": 1, "token": "SELEKT", "message": "syntax error at position 7 near 'SELEKT'"}}})
			return
		}
		m := nameAnnotation.FindStringSubmatch(sql)
		if m == nil {
			writeJSON(w, 400, map[string]any{"error": "no @Name"})
			return
		}
		v := map[string]any{"name": m[1], "sql": sql, "source": "events", "status": "running", "columns": []string{"n"},
			"widget": map[string]string{"type": "counter", "title": m[1], "value": "n"}, "plan": []any{}, "stats": map[string]any{}}
		f.mu.Lock()
		f.views = append(f.views, v)
		f.rows[m[1]] = []map[string]any{{"n": 7}}
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"statements": []any{v}})
	})
	mux.HandleFunc("GET /v1/queries/{name}/results", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		rows := f.rows[r.PathValue("name")]
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		for _, row := range rows {
			b, _ := json.Marshal(row)
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("GET /v1/streams", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []map[string]any{
			{"name": "events", "ingested": 123456, "queue_depth": 3, "queue_capacity_batches": 256, "readers": []string{"page_views", "top_pages"}, "rate": 1520.5},
			{"name": "session_starts", "ingested": 800, "queue_depth": 0, "queue_capacity_batches": 256, "readers": []string{"sessions"}},
		})
	})
	mux.HandleFunc("GET /v1/streams/{s}/tail", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []map[string]any{
			{"ts": 1700000000000, "user_id": "u1", "page": "/", "ua": "Mozilla/5.0", "country": "US"},
			{"ts": 1700000001000, "user_id": "u2", "page": "/cart", "ua": "Mozilla/5.0 (iPhone)", "country": "DE"},
		})
	})
	mux.HandleFunc("GET /v1/dashboard", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.layout)
	})
	mux.HandleFunc("PUT /v1/dashboard", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.layout = b
		f.mu.Unlock()
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /v1/functions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []string{"COUNT", "SUM", "AVG", "PERCENTILE", "geo_country", "device_type"})
	})
	return mux
}

func TestFakeDashboard(t *testing.T) {
	base := time.Now().Add(-90*time.Second).UnixMilli() / 10000 * 10000
	f := newFakeAPI(base)
	ts := httptest.NewServer(f.handler())
	defer ts.Close()
	b := newBrowser(t)
	b.do(chromedp.Navigate(ts.URL + "/"))
	b.waitFor("counter", `document.querySelector('[data-query="sessions"] .value')?.textContent ?? ''`, "61")
	b.screenshot("fake-dashboard")
	b.hash("#/queries/page_views")
	b.waitFor("detail", `document.querySelector('.detail h2')?.textContent ?? ''`, "page_views")
	b.screenshot("fake-queries")
	b.hash("#/streams")
	b.waitFor("tail", `String(document.querySelectorAll('.tail li').length)`, "2")
	b.screenshot("fake-streams")
	b.noConsole(nil)
}
