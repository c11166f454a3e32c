package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"sluice/operators"
	_ "sluice/plugins" // the functions, sinks and annotations a real server has
	"sluice/server"
	"sluice/sqlengine"
)

const adminToken = "s3cret-admin"

// The statements the test deploys over the API before opening the page.
const widgetSQL = `@Name("views_by_device")
@EventTime(column="ts", lateness="0s")
@Widget(type="timeseries", title="Views by device", value="views", series="device")
SELECT country, device, COUNT(*) AS views
FROM clicks
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(country, device);

@Name("views_total")
@EventTime(column="ts")
@Widget(type="counter", title="Views per window", value="views")
SELECT COUNT(*) AS views
FROM clicks
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);

@Name("top_pages")
@EventTime(column="ts")
@Widget(type="topn", title="Top pages", value="views", label="page", limit="3")
SELECT page, COUNT(*) AS views
FROM clicks
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page
ORDER BY views DESC
LIMIT 3;

@Name("by_country")
@EventTime(column="ts")
@Widget(type="bar", title="Views by country", value="views", label="country", idle="3s")
SELECT country, device, COUNT(*) AS views
FROM clicks
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(country, device);`

// editorSQL is typed into the query editor.
const editorSQL = `@Name("editor_clicks")
@EventTime(column="ts")
@Widget(type="counter", title="Clicks from the editor", value="clicks")
SELECT COUNT(*) AS clicks
FROM clicks
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);`

// brokenSQL has a syntax error on line 5: the second "=".
const brokenSQL = `@Name("broken")
@Widget(type="counter", value="n")
SELECT COUNT(*) AS n
FROM clicks
WHERE device = = 'mobile'
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);`

type click struct {
	TS      int64  `json:"ts"`
	Device  string `json:"device"`
	Page    string `json:"page"`
	Country string `json:"country"`
}

// clicks makes n events spread over the 10 s window starting at ws. Pages
// and countries are weighted so that no two of them tie.
func clicks(ws int64, n int) []click {
	devices := []string{"mobile", "desktop", "tablet"}
	pages := []string{"/", "/", "/", "/", "/cart", "/cart", "/cart", "/search", "/search", "/item"}
	countries := []string{"US", "US", "US", "DE", "DE", "IN"}
	out := make([]click, n)
	for i := range out {
		out[i] = click{TS: ws + int64(i)*9900/int64(n), Device: devices[i%3], Page: pages[i%10], Country: countries[i%6]}
	}
	return out
}

// gate can cut the results streams and hold reconnections, to show the
// dashboard's disconnected state.
type gate struct {
	mu      sync.Mutex
	hold    chan struct{}
	cancels map[*http.Request]context.CancelFunc
}

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/results") {
			next.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		hold := g.hold
		g.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		ctx, cancel := context.WithCancel(r.Context())
		g.mu.Lock()
		g.cancels[r] = cancel
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			delete(g.cancels, r)
			g.mu.Unlock()
			cancel()
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// cut ends every open results stream cleanly and holds new ones.
func (g *gate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = make(chan struct{})
	for _, cancel := range g.cancels {
		cancel()
	}
}

// streams lists the open results streams' request URIs, sorted.
func (g *gate) streams() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := []string{}
	for r := range g.cancels {
		out = append(out, r.URL.RequestURI())
	}
	sort.Strings(out)
	return out
}

// waitStreams waits until the open results streams are exactly want.
func (s *sluice) waitStreams(want ...string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for got := s.gate.streams(); !slices.Equal(got, want); got = s.gate.streams() {
		if time.Now().After(deadline) {
			s.t.Fatalf("open results streams %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.hold)
	g.hold = nil
}

type sluice struct {
	t    *testing.T
	url  string
	gate *gate
}

func startSluice(t *testing.T) *sluice {
	t.Helper()
	rt := operators.NewRuntime(operators.RuntimeConfig{})
	srv, err := server.New(server.Config{
		AdminToken: adminToken,
		Compile:    sqlengine.Compile,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, rt)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	g := &gate{cancels: map[*http.Request]context.CancelFunc{}}
	ts := httptest.NewServer(g.wrap(srv))
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		rt.Close()
	})
	return &sluice{t: t, url: ts.URL, gate: g}
}

func (s *sluice) call(method, path, body string, want int) []byte {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return b
}

func (s *sluice) post(events []click) {
	s.t.Helper()
	b, err := json.Marshal(events)
	if err != nil {
		s.t.Fatal(err)
	}
	s.call("POST", "/v1/streams/clicks/events", string(b), http.StatusAccepted)
}

// window is what the widgets should show for one window of clicks.
type window struct {
	start     int64
	total     int
	byDevice  map[string]int
	byPage    map[string]int
	byCountry map[string]int
}

func count(ws int64, events []click) window {
	w := window{start: ws, total: len(events), byDevice: map[string]int{}, byPage: map[string]int{}, byCountry: map[string]int{}}
	for _, e := range events {
		w.byDevice[e.Device]++
		w.byPage[e.Page]++
		w.byCountry[e.Country]++
	}
	return w
}

// ranked orders counts by value, then name, and keeps n.
func ranked(m map[string]int, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	out := []string{}
	for i, k := range keys {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return out
}

// The expressions read what each widget shows, as one comparable string.
const (
	seriesCells = `[...document.querySelectorAll('[data-query="views_by_device"] td[data-series]')].map(td => td.dataset.series + '@' + td.dataset.window + '=' + td.textContent).sort().join(' ')`
	topRows     = `[...document.querySelectorAll('[data-query="top_pages"] tbody tr')].map(tr => tr.cells[0].textContent + '.' + tr.cells[1].textContent + '=' + tr.cells[2].textContent).join(' ')`
	barRows     = `[...document.querySelectorAll('[data-query="by_country"] tbody tr')].map(tr => tr.cells[0].textContent + '=' + tr.cells[1].textContent).join(' ')`
	states      = `[...document.querySelectorAll('.widget')].map(w => w.dataset.query + ':' + w.dataset.state).sort().join(' ')`
)

func counterJS(query string) string {
	return fmt.Sprintf(`document.querySelector('[data-query=%q] .counter .value')?.textContent ?? ''`, query)
}

func expectSeries(ws []window) string {
	var cells []string
	for _, w := range ws {
		for d, n := range w.byDevice {
			cells = append(cells, fmt.Sprintf("%s@%d=%d", d, w.start, n))
		}
	}
	sort.Strings(cells)
	return strings.Join(cells, " ")
}

func expectTop(w window) string {
	var out []string
	for i, kv := range ranked(w.byPage, 3) {
		out = append(out, fmt.Sprintf("%d.%s", i+1, kv))
	}
	return strings.Join(out, " ")
}

// expectDashboard waits until every widget shows the numbers of windows.
func expectDashboard(b *browser, windows []window) {
	b.t.Helper()
	last := windows[len(windows)-1]
	b.waitFor("time series cells", seriesCells, expectSeries(windows))
	b.waitFor("counter", counterJS("views_total"), fmt.Sprint(last.total))
	b.waitFor("top pages", topRows, expectTop(last))
	b.waitFor("bar by country", barRows, strings.Join(ranked(last.byCountry, 10), " "))
}

// networkError says whether m is the browser's log line for a reply of
// status to a request of a path ending in suffix: the test provokes those.
func networkError(m chromedp.ConsoleMessage, suffix string, status int) bool {
	return m.Source == "network" && strings.HasSuffix(m.URL, suffix) && strings.Contains(m.Text, fmt.Sprintf("status of %d", status))
}

func TestDashboard(t *testing.T) {
	s := startSluice(t)
	s.call("POST", "/v1/queries", widgetSQL, http.StatusCreated)

	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	var windows []window
	var batch []click
	for i, n := range []int{20, 26, 23} {
		ws := base + int64(i)*10_000
		ev := clicks(ws, n)
		batch = append(batch, ev...)
		windows = append(windows, count(ws, ev))
	}
	s.post(batch)

	b := newBrowser(t)
	b.do(chromedp.Navigate(s.url + "/"))
	expectDashboard(b, windows)
	// Every widget's rows come over one connection.
	s.waitStreams("/v1/results?query=by_country&query=top_pages&query=views_by_device&query=views_total")
	b.waitFor("counter change", `document.querySelector('[data-query="views_total"] .delta')?.textContent ?? ''`, "▼ -3 vs the window before")
	b.waitFor("widget titles", `[...document.querySelectorAll('.widget h2')].map(h => h.textContent).join('|')`,
		"Views by country|Top pages|Views by device|Views per window") // statements in name order
	b.waitFor("idle widget", `document.querySelector('[data-query="by_country"]').dataset.state`, "idle")
	b.waitFor("idle text", `document.querySelector('[data-query="by_country"] .state').textContent`, "idle — no new rows")
	// Pointing at the middle of the chart shows the middle window's values.
	var mid []string
	for d, n := range windows[1].byDevice {
		mid = append(mid, fmt.Sprintf("%s=%d", d, n))
	}
	sort.Strings(mid)
	b.waitFor("tooltip", `(() => {
		const w = document.querySelector('[data-query="views_by_device"]');
		const hit = w.querySelector('svg.chart rect');
		const r = hit.getBoundingClientRect();
		hit.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true}));
		const tip = w.querySelector('.tooltip');
		return tip.hidden ? 'hidden' : [...tip.querySelectorAll('tr')].map(tr => tr.cells[1].textContent + '=' + tr.cells[2].textContent).sort().join(' ');
	})()`, strings.Join(mid, " "))
	b.screenshot("dashboard")

	// Deploying without the admin token is refused with a clear message.
	b.hash("#/queries")
	b.waitFor("statement list", `[...document.querySelectorAll('.qlist .name')].map(n => n.textContent).join(',')`,
		"by_country,top_pages,views_by_device,views_total")
	b.do(chromedp.SendKeys(chromedp.CSS("#sql-editor"), editorSQL))
	b.do(chromedp.Click(chromedp.CSS("#editor-submit")))
	b.waitFor("401 message", `document.querySelector('#editor-result').textContent`,
		"The server needs an admin token for this. Enter it in “Admin token” at the top of the page.")

	b.do(chromedp.SendKeys(chromedp.CSS("#admin-token"), adminToken), chromedp.Click(chromedp.CSS("#token-form button")))
	b.waitFor("token saved", `sessionStorage.getItem('sluice.adminToken') ?? ''`, adminToken)
	b.do(chromedp.Click(chromedp.CSS("#editor-submit")))
	b.waitFor("deployed", `document.querySelector('#editor-result').textContent`, "Deployed editor_clicks.")
	b.waitFor("detail of the new statement", `document.querySelector('.detail h2')?.textContent ?? ''`, "editor_clicks")
	b.waitFor("plan", `[...document.querySelectorAll('.plan .node .op')].map(n => n.textContent).join('>')`, "source>extract>aggregate>project")
	b.screenshot("queries")

	// A syntax error is marked at its line and column.
	line5 := strings.Split(brokenSQL, "\n")[4]
	col := strings.Index(line5, "= =") + 3
	b.do(chromedp.Click(chromedp.CSS(".toolbar .btn")))
	b.do(chromedp.SendKeys(chromedp.CSS("#sql-editor"), brokenSQL))
	b.do(chromedp.Click(chromedp.CSS("#editor-submit")))
	b.waitFor("error line in the gutter", `[...document.querySelectorAll('.gutter .err')].map(d => d.textContent).join(',')`, "5")
	b.waitFor("marked token", `document.querySelector('.marks .line[data-line="5"] .tok')?.textContent ?? ''`, "=")
	b.waitFor("marked column", `String(document.querySelector('.marks .line[data-line="5"]').firstChild.textContent.length + 1)`, fmt.Sprint(col))
	b.waitFor("message beside the line", `document.querySelector('.notes .note[data-line="5"]')?.textContent ?? ''`, "✖ syntax error")
	b.waitFor("error list", `document.querySelector('#editor-errors button')?.textContent ?? ''`, fmt.Sprintf("line 5, column %dsyntax error", col))
	b.screenshot("queries-error")

	// Function names complete with Tab.
	var fns struct{ Functions, Annotations []string }
	if err := json.Unmarshal(s.call("GET", "/v1/functions", "", http.StatusOK), &fns); err != nil {
		t.Fatal(err)
	}
	var offered []string
	for _, f := range append(fns.Functions, fns.Annotations...) {
		if strings.HasPrefix(strings.ToLower(f), "percen") && !slices.Contains(offered, f) {
			offered = append(offered, f)
		}
	}
	sort.Strings(offered)
	if len(offered) == 0 {
		t.Fatal("no function starts with PERCEN; is PERCENTILE registered?")
	}
	b.do(chromedp.Click(chromedp.CSS(".toolbar .btn")), chromedp.SendKeys(chromedp.CSS("#sql-editor"), "SELECT PERCEN"))
	b.waitFor("completions", `[...document.querySelectorAll('.completions li')].map(li => li.textContent).join(',')`, strings.Join(offered[:min(8, len(offered))], ","))
	b.do(chromedp.SendKeys(chromedp.CSS("#sql-editor"), kb.Tab))
	b.waitFor("completed", `document.querySelector('#sql-editor').value`, "SELECT "+offered[0]+"(")

	// The new statement's widget appears and updates live.
	b.hash("#/dashboard")
	b.waitFor("new widget", `document.querySelector('[data-query="editor_clicks"] h2')?.textContent ?? ''`, "Clicks from the editor")
	wsB := base + 600_000
	evB := clicks(wsB, 17)
	s.post(evB)
	windows = append(windows, count(wsB, evB))
	expectDashboard(b, windows)
	b.waitFor("editor counter", counterJS("editor_clicks"), "17")

	// A widget added on the page is kept in the server-side layout.
	b.do(chromedp.Click(chromedp.CSS(`[aria-controls="add-widget"]`)))
	b.eval(`(() => {
		const f = document.querySelector('#add-widget form');
		f.query.value = 'views_total';
		f.query.dispatchEvent(new Event('change'));
		f.type.value = 'table';
		f.type.dispatchEvent(new Event('change'));
		f.title.value = 'Raw totals';
		return '';
	})()`)
	b.do(chromedp.Click(chromedp.CSS(`#add-widget button[type="submit"]`)))
	rawTotals := `[...document.querySelectorAll('.widget')].filter(w => w.querySelector('h2').textContent === 'Raw totals').map(w => [...w.querySelectorAll('tbody tr')].map(tr => tr.cells[1].textContent).join(',')).join('')`
	b.waitFor("added table widget", rawTotals, "17,23,26,20")
	var layout struct {
		Widgets []struct{ Query, Type, Title string }
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(layout.Widgets) == 0 && time.Now().Before(deadline) {
		json.Unmarshal(s.call("GET", "/v1/dashboard", "", http.StatusOK), &layout)
	}
	if len(layout.Widgets) != 1 || layout.Widgets[0].Query != "views_total" || layout.Widgets[0].Type != "table" || layout.Widgets[0].Title != "Raw totals" {
		t.Fatalf("saved layout %+v, want one table widget of views_total titled Raw totals", layout)
	}
	b.do(chromedp.Reload())
	b.waitFor("added widget after a reload", rawTotals, "17,23,26,20")
	expectDashboard(b, windows)
	b.screenshot("dashboard-live")

	// A dropped connection shows, reconnects by itself, and the replayed
	// rows change no number.
	s.gate.cut()
	b.waitFor("disconnected", `[...document.querySelectorAll('.widget')].every(w => w.dataset.state === 'reconnecting') ? 'all' : 'not all'`, "all")
	b.waitFor("disconnected text", `document.querySelector('[data-query="views_total"] .state').textContent`, "disconnected — reconnecting")
	b.screenshot("dashboard-reconnecting")
	s.gate.open()
	b.waitFor("reconnected", `[...document.querySelectorAll('.widget')].some(w => w.dataset.state === 'reconnecting') ? 'no' : 'yes'`, "yes")
	expectDashboard(b, windows)

	// Replace the editor's statement with a new widget title, then delete it.
	b.hash("#/queries/editor_clicks")
	b.waitFor("detail", `document.querySelector('.detail h2')?.textContent ?? ''`, "editor_clicks")
	b.do(chromedp.Click(chromedp.CSS(`.detail header .btn:not(.danger)`)))
	b.waitFor("editor loaded", `document.querySelector('#editor-title').textContent + ': ' + document.querySelector('#sql-editor').value.split('\n')[0]`,
		`Replace editor_clicks: @Name("editor_clicks")`)
	b.eval(`(() => {
		const ta = document.querySelector('#sql-editor');
		ta.value = ta.value.replace('Clicks from the editor', 'Editor clicks');
		ta.dispatchEvent(new Event('input'));
		return '';
	})()`)
	b.do(chromedp.Click(chromedp.CSS("#editor-submit")))
	b.waitFor("replaced", `document.querySelector('#editor-result').textContent`,
		"Replaced editor_clicks. Window state was kept (same keys and aggregates).")
	b.waitFor("replaced SQL shown", `String(document.querySelector('.detail .sql').textContent.includes('title="Editor clicks"'))`, "true")
	b.hash("#/dashboard")
	b.waitFor("replaced widget", `(() => { const w = document.querySelector('[data-query="editor_clicks"]'); return w ? w.querySelector('h2').textContent + ' ' + w.querySelector('.value')?.textContent : ''; })()`,
		"Editor clicks 17")
	b.hash("#/queries/editor_clicks")
	b.waitFor("detail", `document.querySelector('.detail h2')?.textContent ?? ''`, "editor_clicks")
	b.do(chromedp.Click(chromedp.CSS(".detail .btn.danger")))
	b.waitFor("delete asks", `document.querySelector('.detail .btn.danger').textContent`, "Confirm: delete editor_clicks")
	b.do(chromedp.Click(chromedp.CSS(".detail .btn.danger")))
	b.waitFor("statement list after delete", `[...document.querySelectorAll('.qlist .name')].map(n => n.textContent).join(',')`,
		"by_country,top_pages,views_by_device,views_total")
	b.hash("#/dashboard")
	b.waitFor("widget of the deleted statement", `String(document.querySelectorAll('[data-query="editor_clicks"]').length)`, "0")
	expectDashboard(b, windows)

	b.hash("#/streams")
	total := 0
	for _, w := range windows {
		total += w.total
	}
	b.waitFor("stream row", `(() => { const r = document.querySelector('tr[data-stream="clicks"]'); return r ? r.cells[1].textContent + ' ' + [...r.cells[5].querySelectorAll('a')].map(a => a.textContent).sort().join(',') : ''; })()`,
		fmt.Sprintf("%d by_country,top_pages,views_by_device,views_total", total))
	// The tail samples the first event of each batch, newest first.
	want, _ := json.Marshal([]click{evB[0], batch[0]})
	b.waitFor("tail", `JSON.stringify([...document.querySelectorAll('.tail li')].map(li => JSON.parse(li.textContent)))`, string(want))
	b.screenshot("streams")

	b.noConsole(func(m chromedp.ConsoleMessage) bool {
		return networkError(m, "/v1/queries", 401) || networkError(m, "/v1/queries", 400)
	})
}
