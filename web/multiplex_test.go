package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// manySQL adds six statements with widgets to widgetSQL's four, and one
// without a widget that the test adds from the page: more statements than
// a browser has connections to one server.
const manySQL = `@Name("mobile_views")
@EventTime(column="ts")
@Widget(type="counter", title="Mobile views", value="views")
SELECT COUNT(*) AS views FROM clicks WHERE device = 'mobile'
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);

@Name("desktop_views")
@EventTime(column="ts")
@Widget(type="counter", title="Desktop views", value="views")
SELECT COUNT(*) AS views FROM clicks WHERE device = 'desktop'
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);

@Name("tablet_views")
@EventTime(column="ts")
@Widget(type="counter", title="Tablet views", value="views")
SELECT COUNT(*) AS views FROM clicks WHERE device = 'tablet'
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND);

@Name("us_pages")
@EventTime(column="ts")
@Widget(type="topn", title="Pages in the US", value="views", label="page", limit="3")
SELECT page, COUNT(*) AS views FROM clicks WHERE country = 'US'
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page;

@Name("mobile_countries")
@EventTime(column="ts")
@Widget(type="bar", title="Mobile views by country", value="views", label="country")
SELECT country, COUNT(*) AS views FROM clicks WHERE device = 'mobile'
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country;

@Name("all_views")
@Widget(type="counter", title="Views so far", value="views")
SELECT COUNT(*) AS views FROM clicks;

@Name("cart_countries")
@EventTime(column="ts")
SELECT country, COUNT(*) AS views FROM clicks WHERE page = '/cart'
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country;`

// reading is one widget's numbers: a label, the expression that reads
// them on the page, and the value the events say it must show.
type reading struct{ label, js, want string }

func counterReading(query string, n int) reading {
	return reading{query, counterJS(query), fmt.Sprint(n)}
}

func barReading(query string, m map[string]int) reading {
	return reading{query,
		fmt.Sprintf(`[...document.querySelectorAll('[data-query=%q] tbody tr')].map(tr => tr.cells[0].textContent + '=' + tr.cells[1].textContent).join(' ')`, query),
		strings.Join(ranked(m, 10), " ")}
}

func topReading(query string, m map[string]int) reading {
	var want []string
	for i, kv := range ranked(m, 3) {
		want = append(want, fmt.Sprintf("%d.%s", i+1, kv))
	}
	return reading{query,
		fmt.Sprintf(`[...document.querySelectorAll('[data-query=%q] tbody tr')].map(tr => tr.cells[0].textContent + '.' + tr.cells[1].textContent + '=' + tr.cells[2].textContent).join(' ')`, query),
		strings.Join(want, " ")}
}

// expectAll waits until every reading shows its value, and names all that
// do not when the deadline passes.
func expectAll(b *browser, what string, rs []reading) {
	b.t.Helper()
	var js, want []string
	for _, r := range rs {
		js = append(js, fmt.Sprintf("%q + ': ' + (%s)", r.label, r.js))
		want = append(want, r.label+": "+r.want)
	}
	b.waitFor(what, "["+strings.Join(js, ", ")+"].join('\\n')", strings.Join(want, "\n"))
}

// counts tallies the events that pass keep by the field of.
func counts(events []click, keep func(click) bool, of func(click) string) map[string]int {
	m := map[string]int{}
	for _, e := range events {
		if keep(e) {
			m[of(e)]++
		}
	}
	return m
}

// manyReadings is what the eleven statements' widgets show after windows
// (the latest window, and all events so far for the running counter).
func manyReadings(windows []window, last []click, all int, cart bool) []reading {
	lw := windows[len(windows)-1]
	rs := []reading{
		{"views_by_device", seriesCells, expectSeries(windows)},
		counterReading("views_total", lw.total),
		{"top_pages", topRows, expectTop(lw)},
		barReading("by_country", lw.byCountry),
		counterReading("mobile_views", lw.byDevice["mobile"]),
		counterReading("desktop_views", lw.byDevice["desktop"]),
		counterReading("tablet_views", lw.byDevice["tablet"]),
		topReading("us_pages", counts(last, func(c click) bool { return c.Country == "US" }, func(c click) string { return c.Page })),
		barReading("mobile_countries", counts(last, func(c click) bool { return c.Device == "mobile" }, func(c click) string { return c.Country })),
		counterReading("all_views", all),
	}
	if cart {
		rs = append(rs, barReading("cart_countries", counts(last, func(c click) bool { return c.Page == "/cart" }, func(c click) string { return c.Country })))
	}
	return rs
}

// notFollowing lists the widgets not live or idle (by_country goes idle
// after 3 s without rows).
const notFollowing = `[...document.querySelectorAll('.widget')].filter(w => !['live', 'idle'].includes(w.dataset.state)).map(w => w.dataset.query + ':' + w.dataset.state).join(' ')`

// resultsURI is the stream the page opens for names: in name order.
func resultsURI(names ...string) string {
	q := url.Values{"query": slices.Sorted(slices.Values(names))}
	return "/v1/results?" + q.Encode()
}

func TestDashboardManyWidgets(t *testing.T) {
	s := startSluice(t)
	s.call("POST", "/v1/queries", widgetSQL+";\n\n"+manySQL, http.StatusCreated)

	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	var windows []window
	var batch, last []click
	for i, n := range []int{20, 26, 23} {
		ws := base + int64(i)*10_000
		last = clicks(ws, n)
		batch = append(batch, last...)
		windows = append(windows, count(ws, last))
	}
	s.post(batch)
	all := len(batch)

	b := newBrowser(t)
	b.do(chromedp.Navigate(s.url + "/"))
	b.waitFor("widgets", `String(document.querySelectorAll('.widget').length)`, "10")
	expectAll(b, "ten widgets", manyReadings(windows, last, all, false))
	annotated := []string{"all_views", "by_country", "desktop_views", "mobile_countries", "mobile_views", "tablet_views", "top_pages", "us_pages", "views_by_device", "views_total"}
	s.waitStreams(resultsURI(annotated...))
	b.waitFor("no notice", `[...document.querySelectorAll('.notice')].map(n => n.textContent).join('')`, "")

	// New rows reach every widget.
	ws := base + 600_000
	last = clicks(ws, 17)
	s.post(last)
	windows = append(windows, count(ws, last))
	all += len(last)
	expectAll(b, "ten widgets live", manyReadings(windows, last, all, false))
	b.waitFor("all following", notFollowing, "")

	// A widget added on the page joins the one connection. The new
	// connection replays rows the widgets hold: that is no update, so the
	// idle widget stays idle.
	b.waitFor("by_country idle", `document.querySelector('[data-query="by_country"]').dataset.state`, "idle")
	b.do(chromedp.SendKeys(chromedp.CSS("#admin-token"), adminToken), chromedp.Click(chromedp.CSS("#token-form button")))
	b.do(chromedp.Click(chromedp.CSS(`[aria-controls="add-widget"]`)))
	b.eval(`(() => {
		const f = document.querySelector('#add-widget form');
		f.query.value = 'cart_countries';
		f.query.dispatchEvent(new Event('change'));
		f.type.value = 'bar';
		f.type.dispatchEvent(new Event('change'));
		f.value.value = 'views';
		f.dimension.value = 'country';
		f.title.value = 'Cart views by country';
		return '';
	})()`)
	b.do(chromedp.Click(chromedp.CSS(`#add-widget button[type="submit"]`)))
	b.waitFor("eleven widgets", `String(document.querySelectorAll('.widget').length)`, "11")
	// cart_countries's rows come after by_country's in the replay.
	expectAll(b, "eleven widgets", manyReadings(windows, last, all, true))
	if got := b.eval(`document.querySelector('[data-query="by_country"]').dataset.state`); got != "idle" {
		t.Fatalf("by_country is %s after the replay of rows it had, want idle", got)
	}
	s.waitStreams(resultsURI(append(annotated, "cart_countries")...))
	b.waitFor("layout saved", `[...document.querySelectorAll('.notice')].map(n => n.textContent).join('')`, "")
	b.waitFor("still following", notFollowing, "")

	// Deleting a statement marks its added widget; the rest go on.
	s.call("DELETE", "/v1/queries/cart_countries", "", http.StatusNoContent)
	b.waitFor("gone", `document.querySelector('[data-query="cart_countries"]').dataset.state + ' ' + document.querySelector('[data-query="cart_countries"] .state').textContent`,
		"gone statement not deployed")
	ws = base + 1_200_000
	last = clicks(ws, 29)
	s.post(last)
	windows = append(windows, count(ws, last))
	all += len(last)
	expectAll(b, "ten widgets after a delete", manyReadings(windows, last, all, false))
	s.waitStreams(resultsURI(annotated...))

	// Deployed again, the statement's widget follows it again.
	s.call("POST", "/v1/queries", manySQL[strings.Index(manySQL, `@Name("cart_countries")`):], http.StatusCreated)
	s.waitStreams(resultsURI(append(annotated, "cart_countries")...))
	ws = base + 1_800_000
	last = clicks(ws, 31)
	s.post(last)
	windows = append(windows, count(ws, last))
	all += len(last)
	expectAll(b, "eleven widgets after a new deploy", manyReadings(windows, last, all, true))
	b.waitFor("following again", notFollowing, "")
	b.screenshot("dashboard-many")

	var layout struct{ Widgets []struct{ Query string } }
	if err := json.Unmarshal(s.call("GET", "/v1/dashboard", "", http.StatusOK), &layout); err != nil {
		t.Fatal(err)
	}
	if len(layout.Widgets) != 1 || layout.Widgets[0].Query != "cart_countries" {
		t.Fatalf("saved layout %+v, want the cart_countries widget", layout)
	}
	b.noConsole(nil)
}
