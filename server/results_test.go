package server

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sluice/operators"
)

func TestMultiResultsRefuses(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{})
	ts.do("POST", "/v1/queries", []byte("a s1\nb s2")).expect(t, 201, "")

	// 64 names, a and 63 that do not exist: within the bound, so a 404
	// naming all 63.
	var unknown, quoted []string
	q := url.Values{"query": {"a"}}
	for i := range 63 {
		n := fmt.Sprintf("x%d", i)
		unknown = append(unknown, n)
		quoted = append(quoted, fmt.Sprintf("%q", n))
		q.Add("query", n)
	}
	missing63, _ := json.Marshal(map[string]any{"error": "no statements named " + strings.Join(quoted, ", "), "missing": unknown})
	over := url.Values{"query": append(slices.Clone(q["query"]), "x63")}

	for _, tc := range []struct {
		what, query string
		status      int
		body        string
	}{
		{"no statement", "", 400, `{"error":"name the statements to follow: /v1/results?query=a&query=b"}`},
		{"an empty name", "query=", 404, `{"error":"no statement named \"\"","missing":[""]}`},
		{"one unknown", "query=a&query=x", 404, `{"error":"no statement named \"x\"","missing":["x"]}`},
		{"two unknown, in request order", "query=y&query=b&query=x&query=y", 404, `{"error":"no statements named \"y\", \"x\"","missing":["y","x"]}`},
		{"64 names", q.Encode(), 404, string(missing63)},
		{"65 names", over.Encode(), 400, `{"error":"65 statements named; one stream follows at most 64"}`},
	} {
		t.Run(tc.what, func(t *testing.T) {
			ts.do("GET", "/v1/results?"+tc.query, nil).expect(t, tc.status, tc.body)
		})
	}
	ts.do("POST", "/v1/results?query=a", nil).expect(t, 405, `{"error":"method POST not allowed here"}`)
}

// byQuery orders events by statement, keeping each statement's own order:
// only that order is defined across statements.
func byQuery(t *testing.T, events []string) []string {
	t.Helper()
	query := func(e string) string {
		var v struct{ Query string }
		_, data, _ := strings.Cut(e, " ")
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("event %s: %v", e, err)
		}
		return v.Query
	}
	out := slices.Clone(events)
	sort.SliceStable(out, func(i, j int) bool { return query(out[i]) < query(out[j]) })
	return out
}

func TestMultiResultsStream(t *testing.T) {
	ts := newTestServer(t, Config{PingInterval: 20 * time.Millisecond}, operators.RuntimeConfig{})
	ts.do("POST", "/v1/queries", []byte("a s1\nb s2\nc s1\nwe\"ird s2\nd s3 block")).expect(t, 201, "")
	ingest := func(stream, body string) {
		ts.do("POST", "/v1/streams/"+stream+"/events", []byte(body)).expect(t, 202, "")
	}
	ingest("s1", `{"n":1}`)
	ingest("s2", `{"m":1}`)
	waitFor(t, 2*time.Second, "the first rows", func() bool {
		return len(ts.rt.Recent("a")) == 1 && len(ts.rt.Recent("c")) == 1 && len(ts.rt.Recent("b")) == 1 && len(ts.rt.Recent(`we"ird`)) == 1
	})

	// all names a twice and replays; live skips the replay.
	all := ts.follow("/v1/results?query=a&query=b&query=a&query=" + url.QueryEscape(`we"ird`) + "&query=d")
	live := ts.follow("/v1/results?query=c&query=b&replay=false")
	// d takes its first row, then waits in the operator until released.
	ingest("s3", `{"k":1}`)
	dq, _ := ts.rt.Query("d")
	waitFor(t, 2*time.Second, "d to take its row", func() bool {
		for _, st := range ts.rt.Streams() {
			if st.Name == "s3" && (st.Ingested != 1 || st.QueueDepth != 0) {
				return false
			}
		}
		return dq.Stats().Queued == 0 // off every queue: inside the blocked operator
	})

	row := func(q, r string) string { return fmt.Sprintf(`row {"query":%q,"row":%s}`, q, r) }
	gone := func(q string) string { return fmt.Sprintf(`gone {"query":%q}`, q) }
	for _, step := range []struct {
		what      string
		do        func()
		all, live []string
	}{
		{"replay in request order", func() {},
			[]string{row("a", `{"n":1}`), row("b", `{"m":1}`), row(`we"ird`, `{"m":1}`)}, nil},
		{"live rows, pretty-printed ones compacted", func() { ingest("s1", "{\n  \"n\": 2\n}") },
			[]string{row("a", `{"n":2}`)}, []string{row("c", `{"n":2}`)}},
		{"a replaced statement keeps its followers", func() {
			ts.do("PUT", "/v1/queries/a", []byte("a s1")).expect(t, 200, "")
			ts.do("PUT", "/v1/queries/b", []byte("b s2")).expect(t, 200, "")
			ingest("s1", `{"n":3}`)
			ingest("s2", `{"m":3}`)
		},
			[]string{row("a", `{"n":3}`), row("b", `{"m":3}`), row(`we"ird`, `{"m":3}`)},
			[]string{row("b", `{"m":3}`), row("c", `{"n":3}`)}},
		{"a deleted statement is gone, the others go on", func() {
			ts.do("DELETE", "/v1/queries/b", nil).expect(t, 204, "")
			ingest("s2", `{"m":4}`)
			ingest("s1", `{"n":4}`)
		},
			[]string{row("a", `{"n":4}`), gone("b"), row(`we"ird`, `{"m":4}`)},
			[]string{gone("b"), row("c", `{"n":4}`)}},
		{"a statement's last rows come before its gone", func() {
			deleted := make(chan response)
			go func() { deleted <- ts.do("DELETE", "/v1/queries/d", nil) }()
			ts.release()
			(<-deleted).expect(t, 204, "")
		},
			[]string{row("d", `{"k":1}`), gone("d")}, nil},
	} {
		step.do()
		for _, s := range []struct {
			name string
			sse  *sse
			want []string
		}{{"all", all, step.all}, {"live", live, step.live}} {
			var got []string
			for range s.want {
				got = append(got, s.sse.event(2*time.Second))
			}
			if !slices.Equal(byQuery(t, got), s.want) {
				t.Fatalf("%s, %s stream:\ngot  %s\nwant %s", step.what, s.name, strings.Join(got, "\n     "), strings.Join(s.want, "\n     "))
			}
		}
	}
	// Nothing came but what the steps wanted; idle streams keep pinging.
	for _, s := range []*sse{all, live} {
		s.ping(2 * time.Second)
		for len(s.lines) > 0 {
			if line := <-s.lines; line != "" && line != ": ping" {
				t.Fatalf("unexpected line %q", line)
			}
		}
	}
}
