package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"sluice/operators"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngest(t *testing.T) {
	ts := newTestServer(t, Config{MaxBody: 1024}, operators.RuntimeConfig{Now: func() int64 { return 1234 }})
	ts.do("POST", "/v1/queries", []byte("copy clicks")).expect(t, 201, "")
	ndjson := "application/x-ndjson"
	cases := []struct {
		name   string
		stream string
		body   []byte
		header []string
		status int
		want   string
	}{
		{"object", "clicks", []byte(`{"n":1}`), nil, 202, `{"accepted":1}`},
		{"array", "clicks", []byte(`[{"n":2},{"n":3}]`), nil, 202, `{"accepted":2}`},
		{"ndjson", "clicks", []byte("{\"n\":4}\n{\"n\":5}\n"), []string{"Content-Type", ndjson}, 202, `{"accepted":2}`},
		{"ndjson detected", "clicks", []byte("{\"n\":6}\r\n\r\n{\"n\":7}"), nil, 202, `{"accepted":2}`},
		{"gzip ndjson", "clicks", gz(t, []byte("{\"n\":8}\n{\"n\":9}\n")), []string{"Content-Type", ndjson + "; charset=utf-8", "Content-Encoding", "gzip"}, 202, `{"accepted":2}`},
		{"other stream", "views.v2-x_1", []byte(`{"n":10}`), nil, 202, `{"accepted":1}`},
		{"bad line", "clicks", []byte("{\"n\":1}\n{\"n\":2}\n{\"n\":}\n"), []string{"Content-Type", ndjson}, 400,
			`{"error":"line 3: invalid JSON: unexpected '}', expected a value at column 6","line":3}`},
		{"not an object", "clicks", []byte(`[{"n":1},{"n":2},7]`), nil, 400, `{"error":"event 2: not a JSON object","index":2}`},
		{"empty", "clicks", nil, nil, 400, `{"error":"empty body: expected a JSON object, a JSON array of objects, or NDJSON"}`},
		{"bad stream name", "a%20b", []byte(`{}`), nil, 400, `{"error":"invalid stream name \"a b\": use 1 to 128 of A-Z a-z 0-9 _ . -"}`},
		{"long stream name", strings.Repeat("s", 129), []byte(`{}`), nil, 400, ""},
		{"too large", "clicks", []byte(`{"pad":"` + strings.Repeat("x", 1100) + `"}`), nil, 413, `{"error":"request body is larger than 1024 bytes (--max-body)"}`},
		{"too large after gunzip", "clicks", gz(t, []byte(`{"pad":"`+strings.Repeat("x", 5000)+`"}`)), []string{"Content-Encoding", "gzip"}, 413,
			`{"error":"request body is larger than 1024 bytes (--max-body)"}`},
		{"bad gzip", "clicks", []byte(`{"n":1,"plain":"not gzip"}`), []string{"Content-Encoding", "gzip"}, 400, `{"error":"invalid gzip body: gzip: invalid header"}`},
		{"truncated gzip", "clicks", gz(t, []byte(`{"n":1}`))[:12], []string{"Content-Encoding", "gzip"}, 400, `{"error":"invalid gzip body: unexpected EOF"}`},
		{"empty gzip", "clicks", nil, []string{"Content-Encoding", "gzip"}, 400, `{"error":"invalid gzip body: no gzip data"}`},
		{"unknown encoding", "clicks", []byte(`{"n":1}`), []string{"Content-Encoding", "br"}, 415, `{"error":"unsupported Content-Encoding \"br\": send gzip or nothing"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do("POST", "/v1/streams/"+tc.stream+"/events", tc.body, tc.header...)
			r.expect(t, tc.status, tc.want)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}

	// Bodies of unknown length (chunked) are held to the same limit.
	for _, tc := range []struct {
		body   string
		status int
	}{{`{"n":"chunked"}`, 202}, {`{"pad":"` + strings.Repeat("x", 1100) + `"}`, 413}} {
		req, _ := http.NewRequest("POST", ts.url+"/v1/streams/chunked/events", io.NopCloser(strings.NewReader(tc.body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.ContentLength != 0 || resp.StatusCode != tc.status {
			t.Fatalf("chunked body of %d bytes: %d, want %d", len(tc.body), resp.StatusCode, tc.status)
		}
	}

	// Exactly the accepted events arrived, in order, stamped with the clock.
	waitFor(t, 2*time.Second, "9 rows out of copy", func() bool { return len(ts.rt.Recent("copy")) == 9 })
	var got []string
	for _, r := range ts.rt.Recent("copy") {
		got = append(got, r.String())
		if r.Arrival != 1234 {
			t.Errorf("arrival %d, want 1234", r.Arrival)
		}
	}
	want := `{"n":1} {"n":2} {"n":3} {"n":4} {"n":5} {"n":6} {"n":7} {"n":8} {"n":9}`
	if strings.Join(got, " ") != want {
		t.Fatalf("rows %s, want %s", strings.Join(got, " "), want)
	}
	for _, st := range ts.rt.Streams() {
		if n := map[string]uint64{"clicks": 9, "views.v2-x_1": 1, "chunked": 1}[st.Name]; st.Ingested != n {
			t.Errorf("stream %s ingested %d, want %d", st.Name, st.Ingested, n)
		}
	}
}

func TestIngestBackpressure(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{QueueSize: 1, QueryQueue: 1})
	ts.do("POST", "/v1/queries", []byte("stall s block")).expect(t, 201, "")
	// The stalled statement holds one batch, its queue one, the stream's
	// goroutine one and the stream's queue one: then ingest must refuse.
	accepted := 0
	var r response
	for i := 0; i < 100; i++ {
		r = ts.do("POST", "/v1/streams/s/events", []byte(fmt.Sprintf(`{"i":%d}`, i)))
		if r.status != http.StatusAccepted {
			break
		}
		accepted++
	}
	r.expect(t, 429, `{"error":"stream \"s\" queue is full; retry later"}`)
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}
	// At least the one the stream's queue holds; how many the goroutines
	// have taken on by then depends on scheduling, but never more than 4.
	if accepted < 1 || accepted > 4 {
		t.Fatalf("%d batches accepted before 429, want 1 to 4", accepted)
	}
	ts.release()
	waitFor(t, 2*time.Second, "the stalled statement to catch up", func() bool {
		q, _ := ts.rt.Query("stall")
		return q.Stats().Out == uint64(accepted)
	})
	ts.do("POST", "/v1/streams/s/events", []byte(`{"i":"after"}`)).expect(t, 202, `{"accepted":1}`)
	metrics := ts.do("GET", "/metrics", nil).body
	if !strings.Contains(metrics, `sluice_ingest_rejected_total{reason="backpressure",stream="s"} 1`) {
		t.Fatalf("metrics lack the rejection:\n%s", grep(metrics, "sluice_ingest"))
	}
}

// Past --max-streams, posting to a new stream answers 409 and creates
// nothing; metrics do not grow a series per refused name.
func TestIngestTooManyStreams(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{MaxStreams: 2})
	ts.do("POST", "/v1/streams/a/events", []byte(`{"i":1}`)).expect(t, 202, `{"accepted":1}`)
	ts.do("POST", "/v1/streams/b/events", []byte(`{"i":1}`)).expect(t, 202, `{"accepted":1}`)
	ts.do("POST", "/v1/streams/c/events", []byte(`{"i":1}`)).expect(t, 409,
		`{"error":"too many streams: no stream named \"c\", and there are already 2, the most ingest creates (--max-streams): post to an existing stream, deploy a statement reading \"c\", or raise --max-streams"}`)
	ts.do("POST", "/v1/streams/d/events", []byte(`{`)).expect(t, 400,
		`{"error":"line 1: invalid JSON: unexpected end of input, expected a string key at column 2","line":1}`)
	ts.do("POST", "/v1/streams/a%20b/events", []byte(`{"i":1}`)).expect(t, 400,
		`{"error":"invalid stream name \"a b\": use 1 to 128 of A-Z a-z 0-9 _ . -"}`)
	ts.do("POST", "/v1/streams/a/events", []byte(`{"i":2}`)).expect(t, 202, `{"accepted":1}`)
	ts.do("GET", "/v1/streams/c/tail", nil).expect(t, 404, `{"error":"no stream named \"c\""}`)
	metrics := grep(ts.do("GET", "/metrics", nil).body, "sluice_ingest_rejected_total{")
	want := `sluice_ingest_rejected_total{reason="invalid",stream=""} 2` + "\n" +
		`sluice_ingest_rejected_total{reason="too_many_streams",stream=""} 1`
	if metrics != want {
		t.Fatalf("rejection metrics:\n%s\nwant:\n%s", metrics, want)
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// BenchmarkIngestHandler is the whole ingest request path minus the
// network: routing, body read, decode and the hand-off to the stream.
func BenchmarkIngestHandler(b *testing.B) {
	rt := operators.NewRuntime(operators.RuntimeConfig{QueueSize: 1 << 16})
	defer rt.Close()
	srv, err := New(Config{}, rt)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	body := benchEvents(1000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "/v1/streams/bench/events", bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		w := &discardWriter{header: http.Header{}}
		srv.ServeHTTP(w, req)
		if w.status != http.StatusAccepted {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/event")
}

type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestReadLimitedHint checks that a declared length reserves at most
// maxHint before the body arrives, and that the body still reads whole.
func TestReadLimitedHint(t *testing.T) {
	for _, tc := range []struct {
		name       string
		body, hint int64
		wantCap    int
	}{
		{"honest small body", 100, 100, 101},
		{"declared far more than sent", 10, 16 << 20, maxHint + 1},
		{"large body grows", 3 << 20, 3 << 20, 4 * (maxHint + 1)}, // doubled twice
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte{'x'}, int(tc.body))
			got, err := readLimited(bytes.NewReader(body), 16<<20, tc.hint)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read %d bytes, error %v; want the %d sent", len(got), err, tc.body)
			}
			if cap(got) != tc.wantCap {
				t.Errorf("buffer capacity %d, want %d", cap(got), tc.wantCap)
			}
		})
	}
}
