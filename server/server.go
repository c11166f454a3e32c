// Package server is sluice's HTTP API: ingest, the statement lifecycle,
// live results over Server-Sent Events, the dashboard document, health and
// Prometheus metrics. It serves one operators.Runtime.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"sluice/operators"
	"sluice/sqlengine"
	"sluice/web"
)

// Config is the HTTP server's configuration. Zero values mean the defaults.
type Config struct {
	AdminToken  string // guards POST/PUT/DELETE of statements and PUT of the dashboard
	IngestToken string // guards ingest
	MaxBody     int64  // ingest body limit in bytes, before and after gzip (16 MiB)
	DataDir     string // keeps the dashboard document across restarts; empty: memory only
	// Compile turns SQL text into statements (sqlengine.Compile).
	Compile func(src string) ([]*operators.QuerySpec, error)
	Logger  *slog.Logger
	// PingInterval is how often an idle results stream gets a comment (15s).
	PingInterval time.Duration
	// Kafka serves Kafka-backed streams: declare, remove, list, and publish
	// ingested events (collector mode). nil: no Kafka.
	Kafka KafkaStreams
	// Metrics are more collectors for /metrics (e.g. the checkpointer's).
	Metrics []prometheus.Collector
	// Profiling serves net/http/pprof at /debug/pprof/, behind the admin token.
	Profiling bool
}

// DefaultMaxBody is the ingest body limit when Config.MaxBody is zero.
const DefaultMaxBody = 16 << 20

// Server is the HTTP API over one runtime.
type Server struct {
	cfg      Config
	rt       *operators.Runtime
	log      *slog.Logger
	router   chi.Router
	dash     *dashboardStore
	rates    *rateTracker
	registry *prometheus.Registry
	rejected *prometheus.CounterVec

	done      chan struct{} // closed by Close: ends results streams and the rate sampler
	closeOnce sync.Once
}

// New builds the API over rt. Close it to end open results streams.
func New(cfg Config, rt *operators.Runtime) (*Server, error) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Compile == nil {
		cfg.Compile = sqlengine.Compile
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 15 * time.Second
	}
	dash, err := newDashboardStore(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("dashboard store: %w", err)
	}
	s := &Server{
		cfg:   cfg,
		rt:    rt,
		log:   cfg.Logger,
		dash:  dash,
		rates: newRateTracker(),
		done:  make(chan struct{}),
	}
	if err := s.setupMetrics(); err != nil {
		return nil, err
	}
	s.router = s.routes()
	go s.sampleRates(time.Second)
	return s, nil
}

// ServeHTTP serves the API, the metrics and the dashboard.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Close ends open results streams so that http.Server.Shutdown can finish,
// and stops the rate sampler.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.logRequests, s.recoverPanics)
	admin := requireToken(s.cfg.AdminToken)
	r.Get("/healthz", s.health)
	r.Handle("/metrics", s.metricsHandler())
	r.Route("/v1", func(r chi.Router) {
		r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusNotFound, "no such endpoint")
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, "method %s not allowed here", r.Method)
		})
		r.With(requireToken(s.cfg.IngestToken)).Post("/streams/{stream}/events", s.ingest)
		r.Get("/streams", s.listStreams)
		r.With(admin).Post("/streams", s.declareStream)
		r.With(admin).Delete("/streams/{stream}", s.removeStream)
		r.Get("/streams/{stream}/tail", s.streamTail)
		r.Get("/queries", s.listQueries)
		r.With(admin).Post("/queries", s.deployQueries)
		r.Get("/queries/{name}", s.getQuery)
		r.With(admin).Put("/queries/{name}", s.replaceQuery)
		r.With(admin).Delete("/queries/{name}", s.deleteQuery)
		r.Get("/queries/{name}/results", s.results)
		r.Get("/results", s.multiResults)
		r.Get("/dashboard", s.getDashboard)
		r.With(admin).Put("/dashboard", s.putDashboard)
		r.Get("/functions", s.functions)
		r.Get("/bots", s.bots)
		r.With(admin).Delete("/bots", s.unblock)
		r.With(admin).Delete("/bots/{ip}", s.unblock)
	})
	if s.cfg.Profiling {
		r.With(admin).Mount("/debug", middleware.Profiler())
	}
	r.Handle("/*", web.Handler())
	return r
}
