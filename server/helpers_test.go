package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice/operators"
	"sluice/sqlengine"
)

// The tests below run the real HTTP stack and runtime with statements built
// by hand: fakeCompile reads one statement per line,
//
//	name source [shape] [block]
//
// where name "-" leaves the statement unnamed, shape is its state shape and
// "block" makes it stall on its first batch until the test releases it.
// A line "!error" is a compile error.
func fakeCompiler(gate chan struct{}) func(string) ([]*operators.QuerySpec, error) {
	return func(src string) ([]*operators.QuerySpec, error) { return fakeCompile(src, gate) }
}

func fakeCompile(src string, gate chan struct{}) ([]*operators.QuerySpec, error) {
	var specs []*operators.QuerySpec
	for i, line := range strings.Split(strings.TrimSpace(src), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "!error" {
			return nil, sqlengine.ErrorList{{Statement: i + 1, Position: sqlengine.Position{Line: i + 1, Column: 3}, Token: "PERCENTLE", Msg: "unknown function PERCENTLE; did you mean PERCENTILE?"}}
		}
		spec := &operators.QuerySpec{SQL: line, Source: f[1], Columns: []string{"*"},
			Plan: []operators.PlanNode{{ID: 0, Op: "source", Detail: f[1]}, {ID: 1, Op: "pass", Inputs: []int{0}}}}
		if f[0] != "-" {
			spec.Name = f[0]
			spec.Annotations = map[string][]string{"Name": {`"` + f[0] + `"`}}
		}
		block := false
		for _, x := range f[2:] {
			if x == "block" {
				block = true
			} else {
				spec.StateShape = x
			}
		}
		spec.Build = func(c *operators.Counters) operators.Operator {
			p := &passOp{}
			if block {
				p.gate = gate
			}
			return p
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// passOp emits its input unchanged and counts what it saw; the count moves
// over on a state-keeping replacement.
type passOp struct {
	seen atomic.Int64
	gate chan struct{}
}

func (p *passOp) Process(batch []*operators.Record, emit operators.Emit) {
	if p.gate != nil {
		<-p.gate
	}
	p.seen.Add(int64(len(batch)))
	emit(batch)
}
func (p *passOp) Tick(int64, operators.Emit) {}
func (p *passOp) Finish(operators.Emit)      {}
func (p *passOp) StateSize() int             { return int(p.seen.Load()) }
func (p *passOp) CopyState(old operators.Operator) {
	p.seen.Store(old.(*passOp).seen.Load())
}

type testServer struct {
	t       *testing.T
	url     string
	rt      *operators.Runtime
	srv     *Server
	gate    chan struct{} // holds "block" statements until release
	release func()
}

func newTestServer(t *testing.T, cfg Config, rcfg operators.RuntimeConfig) *testServer {
	t.Helper()
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	if cfg.Compile == nil {
		cfg.Compile = fakeCompiler(gate)
	}
	rt := operators.NewRuntime(rcfg)
	srv, err := New(cfg, rt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		release()
		srv.Close()
		hs.Close()
		rt.Close()
	})
	return &testServer{t: t, url: hs.URL, rt: rt, srv: srv, gate: gate, release: release}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (ts *testServer) do(method, path string, body []byte, header ...string) response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// expect checks the status and, when body is not empty, the exact body.
func (r response) expect(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || (body != "" && strings.TrimSpace(r.body) != body) {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.body, status, body)
	}
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// sse follows a results stream.
type sse struct {
	t      *testing.T
	cancel context.CancelFunc
	lines  chan string
}

func (ts *testServer) follow(path string) *sse {
	ts.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.url+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		ts.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		ts.t.Fatalf("results: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{t: ts.t, cancel: cancel, lines: make(chan string, 1024)}
	go func() {
		defer resp.Body.Close()
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	ts.t.Cleanup(cancel)
	return s
}

// next returns the next event's data, skipping comments, or fails after d.
func (s *sse) next(d time.Duration) string {
	s.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.t.Fatal("results stream ended")
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				return data
			}
		case <-deadline:
			s.t.Fatal("no event within", d)
		}
	}
}

// event returns the next event as "name data" (name "message" when the
// event has none), skipping comments, or fails after d.
func (s *sse) event(d time.Duration) string {
	s.t.Helper()
	deadline := time.After(d)
	name, data := "message", ""
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.t.Fatal("results stream ended")
			}
			switch {
			case line == "" && data != "":
				return name + " " + data
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		case <-deadline:
			s.t.Fatal("no event within", d)
		}
	}
}

// ping waits for a keep-alive comment.
func (s *sse) ping(d time.Duration) {
	s.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.t.Fatal("results stream ended")
			}
			if line == ": ping" {
				return
			}
		case <-deadline:
			s.t.Fatal("no ping within", d)
		}
	}
}

// waitFor polls cond until it holds or fails after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tailLen is how many records the stream's tail holds.
func tailLen(rt *operators.Runtime, stream string) int {
	recs, _ := rt.StreamTail(stream)
	return len(recs)
}
