package queries_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
	"sluice/queries"
	"sluice/server"
)

// sluice is one running server with the shipped pipeline deployed, built
// the way `sluice serve` builds it: the runtime with its environment, the
// plugins set up, the HTTP API over it.
type sluice struct {
	rt  *operators.Runtime
	srv *server.Server
	hs  *httptest.Server
	url string
}

// startSluice deploys every shipped file, each passed through edit (which
// may be nil) first.
func startSluice(t *testing.T, env *operators.Env, edit func(string) string) *sluice {
	t.Helper()
	rt := operators.NewRuntime(operators.RuntimeConfig{Env: env})
	if err := operators.Setup(rt.Env()); err != nil {
		t.Fatal(err)
	}
	// Sessions close by event time alone, whatever the machine's speed.
	rt.EventTimeOnly("events")
	srv, err := server.New(server.Config{}, rt)
	if err != nil {
		rt.Close()
		t.Fatal(err)
	}
	s := &sluice{rt: rt, srv: srv}
	t.Cleanup(s.stop)
	files, _ := fs.Glob(queries.Files, "*.sql")
	for _, f := range files {
		src, _ := fs.ReadFile(queries.Files, f)
		sql := string(src)
		if edit != nil {
			sql = edit(sql)
		}
		if _, err := srv.DeploySQL(sql); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	s.hs = httptest.NewServer(srv)
	s.url = s.hs.URL
	return s
}

// stop shuts the server down cleanly: statements finish what they hold
// and flush their sinks. Stopping twice is fine.
func (s *sluice) stop() {
	if s.hs != nil {
		s.hs.Close()
	}
	s.srv.Close()
	s.rt.Close()
}

// ingest posts NDJSON to the stream "events", in bodies of at most 500
// lines, waiting out back-pressure.
func (s *sluice) ingest(t *testing.T, lines [][]byte) {
	t.Helper()
	for from := 0; from < len(lines); from += 500 {
		body := bytes.Join(lines[from:min(from+500, len(lines))], []byte{'\n'})
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Post(s.url+"/v1/streams/events/events", "application/x-ndjson", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				break
			}
			if resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
				t.Fatalf("ingest: %d %s", resp.StatusCode, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// settle waits until everything ingested has gone through every statement
// and every sink has acknowledged what it was given.
func (s *sluice) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.rt.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range s.rt.Queries() {
		if err := q.FlushSinks(ctx); err != nil {
			t.Fatalf("%s: %v", q.Spec().Name, err)
		}
	}
}

// sinkCounters are a statement's delivery counters, per sink type.
func (s *sluice) sinkCounters(t *testing.T, name string) map[string]map[string]uint64 {
	t.Helper()
	q, ok := s.rt.Query(name)
	if !ok {
		t.Fatalf("statement %s is not deployed", name)
	}
	out := map[string]map[string]uint64{}
	for _, st := range q.Stats().Sinks {
		if st.State != "ok" {
			t.Fatalf("%s: sink %s is %s", name, st.Type, st.State)
		}
		out[st.Type] = st.Counters
	}
	return out
}

// redisDump is every key matching pattern as "type contents ttl", with
// TTLs rounded up to whole minutes so that a test's own duration does not
// matter.
func redisDump(t *testing.T, c *goredis.Client, pattern string) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ := c.Type(ctx, k).Val()
		var body string
		switch typ {
		case "set":
			m := c.SMembers(ctx, k).Val()
			slices.Sort(m)
			body = strings.Join(m, ",")
		case "zset":
			for _, z := range c.ZRangeWithScores(ctx, k, 0, -1).Val() {
				body += fmt.Sprintf("%v:%g;", z.Member, z.Score)
			}
		case "list":
			body = strings.Join(c.LRange(ctx, k, 0, -1).Val(), ",")
		default:
			t.Fatalf("key %s has type %s, which no shipped statement writes", k, typ)
		}
		ttl := "no ttl"
		if d := c.PTTL(ctx, k).Val(); d > 0 {
			ttl = "ttl " + (d + time.Minute - 1).Truncate(time.Minute).String()
		}
		out[k] = typ + " " + body + " " + ttl
	}
	return out
}

func sameDump(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	n := 0
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] && n < 10 {
			n++
			t.Errorf("%s: %s = %q, want %q", what, k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok && n < 10 {
			n++
			t.Errorf("%s: unexpected key %s = %q", what, k, got[k])
		}
	}
	t.FailNow()
}

func redisClient(t *testing.T, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
