package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeHelpListsEveryFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := errOut.String()
	for flag, def := range map[string]string{
		"addr": ":8080", "admin-token": "none", "ingest-token": "none", "max-body": "16MiB", "queue-size": "128", "max-streams": "1024",
		"data-dir": "none", "queries": "none", "redis-url": "none", "es-url": "none", "es-username": "none",
		"es-password": "none", "es-api-key": "none", "es-insecure": "false", "kafka-brokers": "none",
		"geoip-db": "none", "log-level": "INFO",
	} {
		if !strings.Contains(help, "\n  --"+flag+" ") && !strings.Contains(help, "\n  --"+flag+"\n") {
			t.Errorf("help lacks --%s", flag)
		}
		if want := fmt.Sprintf("env %s, default %s\n", envName(flag), def); !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestServeConfig(t *testing.T) {
	env := map[string]string{
		"SLUICE_ADDR":          "127.0.0.1:9000",
		"SLUICE_MAX_BODY":      "2MiB",
		"SLUICE_QUEUE_SIZE":    "8",
		"SLUICE_KAFKA_BROKERS": "k1:9092, k2:9092,",
		"SLUICE_ES_INSECURE":   "true",
		"SLUICE_LOG_LEVEL":     "debug",
		"SLUICE_ADMIN_TOKEN":   "from-env",
	}
	c, err := parseServe([]string{"--addr", ":7000", "--geoip-db=/x.mmdb", "--admin-token", "from-flag"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e := c.env(nil)
	if c.addr != ":7000" || c.adminToken != "from-flag" || c.maxBody != 2<<20 || c.queueSize != 8 || c.logLevel != slog.LevelDebug ||
		!e.ESInsecure || e.GeoIPDB != "/x.mmdb" || strings.Join(e.KafkaBrokers, "|") != "k1:9092|k2:9092" {
		t.Fatalf("config %+v, env %+v", c, e)
	}
	defaults, err := parseServe(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if defaults.addr != ":8080" || defaults.maxBody != 16<<20 || defaults.queueSize != 128 || defaults.logLevel != slog.LevelInfo || defaults.queriesDir != "" {
		t.Fatalf("defaults %+v", defaults)
	}
	_, err = parseServe(nil, func(k string) string { return map[string]string{"SLUICE_MAX_BODY": "lots"}[k] }, io.Discard)
	if err == nil || err.Error() != `SLUICE_MAX_BODY="lots": want a positive size such as 1048576, 512KiB or 16MiB` {
		t.Fatalf("bad env: %v", err)
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		str  string
	}{
		{"1048576", 1 << 20, "1MiB"}, {"512KiB", 512 << 10, "512KiB"}, {"16MiB", 16 << 20, "16MiB"}, {"2 GiB", 2 << 30, "2GiB"},
		{"1MB", 1000000, "1000000"}, {"10KB", 10000, "10000"}, {"1500", 1500, "1500"}, {"100B", 100, "100"}, {"1536KiB", 1536 << 10, "1536KiB"},
	} {
		var b byteSize
		if err := b.Set(tc.in); err != nil || int64(b) != tc.want || b.String() != tc.str {
			t.Errorf("%q: %d %q %v, want %d %q", tc.in, int64(b), b.String(), err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "0", "-5", "lots", "1.5MiB", "5TiB", "99999999999GiB"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("%q accepted as %d", bad, int64(b))
		}
	}
}

// syncBuffer collects the server's log while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestServeRunsAndShutsDown(t *testing.T) {
	queries := writeFiles(t, map[string]string{
		"01_views.sql": "@Name(\"views\")\n@EventTime(column=\"ts\", lateness=\"0s\")\nSELECT country, COUNT(*) AS n FROM clicks GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country;\n",
		"02_copy.sql":  "@Name(\"copy\")\nSELECT * FROM clicks WHERE country = 'DE';\n",
		"notes.txt":    "not SQL",
	})
	addr := freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--queries", queries, "--admin-token", "secret", "--data-dir", t.TempDir()}, io.Discard, logs)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := `{"status":"ok","queries":2,"streams":1}`; string(body) != want {
				t.Fatalf("healthz %s, want %s", body, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	post := func(path, body, token string) int {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/v1/queries", "SELECT * FROM clicks", ""); code != 401 {
		t.Fatalf("deploy without the admin token: %d", code)
	}
	if code := post("/v1/streams/clicks/events", "{\"ts\":1000,\"country\":\"DE\"}\n{\"ts\":2000,\"country\":\"US\"}\n", ""); code != 202 {
		t.Fatalf("ingest: %d", code)
	}

	// A results stream open at shutdown must not hold the server up.
	resp, err := http.Get(base + "/v1/queries/copy/results")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: {\"ts\":1000,\"country\":\"DE\"}\n" {
		t.Fatalf("first result %q, %v", line, err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d\n%s", code, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not stop\n%s", logs.String())
	}
	for _, want := range []string{"msg=deployed query=views file=01_views.sql", "msg=deployed query=copy file=02_copy.sql", "msg=stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestServeStopsOnABadQueryFile(t *testing.T) {
	queries := writeFiles(t, map[string]string{
		"01_ok.sql":  "@Name(\"ok\")\nSELECT * FROM clicks;\n",
		"02_bad.sql": "@Name(\"bad\")\nSELECT country FROM clicks WHERE;\n",
	})
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"serve", "--addr", freeAddr(t), "--queries", queries}, io.Discard, &errOut)
	want := "sluice serve: " + filepath.Join(queries, "02_bad.sql") + ":\nstatement 1 (bad) line 2, column "
	if code != 1 || !strings.Contains(errOut.String(), want) {
		t.Fatalf("exit %d, want 1 and %q in:\n%s", code, want, errOut.String())
	}
	code = run(context.Background(), []string{"serve", "--queries", filepath.Join(queries, "nope")}, io.Discard, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "--queries: stat ") {
		t.Fatalf("missing dir: exit %d\n%s", code, errOut.String())
	}
}
