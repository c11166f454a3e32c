package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phuslu/iploc"

	"sluice/plugins/sources/generator"
)

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.3.4.5:1", true},
		{"http://[::1]:8080", true},
		{"http://localhost:9000/", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"http://[2001:db8::1]:80", false},
		{"127.0.0.1:8080", false},
	} {
		if err := checkLoopback(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestBenchOptionsChecked(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--events", "0"}, "--events must be within"},
		{[]string{"--events", "100", "--batch", "200"}, "--batch must be within"},
		{[]string{"--concurrency", "0"}, "--concurrency must be within"},
		{[]string{"--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"--url", "http://192.168.1.5:8080"}, "only loads loopback servers"},
		{[]string{"--shipped", "--stream", "clicks"}, `--shipped reads the stream "events"`},
		{[]string{"--sql-file", filepath.Join(dir, "missing.sql")}, "--sql-file"},
		{[]string{"extra"}, `sluice bench takes no arguments, got ["extra"]`},
	} {
		var stderr bytes.Buffer
		err := runBench(context.Background(), tc.args, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("bench %v: err = %v, stderr %q, want %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}

// TestBenchRate checks that --rate reaches the generator, with the users
// raised to what the rate needs.
func TestBenchRate(t *testing.T) {
	start := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	o := benchOptions{events: 3000, batch: 1000, seed: 3, users: 1000, rate: 3000}
	in, err := benchBatches(o, start, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.DefaultConfig()
	cfg.Seed, cfg.Count, cfg.Start, cfg.Rate = 3, 3000, start, 3000
	cfg.Users = generator.UsersFor(3000, cfg.BotFraction)
	if cfg.Users <= o.users {
		t.Fatalf("UsersFor(3000) = %d: the test needs more than --users", cfg.Users)
	}
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for range 1000 {
		want, _ = g.AppendNext(want)
	}
	if string(in.batches[0].body) != string(want) {
		t.Fatalf("first batch differs from the generator at %v events/s", cfg.Rate)
	}
}

// TestBenchBatches checks that the batches hold exactly the generator's
// events, each with country and device added.
func TestBenchBatches(t *testing.T) {
	o := benchOptions{events: 2500, batch: 1000, seed: 3, users: 50000}
	start := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	in, err := benchBatches(o, start, true)
	if err != nil {
		t.Fatal(err)
	}
	batches := in.batches
	if len(batches) != 3 || batches[0].n != 1000 || batches[1].n != 1000 || batches[2].n != 500 {
		t.Fatalf("batches of %v events", []int{batches[0].n, len(batches)})
	}
	cfg := generator.DefaultConfig()
	cfg.Seed, cfg.Users, cfg.Count, cfg.Start = 3, 50000, 2500, start
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	var last int64
	devices := map[string]int{}
	for bi, b := range batches {
		size += len(b.body)
		lines := strings.Split(strings.TrimSuffix(string(b.body), "\n"), "\n")
		if len(lines) != b.n {
			t.Fatalf("batch %d: %d lines for %d events", bi, len(lines), b.n)
		}
		for _, line := range lines {
			e, _ := g.Next()
			last = e.TS
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			country, device := m["country"], m["device"].(string)
			if country != iploc.IPCountry(netip.MustParseAddr(m["ip"].(string))) {
				t.Fatalf("country %v for ip %v", country, m["ip"])
			}
			devices[device]++
			want := string(e.AppendJSON(nil))
			want = want[:len(want)-1] + fmt.Sprintf(`,"country":%q,"device":%q}`, country, device)
			if line != want {
				t.Fatalf("line\n%s\nwant\n%s", line, want)
			}
		}
	}
	if size != in.payload {
		t.Fatalf("payload %d, batches hold %d bytes", in.payload, size)
	}
	if want := time.Duration(last-start.UnixMilli()) * time.Millisecond; in.span != want {
		t.Fatalf("span %v, the events cover %v", in.span, want)
	}
	for _, d := range []string{"desktop", "mobile", "tablet", "bot"} {
		if devices[d] == 0 {
			t.Fatalf("no %s events: %v", d, devices)
		}
	}
}

func TestParseProcessMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.75
process_cpu_seconds_total_extra 3
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.2020096e+08
sluice_ingest_events_total{stream="bench"} 100
`
	cpu, rss, err := parseProcessMetrics(strings.NewReader(text))
	if err != nil || cpu != 12.75 || rss != 220200960 {
		t.Fatalf("cpu %v rss %v err %v", cpu, rss, err)
	}
	if _, _, err := parseProcessMetrics(strings.NewReader("process_cpu_seconds_total 1\n")); err == nil {
		t.Fatal("metrics without RSS accepted")
	}
	if _, _, err := parseProcessMetrics(strings.NewReader("process_cpu_seconds_total x\nprocess_resident_memory_bytes 1\n")); err == nil {
		t.Fatal("bad number accepted")
	}
}

func TestParseProcStat(t *testing.T) {
	stat := []byte("4242 (sluice (bench) x) R 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 100\n")
	status := []byte("Name:\tsluice\nVmPeak:\t  999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n")
	cpu, hwm, err := parseProcStat(stat, status)
	if err != nil || cpu != 3 || hwm != 2<<20 {
		t.Fatalf("cpu %v hwm %v err %v", cpu, hwm, err)
	}
	if _, _, err := parseProcStat(stat, []byte("Name:\tx\n")); err == nil {
		t.Fatal("status without VmHWM accepted")
	}
	cpu, hwm, err = selfUsage{}.usage(context.Background(), "")
	if err != nil || cpu < 0 || hwm < 1<<20 {
		t.Fatalf("this process: cpu %v hwm %v err %v", cpu, hwm, err)
	}
}

// fakeSluice is enough of a server for runLoad: statements, ingest that
// answers every third POST with 429, a statement whose events_in lags
// behind, and /metrics.
type fakeSluice struct {
	mu       sync.Mutex
	deployed string
	calls    []string
	posts    int
	lines    map[string]int
	accepted int64
	polls    int
	metrics  int
}

func (f *fakeSluice) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/queries":
		if f.deployed == "" && len(f.calls) == 1 {
			w.WriteHeader(http.StatusConflict) // left over from an earlier run
			return
		}
		f.deployed = string(body)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"statements":[{"name":"bench","source":"bench"}]}`)
	case r.Method == "DELETE" && r.URL.Path == "/v1/queries/bench":
		f.deployed = ""
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "GET" && r.URL.Path == "/v1/queries":
		f.polls++
		in := f.accepted
		if f.polls < 4 {
			in /= 2
		}
		fmt.Fprintf(w, `[{"name":"bench","source":"bench","stats":{"events_in":%d,"rows_out":7}}]`, in)
	case r.Method == "POST" && r.URL.Path == "/v1/streams/bench/events":
		f.posts++
		if f.posts%3 == 0 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		n := 0
		for line := range strings.SplitSeq(strings.TrimSuffix(string(body), "\n"), "\n") {
			f.lines[line]++
			n++
		}
		f.accepted += int64(n)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%d}`, n)
	case r.URL.Path == "/metrics":
		f.metrics++
		fmt.Fprintf(w, "process_cpu_seconds_total %d.5\nprocess_resident_memory_bytes %d\n", 10+f.metrics, f.metrics<<20)
	default:
		http.NotFound(w, r)
	}
}

func TestRunLoadAgainstAFakeServer(t *testing.T) {
	f := &fakeSluice{lines: map[string]int{}}
	ts := httptest.NewServer(f)
	defer ts.Close()
	o := benchOptions{events: 5000, batch: 100, conns: 4, seed: 9, users: 1000, stream: "bench", name: "bench", sql: benchTumbleSQL}
	in, err := benchBatches(o, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	batches := in.batches
	sources, _ := o.statements()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := runLoad(ctx, loadRun{base: ts.URL, sources: sources, o: o, batches: batches, target: remoteServer{}, log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.sent != 5000 || r.accepted != 5000 || r.processed != 5000 || r.dropped != 0 || r.statements != 1 {
		t.Fatalf("sent %d accepted %d processed %d dropped %d statements %d", r.sent, r.accepted, r.processed, r.dropped, r.statements)
	}
	// 50 batches; every third POST is refused, so 50 batches need 74 POSTs.
	if f.posts != 74 || r.throttled != 24 {
		t.Fatalf("%d POSTs, %d counted 429s; want 74 and 24", f.posts, r.throttled)
	}
	if len(f.lines) != 5000 {
		t.Fatalf("server got %d distinct events, want 5000", len(f.lines))
	}
	for line, n := range f.lines {
		if n != 1 {
			t.Fatalf("event accepted %d times: %s", n, line)
		}
	}
	if len(sources) != 1 || !strings.HasPrefix(sources[0], "@Name(\"bench\")\nSELECT country, device") || f.deployed != "" {
		t.Fatalf("statements %q, still deployed %q", sources, f.deployed)
	}
	want := []string{"POST /v1/queries", "DELETE /v1/queries/bench", "POST /v1/queries"}
	if strings.Join(f.calls[:3], ",") != strings.Join(want, ",") || f.calls[len(f.calls)-1] != "DELETE /v1/queries/bench" {
		t.Fatalf("calls start %v, end %s", f.calls[:3], f.calls[len(f.calls)-1])
	}
	// /metrics answered 11.5, 12.5, … MiB 1, 2, …: CPU is last minus first.
	if r.cpu != float64(f.metrics-1) || r.peakRSS != int64(f.metrics)<<20 {
		t.Fatalf("cpu %v peak %v after %d /metrics reads", r.cpu, r.peakRSS, f.metrics)
	}
}

// TestDrained follows a chain events → a → mid → b, c plus a statement on
// another stream, counting from a baseline.
func TestDrained(t *testing.T) {
	st := func(name, source, target string, in, out int64) benchStatement {
		s := benchStatement{Name: name, Source: source, Target: target}
		s.Stats.In, s.Stats.Out = in, out
		return s
	}
	base := benchCounts{"a": {100, 40}, "b": {40, 0}, "c": {40, 3}, "other": {5, 5}}
	for _, tc := range []struct {
		name  string
		list  []benchStatement
		taken int64
		ok    bool
	}{
		{"drained", []benchStatement{st("a", "events", "mid", 1100, 540), st("b", "mid", "", 540, 9), st("c", "mid", "", 540, 3), st("other", "x", "", 5, 5)}, 1000, true},
		{"first stage behind", []benchStatement{st("a", "events", "mid", 1000, 500), st("b", "mid", "", 500, 9), st("c", "mid", "", 500, 3), st("other", "x", "", 5, 5)}, 900, false},
		{"one reader of mid behind", []benchStatement{st("a", "events", "mid", 1100, 540), st("b", "mid", "", 540, 9), st("c", "mid", "", 539, 3), st("other", "x", "", 5, 5)}, 1000, false},
		{"a statement deployed after the baseline", []benchStatement{st("a", "events", "mid", 1100, 540), st("b", "mid", "", 540, 9), st("c", "mid", "", 540, 3), st("new", "events", "", 1000, 0)}, 1000, true},
	} {
		taken, readers, ok := drained(tc.list, base, "events", 1000)
		if taken != tc.taken || ok != tc.ok || readers == 0 {
			t.Errorf("%s: taken %d ok %v readers %d, want %d %v", tc.name, taken, ok, readers, tc.taken, tc.ok)
		}
	}
}

// TestBenchEmbedded runs the whole benchmark against a real server in
// this process.
func TestBenchEmbedded(t *testing.T) {
	var out bytes.Buffer
	err := runBench(context.Background(), []string{"--embedded", "--events", "20000", "--batch", "500", "--concurrency", "3", "--users", "2000"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"events sent    20000 in 500-event batches over 3 connections",
		`taken in by every reader of "bench"`,
		"dropped        0\n",
		"peak RSS",
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBusiest(t *testing.T) {
	stmt := func(name string, busy float64) benchStatement {
		var s benchStatement
		s.Name, s.Stats.Busy = name, busy
		return s
	}
	before := []benchStatement{stmt("a", 10), stmt("b", 1)}
	after := []benchStatement{stmt("a", 12), stmt("b", 4.5), stmt("c", 3)}
	if name, busy := busiest(before, after); name != "b" || busy != 3.5 {
		t.Errorf("busiest = %s %g, want b 3.5 (a statement's time before the run does not count)", name, busy)
	}
	if name, _ := busiest(nil, nil); name != "" {
		t.Errorf("busiest of nothing = %q", name)
	}
}
