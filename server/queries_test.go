package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"
	"time"

	"sluice/operators"
)

// apiView is the part of a statement view the tests check.
type apiView struct {
	Name      string               `json:"name"`
	SQL       string               `json:"sql"`
	Source    string               `json:"source"`
	Columns   []string             `json:"columns"`
	Plan      []operators.PlanNode `json:"plan"`
	Status    string               `json:"status"`
	Stats     operators.QueryStats `json:"stats"`
	StateKept *bool                `json:"state_kept"`
	State     string               `json:"state"`
}

func names(vs []apiView) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

func TestQueryLifecycle(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{})

	var created struct{ Statements []apiView }
	r := ts.do("POST", "/v1/queries", []byte("b clicks shapeA\na views\n- clicks"))
	r.expect(t, 201, "")
	r.decode(t, &created)
	sum := sha256.Sum256([]byte("- clicks"))
	unnamed := "query_" + hex.EncodeToString(sum[:])[:8]
	if got := names(created.Statements); len(got) != 3 || got[0] != "b" || got[1] != "a" || got[2] != unnamed {
		t.Fatalf("deployed %v, want [b a %s]", got, unnamed)
	}
	b := created.Statements[0]
	if b.SQL != "b clicks shapeA" || b.Source != "clicks" || b.Status != "running" || len(b.Plan) != 2 || b.Plan[1].Op != "pass" || b.Columns[0] != "*" {
		t.Fatalf("view of b: %+v", b)
	}

	var list []apiView
	ts.do("GET", "/v1/queries", nil).decode(t, &list)
	if got := names(list); len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != unnamed {
		t.Fatalf("list %v, want sorted [a b %s]", got, unnamed)
	}

	ts.do("GET", "/v1/queries/nope", nil).expect(t, 404, `{"error":"no statement named \"nope\""}`)

	// A clash deploys nothing, not even the statements before it.
	ts.do("POST", "/v1/queries", []byte("c clicks\nb clicks")).
		expect(t, 409, `{"error":"deploy \"b\": a statement with that name is already deployed"}`)
	ts.do("GET", "/v1/queries/c", nil).expect(t, 404, "")

	// Compile errors keep their positions.
	ts.do("POST", "/v1/queries", []byte("ok clicks\n!error")).expect(t, 400,
		`{"error":"statement 2 line 2, column 3: unknown function PERCENTLE; did you mean PERCENTILE?","errors":[{"statement":2,"line":2,"column":3,"token":"PERCENTLE","message":"unknown function PERCENTLE; did you mean PERCENTILE?"}]}`)
	ts.do("POST", "/v1/queries", []byte("  \n")).expect(t, 400, `{"error":"no SQL statement found"}`)

	// Events flow through b; a replacement with the same state shape keeps
	// what b had seen, another shape starts fresh.
	ts.do("POST", "/v1/streams/clicks/events", []byte(`[{"x":1},{"x":2},{"x":3}]`)).expect(t, 202, "")
	waitFor(t, 2*time.Second, "b to see 3 events", func() bool {
		var v apiView
		ts.do("GET", "/v1/queries/b", nil).decode(t, &v)
		return v.Stats.In == 3
	})
	var put apiView
	r = ts.do("PUT", "/v1/queries/b", []byte("b clicks shapeA"))
	r.expect(t, 200, "")
	r.decode(t, &put)
	if put.StateKept == nil || !*put.StateKept || put.State != "kept: same keys and aggregates" || put.Name != "b" {
		t.Fatalf("same shape: %s", r.body)
	}
	waitFor(t, 2*time.Second, "state size to be read", func() bool {
		var v apiView
		ts.do("GET", "/v1/queries/b", nil).decode(t, &v)
		return v.Stats.StateSize == 3
	})
	r = ts.do("PUT", "/v1/queries/b", []byte("- clicks shapeB"))
	r.expect(t, 200, "")
	r.decode(t, &put)
	if put.StateKept == nil || *put.StateKept || put.State != "fresh: state shape changed" || put.Name != "b" || put.SQL != "- clicks shapeB" {
		t.Fatalf("new shape, unnamed statement: %s", r.body)
	}

	ts.do("PUT", "/v1/queries/b", []byte("other clicks")).expect(t, 400, `{"error":"the statement is named \"other\" but the URL names \"b\""}`)
	ts.do("PUT", "/v1/queries/b", []byte("b clicks\nc clicks")).expect(t, 400, `{"error":"PUT takes exactly one statement; the body has 2"}`)
	ts.do("PUT", "/v1/queries/b", []byte("!error")).expect(t, 400, "")
	ts.do("PUT", "/v1/queries/zzz", []byte("zzz clicks")).expect(t, 404, `{"error":"no statement named \"zzz\""}`)

	ts.do("DELETE", "/v1/queries/a", nil).expect(t, 204, "")
	ts.do("DELETE", "/v1/queries/a", nil).expect(t, 404, `{"error":"no statement named \"a\""}`)
	ts.do("GET", "/v1/queries", nil).decode(t, &list)
	if got := names(list); len(got) != 2 || got[0] != "b" || got[1] != unnamed {
		t.Fatalf("after delete %v", got)
	}
}

func TestResultsStream(t *testing.T) {
	// Debug logging wraps the response writer: flushing must still work.
	debug := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newTestServer(t, Config{PingInterval: 20 * time.Millisecond, Logger: debug}, operators.RuntimeConfig{})
	ts.do("GET", "/v1/queries/copy/results", nil).expect(t, 404, `{"error":"no statement named \"copy\""}`)
	ts.do("POST", "/v1/queries", []byte("copy s")).expect(t, 201, "")
	ts.do("POST", "/v1/streams/s/events", []byte("{\"n\":1}\n{\"n\":2}")).expect(t, 202, "")
	waitFor(t, 2*time.Second, "2 rows", func() bool { return len(ts.rt.Recent("copy")) == 2 })

	replay := ts.follow("/v1/queries/copy/results")
	live := ts.follow("/v1/queries/copy/results?replay=false")
	for _, want := range []string{`{"n":1}`, `{"n":2}`} {
		if got := replay.next(2 * time.Second); got != want {
			t.Fatalf("replayed %s, want %s", got, want)
		}
	}
	// Pings keep the live stream open before any row; wait for one so the
	// subscription surely exists before the next ingest.
	live.ping(2 * time.Second)
	// A pretty-printed event must still be one data line.
	ts.do("POST", "/v1/streams/s/events", []byte("{\n  \"n\": 3\n}")).expect(t, 202, "")
	for _, s := range []*sse{replay, live} {
		if got := s.next(2 * time.Second); got != `{"n":3}` {
			t.Fatalf("live row %s, want {\"n\":3}", got)
		}
	}
	// The subscription follows the statement through a replacement and the
	// stream ends when the statement is deleted.
	ts.do("PUT", "/v1/queries/copy", []byte("copy s")).expect(t, 200, "")
	ts.do("POST", "/v1/streams/s/events", []byte(`{"n":4}`)).expect(t, 202, "")
	if got := live.next(2 * time.Second); got != `{"n":4}` {
		t.Fatalf("after replace %s", got)
	}
	ts.do("DELETE", "/v1/queries/copy", nil).expect(t, 204, "")
	waitFor(t, 2*time.Second, "the stream to end", func() bool {
		for {
			select {
			case _, ok := <-live.lines:
				if !ok {
					return true
				}
			default:
				return false
			}
		}
	})
}
