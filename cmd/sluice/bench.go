package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"time"

	"sluice/queries"
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
	rate       float64
	stream     string
	name       string
	sql        string
	sqlFile    string
	shipped    bool
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
	fs.IntVar(&o.users, "users", 100_000, "generator users (raised to what --rate needs)")
	fs.Float64Var(&o.rate, "rate", 0, "events per second of event time (0 = what --users give, about 200/s for 100,000)")
	fs.StringVar(&o.stream, "stream", "bench", "stream the events go to (events with --shipped)")
	fs.StringVar(&o.name, "name", "bench", "@Name of the --sql statement")
	fs.StringVar(&o.sql, "sql", benchTumbleSQL, "benchmark statement, without @Name; its events get country and device fields")
	fs.StringVar(&o.sqlFile, "sql-file", "", "deploy the statements of this file instead of --sql")
	fs.BoolVar(&o.shipped, "shipped", false, "run the shipped pipeline (collector → bot filter → enrichment → sessionizer → distributor → metrics) on raw events")
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

Deploys a benchmark statement (or the shipped pipeline) on a sluice server
on this machine (--url, or --embedded for one in this process), pushes
pre-generated events with concurrent clients, waits until every statement
has taken in everything that reached it, and prints events/s accepted and
processed, 429 retries, drops, server CPU and peak RSS.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	streamSet := false
	fs.Visit(func(f *flag.Flag) { streamSet = streamSet || f.Name == "stream" })
	if err := o.check(streamSet); err != nil {
		return err
	}
	sources, err := o.statements()
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
	in, err := benchBatches(o, time.Now(), !o.shipped)
	if err != nil {
		return err
	}
	r, err := runLoad(ctx, loadRun{base: base, sources: sources, o: o, batches: in.batches, target: target, log: stderr})
	if err != nil {
		return err
	}
	r.payload, r.span = in.payload, in.span
	r.print(stdout, o)
	if r.dropped != 0 {
		return fmt.Errorf("%d events dropped", r.dropped)
	}
	return nil
}

func (o *benchOptions) check(streamSet bool) error {
	if o.shipped {
		if streamSet && o.stream != shippedStream {
			return fmt.Errorf("--shipped reads the stream %q; leave --stream out", shippedStream)
		}
		o.stream = shippedStream
	}
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

// shippedStream is where the shipped collector reads raw events.
const shippedStream = "events"

// statements are the SQL sources deployed for the run, one request each:
// --sql named --name, the --sql-file, or the shipped files in name order.
func (o *benchOptions) statements() ([]string, error) {
	switch {
	case o.shipped:
		_, srcs, err := readSQLFiles(queries.Files)
		return srcs, err
	case o.sqlFile != "":
		b, err := os.ReadFile(o.sqlFile)
		if err != nil {
			return nil, fmt.Errorf("--sql-file: %w", err)
		}
		return []string{string(b)}, nil
	default:
		return []string{fmt.Sprintf("@Name(%q)\n%s", o.name, o.sql)}, nil
	}
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
