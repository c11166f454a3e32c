package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice/operators"
	"sluice/sqlengine"
)

// These tests run the real compiler behind the real HTTP server.

const viewsSQL = `@Name("v")
@EventTime(column="ts", lateness="0s")
SELECT country, COUNT(*) AS views FROM clicks GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country`

// windowRow is one output row of viewsSQL.
type windowRow struct {
	WindowStart int64  `json:"window_start"`
	WindowEnd   int64  `json:"window_end"`
	Country     string `json:"country"`
	Views       int64  `json:"views"`
	Key         string `json:"_key"`
}

// nextRows reads n rows from the results stream, by country.
func nextRows(t *testing.T, s *sse, n int) map[string]windowRow {
	t.Helper()
	rows := map[string]windowRow{}
	for i := 0; i < n; i++ {
		data := s.next(5 * time.Second)
		var r windowRow
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			t.Fatalf("row %s: %v", data, err)
		}
		if len(r.Key) != 32 {
			t.Fatalf("row %s has no 32-hex _key", data)
		}
		rows[r.Country] = r
	}
	return rows
}

func checkRows(t *testing.T, got map[string]windowRow, start int64, views map[string]int64) {
	t.Helper()
	if len(got) != len(views) {
		t.Fatalf("rows %+v, want views %v", got, views)
	}
	for country, n := range views {
		r := got[country]
		want := windowRow{WindowStart: start, WindowEnd: start + 10000, Country: country, Views: n,
			Key: operators.RowKey("v", start, 0, []operators.Value{operators.Str(country)})}
		if r != want {
			t.Fatalf("row %+v, want %+v", r, want)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	ts := newTestServer(t, Config{Compile: sqlengine.Compile, MaxBody: 4096}, operators.RuntimeConfig{})

	var created struct{ Statements []apiView }
	r := ts.do("POST", "/v1/queries", []byte(viewsSQL))
	r.expect(t, 201, "")
	r.decode(t, &created)
	if len(created.Statements) != 1 || created.Statements[0].Name != "v" || created.Statements[0].Source != "clicks" ||
		created.Statements[0].Status != "running" || len(created.Statements[0].Plan) == 0 {
		t.Fatalf("deployed %s", r.body)
	}
	if got := strings.Join(created.Statements[0].Columns, ","); got != "window_start,window_end,country,views,_key" {
		t.Fatalf("columns %s", got)
	}

	results := ts.follow("/v1/queries/v/results")
	nd := []string{"Content-Type", "application/x-ndjson"}
	// Window [0, 10s): DE 3, US 1. The batch with the event at 12 s moves
	// the watermark past 10 s; the next one, at 5 s, is too late and dropped.
	ts.do("POST", "/v1/streams/clicks/events", []byte(
		`{"ts":1000,"country":"DE"}
{"ts":2000,"country":"US"}
{"ts":3000,"country":"DE"}
{"ts":9999,"country":"DE"}
`), nd...).expect(t, 202, `{"accepted":4}`)
	ts.do("POST", "/v1/streams/clicks/events", []byte(`{"ts":12000,"country":"FR"}`)).expect(t, 202, `{"accepted":1}`)
	ts.do("POST", "/v1/streams/clicks/events", []byte(`{"ts":5000,"country":"US"}`)).expect(t, 202, `{"accepted":1}`)
	checkRows(t, nextRows(t, results, 2), 0, map[string]int64{"DE": 3, "US": 1})
	waitFor(t, 2*time.Second, "the late event to be counted", func() bool {
		var v apiView
		ts.do("GET", "/v1/queries/v", nil).decode(t, &v)
		return v.Stats.Late == 1 && v.Stats.In == 6
	})

	// Same keys and aggregates: the open window [10s, 20s) with FR's first
	// view moves over to the new version.
	r = ts.do("PUT", "/v1/queries/v", []byte("@Description(\"views per country\")\n"+strings.TrimPrefix(viewsSQL, `@Name("v")`+"\n")))
	r.expect(t, 200, "")
	var put apiView
	r.decode(t, &put)
	if put.StateKept == nil || !*put.StateKept || put.State != "kept: same keys and aggregates" {
		t.Fatalf("replace with the same shape: %s", r.body)
	}
	ts.do("POST", "/v1/streams/clicks/events", []byte(`[{"ts":13000,"country":"FR"},{"ts":21000,"country":"DE"}]`)).expect(t, 202, `{"accepted":2}`)
	checkRows(t, nextRows(t, results, 1), 10000, map[string]int64{"FR": 2})

	// Another aggregate: a new state shape, so it starts fresh.
	r = ts.do("PUT", "/v1/queries/v", []byte(`@Name("v")
@EventTime(column="ts", lateness="0s")
SELECT country, COUNT(*) AS views, MAX(ts) AS last FROM clicks GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country`))
	r.expect(t, 200, "")
	r.decode(t, &put)
	if put.StateKept == nil || *put.StateKept || put.State != "fresh: state shape changed" {
		t.Fatalf("replace with another shape: %s", r.body)
	}

	// The documented errors.
	ts.do("POST", "/v1/streams/clicks/events", []byte("{\"ts\":1}\n{\"ts\":2,}\n"), nd...).
		expect(t, 400, `{"error":"line 2: invalid JSON: unexpected '}', expected a string key at column 9","line":2}`)
	ts.do("POST", "/v1/streams/clicks/events", []byte(`{"pad":"`+strings.Repeat("x", 5000)+`"}`)).
		expect(t, 413, `{"error":"request body is larger than 4096 bytes (--max-body)"}`)
	bad := "@Name(\"bad\")\nSELECT country,\n       PERCENTLE(ts, 95) AS p\nFROM clicks GROUP BY country"
	r = ts.do("POST", "/v1/queries", []byte(bad))
	r.expect(t, 400, "")
	var cerr struct {
		Error  string
		Errors []sqlengine.CompileError
	}
	r.decode(t, &cerr)
	if len(cerr.Errors) != 1 || cerr.Errors[0].Line != 3 || cerr.Errors[0].Column != 8 || cerr.Errors[0].Name != "bad" ||
		cerr.Errors[0].Statement != 1 || !strings.Contains(cerr.Error, "statement 1 (bad) line 3, column 8: ") || !strings.Contains(cerr.Error, "PERCENTLE") {
		t.Fatalf("compile error %s", r.body)
	}
	ts.do("GET", "/v1/queries/bad", nil).expect(t, 404, "")
}

// stallSink blocks every write until its gate closes: a sink whose system
// is down with its buffer full. @Sink(type="stall_e2e", gate="N") picks the gate.
var stallGates sync.Map // gate name → chan struct{}

func init() {
	operators.RegisterSink(operators.SinkPlugin{Name: "stall_e2e", Doc: "blocks until the test opens its gate",
		New: func(cfg operators.SinkConfig) (operators.Sink, error) {
			gate, ok := stallGates.Load(cfg.Args["gate"])
			if !ok {
				return nil, fmt.Errorf("no gate %q", cfg.Args["gate"])
			}
			return stallSink{gate.(chan struct{})}, nil
		}})
}

type stallSink struct{ gate chan struct{} }

func (s stallSink) Write(ctx context.Context, _ []*operators.Record) error {
	select {
	case <-s.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (stallSink) Flush(context.Context) error { return nil }
func (stallSink) Close() error                { return nil }

var gateSeq atomic.Int64

func TestEndToEndBackpressure(t *testing.T) {
	gateName := fmt.Sprint(gateSeq.Add(1))
	gate := make(chan struct{})
	open := sync.OnceFunc(func() { close(gate) })
	stallGates.Store(gateName, gate)
	ts := newTestServer(t, Config{Compile: sqlengine.Compile}, operators.RuntimeConfig{QueueSize: 1, QueryQueue: 1})
	t.Cleanup(open)
	ts.do("POST", "/v1/queries", []byte("@Name(\"stalled\")\n@Sink(type=\"stall_e2e\", gate=\""+gateName+"\")\nSELECT * FROM slow")).expect(t, 201, "")
	var r response
	accepted := 0
	for i := 0; i < 100; i++ {
		if r = ts.do("POST", "/v1/streams/slow/events", []byte(fmt.Sprintf(`{"i":%d}`, i))); r.status != 202 {
			break
		}
		accepted++
	}
	r.expect(t, 429, `{"error":"stream \"slow\" queue is full; retry later"}`)
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Nothing accepted is lost once the sink recovers.
	open()
	waitFor(t, 5*time.Second, "every accepted event to reach the sink", func() bool {
		q, _ := ts.rt.Query("stalled")
		st := q.Stats()
		return len(st.Sinks) == 1 && st.Sinks[0].Writes == uint64(accepted)
	})
}
