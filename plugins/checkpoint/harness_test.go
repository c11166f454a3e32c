package checkpoint_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The crash tests run sluice as its own OS process, built once per test
// binary from this module's cmd/sluice.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func sluiceBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "sluice-crash-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "sluice")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", buildBin, "sluice/cmd/sluice")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build sluice/cmd/sluice: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// sluice is one sluice server run as a child process; restarting it keeps
// its flags and its port.
type sluice struct {
	t    *testing.T
	bin  string
	args []string
	addr string
	logs *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

func newSluice(t *testing.T, name string, args ...string) *sluice {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	s := &sluice{t: t, bin: sluiceBinary(t), args: append([]string{"serve", "--addr", addr}, args...), addr: addr, logs: logs}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			s.dumpLogs(name)
		}
		logs.Close()
	})
	return s
}

func (s *sluice) dumpLogs(name string) {
	b, _ := os.ReadFile(s.logs.Name())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	s.t.Logf("last lines of %s's log:\n%s", name, strings.Join(lines, "\n"))
}

// start runs the process and waits until its API answers.
func (s *sluice) start() {
	s.t.Helper()
	s.mu.Lock()
	fmt.Fprintf(s.logs, "=== start %d\n", s.starts+1)
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("start sluice: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	s.starts++
	s.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			s.dumpLogs("sluice")
			s.t.Fatalf("sluice exited during start")
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("sluice did not answer /healthz within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running says whether the process is up (started and not yet exited).
func (s *sluice) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// run says which start the running process is: 1 for the first.
func (s *sluice) run() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// kill is kill -9: no checkpoint, no flush, nothing.
func (s *sluice) kill() { s.killRun(0) }

// killRun kills the process if it is still the given start (0: any).
func (s *sluice) killRun(start int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || (start != 0 && start != s.starts) {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// stop is a graceful shutdown (SIGTERM): the last checkpoint, sinks flushed.
func (s *sluice) stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.t.Fatalf("sluice did not stop within 60s of SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.t.Errorf("sluice exited with status %d after SIGTERM", code)
	}
	s.cmd = nil
}

// metrics scrapes /metrics into "name{labels}" → value; nil while the
// process is down.
func (s *sluice) metrics() map[string]float64 {
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, "sluice_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// positions sums, over the partitions of a Kafka-backed stream, the
// offsets after the last message handed on; -1 while the process is down.
func (s *sluice) positions(stream string) int64 {
	resp, err := http.Get("http://" + s.addr + "/v1/streams")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var list []struct {
		Name  string `json:"name"`
		Kafka *struct {
			Partitions []struct {
				Position int64 `json:"position"`
			} `json:"partitions"`
		} `json:"kafka"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return -1
	}
	for _, st := range list {
		if st.Name == stream && st.Kafka != nil {
			var sum int64
			for _, p := range st.Kafka.Partitions {
				sum += max(p.Position, 0)
			}
			return sum
		}
	}
	return -1
}

// waitFor polls cond until it holds, failing after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// esProxy sits between sluice and the Elasticsearch stand-in. Armed, it
// lets the next _bulk request through, and once Elasticsearch has applied
// it, kills sluice before the answer reaches it: a crash mid-flush, with
// documents written that sluice never heard acknowledged.
type esProxy struct {
	target string
	srv    *httptest.Server
	armed  atomic.Pointer[func(docs int)]
}

func newESProxy(t *testing.T, target string) *esProxy {
	p := &esProxy{target: target}
	client := &http.Client{Timeout: time.Minute}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if strings.HasSuffix(r.URL.Path, "/_bulk") {
			if kill := p.armed.Swap(nil); kill != nil {
				(*kill)(bytes.Count(body, []byte("\n")) / 2)
				http.Error(w, "sluice is gone", http.StatusBadGateway)
				return
			}
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *esProxy) URL() string { return p.srv.URL }

// arm makes the next _bulk request call kill once Elasticsearch applied it.
func (p *esProxy) arm(kill func(docs int)) { p.armed.Store(&kill) }

// redisProxy sits between sluice and the Redis that stores its
// checkpoints. Armed, it passes the next checkpoint write (the store's
// script, EVALSHA or EVAL) to Redis and, once Redis has answered, kills
// sluice before the answer reaches it: a crash mid-checkpoint, with the
// checkpoint stored and its offsets not yet committed to Kafka.
type redisProxy struct {
	target string
	ln     net.Listener
	armed  atomic.Pointer[func()]
}

func newRedisProxy(t *testing.T, target string) *redisProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &redisProxy{target: target, ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *redisProxy) Addr() string { return p.ln.Addr().String() }

func (p *redisProxy) arm(kill func()) { p.armed.Store(&kill) }

func (p *redisProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var hold atomic.Pointer[func()] // set when this connection carries the armed write
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				if kill := hold.Swap(nil); kill != nil {
					if buf[0] != '-' {
						(*kill)()
						client.Close()
						return
					}
					// An error (NOSCRIPT: EVAL follows) stored nothing.
					p.armed.Store(kill)
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				client.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			chunk := bytes.ToLower(buf[:n])
			if bytes.Contains(chunk, []byte("\r\nevalsha\r\n")) || bytes.Contains(chunk, []byte("\r\neval\r\n")) {
				if kill := p.armed.Swap(nil); kill != nil {
					hold.Store(kill)
				}
			}
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// redisDump reads every key of a Redis database as text: strings as they
// are, hashes and sets sorted, sorted sets with their scores.
func redisDump(t *testing.T, addr string, db int) map[string]string {
	t.Helper()
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: addr, DB: db})
	defer c.Close()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v string
		switch typ {
		case "string":
			v, err = c.Get(ctx, k).Result()
		case "hash":
			var h map[string]string
			h, err = c.HGetAll(ctx, k).Result()
			v = fmt.Sprint(h) // fmt sorts map keys
		case "set":
			var m []string
			m, err = c.SMembers(ctx, k).Result()
			slices.Sort(m)
			v = strings.Join(m, ",")
		case "zset":
			var z []goredis.Z
			z, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
			v = fmt.Sprint(z)
		default:
			t.Fatalf("redis key %q has type %s, which the dump does not read", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		out[k] = typ + " " + v
	}
	return out
}
