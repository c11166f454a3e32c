package server

import (
	"testing"
	"time"

	"sluice/operators"
)

func TestStreamTail(t *testing.T) {
	ts := newTestServer(t, Config{}, operators.RuntimeConfig{})
	ts.do("POST", "/v1/queries", []byte("q reads")).expect(t, 201, "")
	ts.do("POST", "/v1/streams/other/events", []byte(`[{"a":1},{"a":2}]`)).expect(t, 202, "")
	waitFor(t, 2*time.Second, "the tail", func() bool { return tailLen(ts.rt, "other") > 0 })
	for _, tc := range []struct {
		name, stream string
		status       int
		body         string
	}{
		{"events in the tail", "other", 200, `[{"a":1}]`},
		{"a stream without events", "reads", 200, `[]`},
		{"no such stream", "nothing", 404, `{"error":"no stream named \"nothing\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.do("GET", "/v1/streams/"+tc.stream+"/tail", nil).expect(t, tc.status, tc.body)
		})
	}
}

func tailLen(rt *operators.Runtime, stream string) int {
	recs, _ := rt.StreamTail(stream)
	return len(recs)
}
