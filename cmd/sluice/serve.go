package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"sluice/operators"
	_ "sluice/plugins" // every function, sink and annotation registers itself
	"sluice/queries"
	"sluice/server"
)

func init() {
	commands["serve"] = command{summary: "run the server: ingest, statements, live results, dashboard", run: serve}
}

// serveConfig is everything `sluice serve` is told.
type serveConfig struct {
	addr         string
	adminToken   string
	ingestToken  string
	maxBody      byteSize
	queueSize    int
	maxStreams   int
	dataDir      string
	queriesDir   string
	redisURL     string
	esURL        string
	esUsername   string
	esPassword   string
	esAPIKey     string
	esInsecure   bool
	kafkaBrokers string
	geoIPDB      string
	logLevel     slog.Level
	pprof        bool

	kafkaStreams       kafkaStreamFlags
	node               string
	stateRedisURL      string
	stateDir           string
	checkpointInterval time.Duration
	streaming          *streaming // built by newServer
}

func serveFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.maxBody = server.DefaultMaxBody
	fs.StringVar(&c.addr, "addr", ":8080", "`address` to listen on, host:port")
	fs.BoolVar(&c.pprof, "pprof", false, "serve Go's profiler at /debug/pprof/ (guarded by the admin token)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer `token` required to deploy, replace and delete statements and to save the dashboard (reads stay open)")
	fs.StringVar(&c.ingestToken, "ingest-token", "", "bearer `token` required to post events")
	fs.Var(&c.maxBody, "max-body", "largest ingest body, before and after gzip (`size`: bytes, KiB, MiB)")
	fs.IntVar(&c.queueSize, "queue-size", 128, "batches a stream queues before ingest answers 429")
	fs.IntVar(&c.maxStreams, "max-streams", operators.DefaultMaxStreams, "streams in all beyond which posting to a stream that does not exist answers 409")
	fs.StringVar(&c.dataDir, "data-dir", "", "`directory` that keeps the dashboard layout across restarts")
	fs.StringVar(&c.queriesDir, "queries", "", "`directory` of .sql files deployed at start, in name order; without it, the shipped pipeline built into the binary")
	fs.StringVar(&c.redisURL, "redis-url", "", "Redis `URL` for Redis sinks, e.g. redis://localhost:6379/0")
	fs.StringVar(&c.esURL, "es-url", "", "Elasticsearch `URL` for Elasticsearch sinks")
	fs.StringVar(&c.esUsername, "es-username", "", "Elasticsearch basic-auth user")
	fs.StringVar(&c.esPassword, "es-password", "", "Elasticsearch basic-auth password")
	fs.StringVar(&c.esAPIKey, "es-api-key", "", "Elasticsearch API `key`")
	fs.BoolVar(&c.esInsecure, "es-insecure", false, "skip TLS certificate checks for Elasticsearch")
	fs.StringVar(&c.kafkaBrokers, "kafka-brokers", "", "comma-separated Kafka `brokers` for Kafka sources and sinks")
	fs.Var(&c.kafkaStreams, "kafka-stream", "consume a Kafka topic into a stream: `name=topic[:group]` (group sluice by default); repeatable, or comma-separated")
	fs.StringVar(&c.node, "node", defaultNode(), "`name` of this sluice process: its checkpoint key and Kafka client id; unique per process")
	fs.StringVar(&c.stateRedisURL, "state-redis-url", "", "Redis `URL` where checkpoints (operator state with Kafka offsets) are stored, under sluice:checkpoint:<node>")
	fs.StringVar(&c.stateDir, "state-dir", "", "`directory` where checkpoints are stored, when --state-redis-url is not set; with --kafka-stream, sluice-state (under --data-dir if set) by default; none: no checkpoints")
	fs.DurationVar(&c.checkpointInterval, "checkpoint-interval", 5*time.Second, "time between checkpoints (with a state store)")
	fs.StringVar(&c.geoIPDB, "geoip-db", "", "MaxMind GeoIP2/GeoLite2 City database `file` for geo functions")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error (debug logs every request)")
	return fs
}

// parseServe reads flags, then the environment for flags not given.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{}
	fs := serveFlags(c)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: sluice serve [flags]

Runs sluice: the HTTP API, the dashboard and the statements of --queries.
Every flag can also be set by its environment variable; a flag given on the
command line wins over the environment.

`)
		printFlags(fs.Output(), fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	if c.queueSize <= 0 || c.queueSize > maxQueueSize {
		return nil, fmt.Errorf("--queue-size %d: want 1 to %d batches", c.queueSize, maxQueueSize)
	}
	if c.maxStreams <= 0 || c.maxStreams > maxStreams {
		return nil, fmt.Errorf("--max-streams %d: want 1 to %d streams", c.maxStreams, maxStreams)
	}
	if c.checkpointInterval <= 0 {
		return nil, fmt.Errorf("--checkpoint-interval %v: want a positive duration", c.checkpointInterval)
	}
	return c, nil
}

func (c *serveConfig) env(log *slog.Logger) *operators.Env {
	var brokers []string
	for _, b := range strings.Split(c.kafkaBrokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return &operators.Env{
		RedisURL:     c.redisURL,
		ESURL:        c.esURL,
		ESUsername:   c.esUsername,
		ESPassword:   c.esPassword,
		ESAPIKey:     c.esAPIKey,
		ESInsecure:   c.esInsecure,
		KafkaBrokers: brokers,
		GeoIPDB:      c.geoIPDB,
		Logger:       log,
	}
}

// queryFiles is the directory of statements deployed at start and how to
// name its files in messages.
func (c *serveConfig) queryFiles() (fs.FS, string, error) {
	if c.queriesDir == "" {
		return queries.Files, "queries", nil
	}
	st, err := os.Stat(c.queriesDir)
	if err != nil {
		return nil, "", fmt.Errorf("--queries: %w", err)
	}
	if !st.IsDir() {
		return nil, "", fmt.Errorf("--queries %s: not a directory", c.queriesDir)
	}
	return os.DirFS(c.queriesDir), c.queriesDir, nil
}

// newServer builds the runtime with its plugins set up and the HTTP API
// over it; `sluice bench --embedded` builds its server here too.
func (c *serveConfig) newServer(log *slog.Logger) (*operators.Runtime, *server.Server, error) {
	rt := operators.NewRuntime(operators.RuntimeConfig{Env: c.env(log), QueueSize: c.queueSize, MaxStreams: c.maxStreams})
	if err := operators.Setup(rt.Env()); err != nil {
		rt.Close()
		return nil, nil, fmt.Errorf("setting up plugins: %w", err)
	}
	st, err := c.newStreaming(rt, log)
	if err != nil {
		rt.Close()
		return nil, nil, err
	}
	c.streaming = st
	srv, err := server.New(server.Config{
		AdminToken:  c.adminToken,
		IngestToken: c.ingestToken,
		MaxBody:     int64(c.maxBody),
		DataDir:     c.dataDir,
		Logger:      log,
		Kafka:       st.api(),
		Metrics:     st.metrics(),
		Profiling:   c.pprof,
	}, rt)
	if err != nil {
		st.close()
		rt.Close()
		return nil, nil, err
	}
	return rt, srv, nil
}

// maxQueueSize bounds --queue-size: every stream preallocates its queue.
const maxQueueSize = 100_000

// maxStreams bounds --max-streams: each stream keeps a goroutine and its queue.
const maxStreams = 1_000_000

func serve(ctx context.Context, args []string, _, stderr io.Writer) error {
	c, err := parseServe(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	slog.SetDefault(log)

	rt, srv, err := c.newServer(log)
	if err != nil {
		return err
	}
	var hs *http.Server // set once it listens
	defer func() { c.stopServer(hs, srv, rt, 15*time.Second, log) }()
	files, dir, err := c.queryFiles()
	if err != nil {
		return err
	}
	if err := deployFiles(srv, files, dir, log); err != nil {
		return err
	}
	// Before the HTTP API opens: checkpointed state is in place before any
	// event arrives.
	if err := c.streaming.start(ctx, c.kafkaStreams); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	hs = &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("sluice is serving", "addr", ln.Addr().String(), "version", versionString(),
		"statements", len(rt.Queries()), "admin_token", c.adminToken != "", "ingest_token", c.ingestToken != "")

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests, then flushing statements and sinks")
	return nil
}

// stopServer ends what newServer started, in this order: the HTTP API
// (results streams end with srv.Close, they never go idle; hs, when it
// listens, gets grace to finish its requests), then the last checkpoint,
// the Kafka sources and the state store, then the runtime, which flushes
// every statement's sinks.
func (c *serveConfig) stopServer(hs *http.Server, srv *server.Server, rt *operators.Runtime, grace time.Duration, log *slog.Logger) {
	srv.Close()
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			log.Warn("http shutdown did not finish", "err", err)
		}
	}
	c.streaming.close()
	rt.Close()
	log.Info("stopped")
}

// deployFiles deploys every .sql file of fsys in name order; the first one
// that does not compile or deploy stops startup, named in the error.
func deployFiles(srv *server.Server, fsys fs.FS, dir string, log *slog.Logger) error {
	names, srcs, err := readSQLFiles(fsys)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		log.Warn("no .sql files to deploy", "dir", dir)
	}
	for i, name := range names {
		deployed, err := srv.DeploySQL(srcs[i])
		if err != nil {
			return fmt.Errorf("%s:\n%w", path.Join(dir, name), err)
		}
		for _, q := range deployed {
			log.Info("deployed", "query", q.Spec().Name, "file", name, "source", q.Spec().Source, "status", q.Status())
		}
	}
	return nil
}

// readSQLFiles reads every .sql file of fsys, in name order.
func readSQLFiles(fsys fs.FS) (names, srcs []string, err error) {
	if names, err = fs.Glob(fsys, "*.sql"); err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	srcs = make([]string, len(names))
	for i, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, err
		}
		srcs[i] = string(b)
	}
	return names, srcs, nil
}
