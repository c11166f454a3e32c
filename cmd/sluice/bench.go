package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/generator"
)

// benchTumbleSQL is the statement issue 2 measures: a 10-second tumbling
// rollup by two dimensions taken straight from the events.
const benchTumbleSQL = `SELECT country, device, COUNT(*) AS views, AVG(latency_ms) AS avg_latency, COUNT(DISTINCT user_id) AS users
FROM bench
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country, device`

// Limits that keep a benchmark run bounded.
const (
	benchMaxEvents = 50_000_000
	benchMaxConns  = 256
)

type benchOptions struct {
	url        string
	embedded   bool
	events     int
	batch      int
	conns      int
	seed       uint64
	users      int
	stream     string
	name       string
	sql        string
	sqlFile    string
	timeout    time.Duration
	token      string
	adminToken string
}

func benchFlags(fs *flag.FlagSet, o *benchOptions) {
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "sluice server to load (loopback only)")
	fs.BoolVar(&o.embedded, "embedded", false, "start a server in this process on a free port instead of --url")
	fs.IntVar(&o.events, "events", 1_000_000, "events to send")
	fs.IntVar(&o.batch, "batch", 1000, "events per POST")
	fs.IntVar(&o.conns, "concurrency", 4, "concurrent HTTP clients (kept-alive connections)")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	fs.IntVar(&o.users, "users", 100_000, "generator users")
	fs.StringVar(&o.stream, "stream", "bench", "stream the events go to")
	fs.StringVar(&o.name, "name", "bench", "name of the benchmark statement, whose events_in is watched")
	fs.StringVar(&o.sql, "sql", benchTumbleSQL, "benchmark statement (without @Name, which --name adds)")
	fs.StringVar(&o.sqlFile, "sql-file", "", "read the statements from this file instead; one must be @Name'd --name")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.StringVar(&o.token, "token", os.Getenv("SLUICE_INGEST_TOKEN"), "ingest bearer token (env SLUICE_INGEST_TOKEN)")
	fs.StringVar(&o.adminToken, "admin-token", os.Getenv("SLUICE_ADMIN_TOKEN"), "admin bearer token (env SLUICE_ADMIN_TOKEN)")
}

func init() {
	commands["bench"] = command{summary: "load benchmark: push generated events to a server and measure it", run: runBench}
}

// runBench is `sluice bench`: the load benchmark.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	benchFlags(fs, &o)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: sluice bench [flags]

Deploys a benchmark statement on a sluice server on this machine (--url, or
--embedded for one in this process), pushes pre-generated events with
concurrent clients, waits until the statement has taken them all in, and
prints events/s accepted and processed, 429 retries, drops, server CPU and
peak RSS.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	src, err := o.statement()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	target := benchTarget(remoteServer{})
	base := o.url
	if o.embedded {
		srv, err := startEmbedded(o, stderr)
		if err != nil {
			return err
		}
		defer srv.stop()
		base, target = srv.url, srv
	} else if err := checkLoopback(base); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "generating %d events…\n", o.events)
	batches, payload, err := benchBatches(o, time.Now())
	if err != nil {
		return err
	}
	r, err := runLoad(ctx, loadRun{base: base, src: src, o: o, batches: batches, target: target, log: stderr})
	if err != nil {
		return err
	}
	r.payload = payload
	r.print(stdout, o)
	if r.dropped != 0 {
		return fmt.Errorf("%d events dropped", r.dropped)
	}
	return nil
}

func (o *benchOptions) check() error {
	switch {
	case o.events < 1 || o.events > benchMaxEvents:
		return fmt.Errorf("--events must be within [1, %d], got %d", benchMaxEvents, o.events)
	case o.batch < 1 || o.batch > o.events:
		return fmt.Errorf("--batch must be within [1, --events], got %d", o.batch)
	case o.conns < 1 || o.conns > benchMaxConns:
		return fmt.Errorf("--concurrency must be within [1, %d], got %d", benchMaxConns, o.conns)
	case o.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %v", o.timeout)
	}
	return nil
}

var benchNameRe = regexp.MustCompile(`@Name\(\s*"([^"]*)"\s*\)`)

// statement is the SQL deployed for the run: --sql named --name, or the
// file, which must name one statement --name.
func (o *benchOptions) statement() (string, error) {
	if o.sqlFile == "" {
		return fmt.Sprintf("@Name(%q)\n%s", o.name, o.sql), nil
	}
	b, err := os.ReadFile(o.sqlFile)
	if err != nil {
		return "", fmt.Errorf("--sql-file: %w", err)
	}
	for _, m := range benchNameRe.FindAllStringSubmatch(string(b), -1) {
		if m[1] == o.name {
			return string(b), nil
		}
	}
	return "", fmt.Errorf("--sql-file %s has no statement @Name(%q); pass --name to pick the one to watch", o.sqlFile, o.name)
}

// checkLoopback refuses targets other than this machine: a benchmark is
// not a way to load someone else's server.
func checkLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--url %q: want http://127.0.0.1:port", base)
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if a, err := netip.ParseAddr(h); err == nil && a.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %q: sluice bench only loads loopback servers (127.0.0.1, ::1, localhost)", base)
}

// benchBatches pre-generates the events as NDJSON batches, each event
// carrying country and device fields so that the statement groups by plain
// columns. payload is the batches' total size in bytes.
func benchBatches(o benchOptions, start time.Time) (batches []benchBatch, payload int, err error) {
	cfg := generator.DefaultConfig()
	cfg.Seed, cfg.Users, cfg.Count = o.seed, o.users, o.events
	cfg.Start = start.Truncate(time.Millisecond)
	g, err := generator.New(cfg)
	if err != nil {
		return nil, 0, err
	}
	f, err := newBenchFields()
	if err != nil {
		return nil, 0, err
	}
	for remaining := o.events; remaining > 0; {
		n := min(o.batch, remaining)
		buf := make([]byte, 0, n*480)
		for range n {
			e, _ := g.Next()
			buf = f.append(buf, &e)
		}
		batches = append(batches, benchBatch{body: buf, n: n})
		payload += len(buf)
		remaining -= n
	}
	return batches, payload, nil
}

type benchBatch struct {
	body []byte
	n    int
}

// benchFields computes country and device with the geo_country and
// device_type functions that the shipped enrichment statement calls, so
// both variants of the benchmark see the same groups.
type benchFields struct {
	geo, device operators.ScalarFunc
	devices     map[string]operators.Value // by user agent: real traffic repeats them
	ip          []byte
}

func newBenchFields() (*benchFields, error) {
	geo, ok1 := operators.LookupScalar("geo_country")
	device, ok2 := operators.LookupScalar("device_type")
	if !ok1 || !ok2 {
		return nil, errors.New("geo_country and device_type are not registered: is sluice/plugins linked in?")
	}
	return &benchFields{geo: geo, device: device, devices: map[string]operators.Value{}}, nil
}

func (f *benchFields) append(dst []byte, e *generator.Event) []byte {
	dst = e.AppendJSON(dst)
	dst = append(dst[:len(dst)-1], `,"country":`...)
	f.ip = e.IP.AppendTo(f.ip[:0])
	dst = f.geo.Eval([]operators.Value{operators.Str(string(f.ip))}).AppendJSON(dst)
	dst = append(dst, `,"device":`...)
	d, ok := f.devices[e.UA]
	if !ok {
		d = f.device.Eval([]operators.Value{operators.Str(e.UA)})
		f.devices[e.UA] = d
	}
	dst = d.AppendJSON(dst)
	return append(dst, "}\n"...)
}

// benchTarget reads the server's resource use: its CPU seconds so far and
// its peak resident memory.
type benchTarget interface {
	begin() // called right before the load starts
	usage(ctx context.Context, base string) (cpu float64, rss int64, err error)
}

type loadRun struct {
	base    string
	src     string
	o       benchOptions
	batches []benchBatch
	target  benchTarget
	log     io.Writer
}

type benchResult struct {
	sent, accepted, processed int64
	dropped                   int64
	throttled, failed         int64
	acceptTime, processTime   time.Duration
	cpu                       float64
	peakRSS                   int64
	payload                   int
}

// runLoad deploys the statement, pushes every batch with o.conns clients
// and waits until the statement has taken in every accepted event.
func runLoad(ctx context.Context, lr loadRun) (*benchResult, error) {
	api := &benchAdmin{base: strings.TrimSuffix(lr.base, "/"), token: lr.o.adminToken, http: &http.Client{Timeout: 30 * time.Second}}
	if err := api.deploy(ctx, lr.src, lr.o.name); err != nil {
		return nil, err
	}
	defer func() {
		if err := api.remove(context.Background(), lr.o.name); err != nil {
			fmt.Fprintf(lr.log, "removing statement %q: %v\n", lr.o.name, err)
		}
	}()
	poster, err := newEventPoster(lr.base, lr.o.stream, lr.o.token, lr.o.conns)
	if err != nil {
		return nil, err
	}
	lr.target.begin()
	cpu0, _, err := lr.target.usage(ctx, lr.base)
	if err != nil {
		return nil, err
	}
	peak := &peakSampler{target: lr.target, base: lr.base}
	stopSampling := peak.start(ctx, 200*time.Millisecond)

	r := &benchResult{}
	began := time.Now()
	var accepted atomic.Int64
	pushErr := pushAll(ctx, poster, lr.batches, lr.o.conns, &accepted)
	r.acceptTime = time.Since(began)
	r.accepted = accepted.Load()
	for _, b := range lr.batches {
		r.sent += int64(b.n)
	}
	if pushErr != nil {
		stopSampling()
		return nil, fmt.Errorf("pushing events (%d of %d accepted): %w", r.accepted, r.sent, pushErr)
	}
	in, err := api.waitIn(ctx, lr.o.name, r.accepted)
	r.processTime = time.Since(began)
	r.processed = in
	stopSampling()
	if err != nil {
		return nil, err
	}
	cpu1, rss, err := lr.target.usage(ctx, lr.base)
	if err != nil {
		return nil, err
	}
	r.cpu = cpu1 - cpu0
	r.peakRSS = max(rss, peak.max.Load())
	r.throttled, r.failed = poster.throttled.Load(), poster.failed.Load()
	r.dropped = r.sent - r.processed
	return r, nil
}

// pushAll posts the batches in order from conns goroutines; the first
// error stops the others.
func pushAll(ctx context.Context, p *eventPoster, batches []benchBatch, conns int, accepted *atomic.Int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batches) || ctx.Err() != nil {
					return
				}
				if err := p.post(ctx, batches[i].body, batches[i].n); err != nil {
					cancel(err)
					return
				}
				accepted.Add(int64(batches[i].n))
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// peakSampler follows the server's resident memory during the run.
type peakSampler struct {
	target benchTarget
	base   string
	max    atomic.Int64
}

func (s *peakSampler) start(ctx context.Context, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, rss, err := s.target.usage(ctx, s.base); err == nil && rss > s.max.Load() {
				s.max.Store(rss)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (r *benchResult) print(w io.Writer, o benchOptions) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "statement      %s on stream %q\n", o.name, o.stream)
	fmt.Fprintf(w, "events sent    %d in %d-event batches over %d connections\n", r.sent, o.batch, o.conns)
	fmt.Fprintf(w, "accepted/s     %.0f (all accepted after %v)\n", float64(r.accepted)/r.acceptTime.Seconds(), r.acceptTime.Round(time.Millisecond))
	fmt.Fprintf(w, "processed/s    %.0f (events_in reached %d after %v)\n", float64(r.processed)/r.processTime.Seconds(), r.processed, r.processTime.Round(time.Millisecond))
	fmt.Fprintf(w, "429 retries    %d\n", r.throttled)
	fmt.Fprintf(w, "other retries  %d\n", r.failed)
	fmt.Fprintf(w, "dropped        %d\n", r.dropped)
	fmt.Fprintf(w, "server CPU     %.2f s (%.2f cores)\n", r.cpu, r.cpu/r.processTime.Seconds())
	if o.embedded {
		fmt.Fprintf(w, "peak RSS       %.0f MiB (this process: server, load clients and %.0f MiB of pre-generated events)\n", mib(r.peakRSS), mib(int64(r.payload)))
	} else {
		fmt.Fprintf(w, "peak RSS       %.0f MiB (sampled from /metrics)\n", mib(r.peakRSS))
	}
}

// benchAdmin deploys and watches the benchmark statement.
type benchAdmin struct {
	base  string
	token string
	http  *http.Client
}

func (c *benchAdmin) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, err
}

// deploy starts the statements, replacing a leftover statement of the
// same name so that its counters start from zero.
func (c *benchAdmin) deploy(ctx context.Context, src, name string) error {
	status, body, err := c.do(ctx, http.MethodPost, "/v1/queries", src)
	if err == nil && status == http.StatusConflict {
		if err = c.remove(ctx, name); err == nil {
			status, body, err = c.do(ctx, http.MethodPost, "/v1/queries", src)
		}
	}
	if err != nil {
		return fmt.Errorf("deploying the benchmark statement: %w", err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("deploying the benchmark statement: %d %s", status, strings.TrimSpace(string(body)))
	}
	return nil
}

func (c *benchAdmin) remove(ctx context.Context, name string) error {
	status, body, err := c.do(ctx, http.MethodDelete, "/v1/queries/"+url.PathEscape(name), "")
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("%d %s", status, strings.TrimSpace(string(body)))
	}
	return nil
}

// waitIn polls the statement until its events_in reaches want.
func (c *benchAdmin) waitIn(ctx context.Context, name string, want int64) (int64, error) {
	var in int64
	for {
		status, body, err := c.do(ctx, http.MethodGet, "/v1/queries/"+url.PathEscape(name), "")
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("%d %s", status, strings.TrimSpace(string(body)))
		}
		if err == nil {
			var v struct {
				Stats struct {
					In *int64 `json:"events_in"`
				} `json:"stats"`
			}
			if err = json.Unmarshal(body, &v); err == nil && v.Stats.In == nil {
				err = errors.New("answer has no stats.events_in")
			}
			if err == nil {
				in = *v.Stats.In
			}
		}
		if err != nil {
			return in, fmt.Errorf("reading statement %q: %w", name, err)
		}
		if in >= want {
			return in, nil
		}
		if sleepOrDone(ctx, 10*time.Millisecond) != nil {
			return in, fmt.Errorf("statement %q took in %d of %d events before the timeout", name, in, want)
		}
	}
}
