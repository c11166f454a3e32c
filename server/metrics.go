package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sluice/operators"
)

var (
	descStreamEvents = prometheus.NewDesc("sluice_stream_events_total",
		"Events accepted into the stream (ingest, Kafka, INSERT INTO).", []string{"stream"}, nil)
	descStreamQueue = prometheus.NewDesc("sluice_stream_queue_depth",
		"Events queued on the stream, not yet handed to its statements.", []string{"stream"}, nil)
	descQueryIn = prometheus.NewDesc("sluice_query_events_in_total",
		"Events the statement read from its source stream.", []string{"query"}, nil)
	descQueryOut = prometheus.NewDesc("sluice_query_rows_out_total",
		"Rows the statement emitted.", []string{"query"}, nil)
	descQueryLate = prometheus.NewDesc("sluice_query_late_events_total",
		"Events behind the statement's watermark.", []string{"query"}, nil)
	descQueryErrors = prometheus.NewDesc("sluice_query_errors_total",
		"Rows an expression or sink failed on.", []string{"query"}, nil)
	descQueryEvictions = prometheus.NewDesc("sluice_query_evictions_total",
		"Keyed states (sessions) closed early to keep the statement within its state bound.", []string{"query"}, nil)
	descQueryBusy = prometheus.NewDesc("sluice_query_busy_seconds_total",
		"Time the statement spent processing; near one second per second, it is the pipeline's bottleneck.", []string{"query"}, nil)
	descQueryBlocked = prometheus.NewDesc("sluice_query_blocked_seconds_total",
		"Time the statement spent handing rows to its sinks and INSERT INTO stream, waiting for room included.", []string{"query"}, nil)
	descQueryState = prometheus.NewDesc("sluice_query_state_size",
		"Open keyed states (groups, windows, sessions) of the statement.", []string{"query"}, nil)
	descSinkWrites = prometheus.NewDesc("sluice_sink_writes_total",
		"Rows the sink accepted.", []string{"query", "sink"}, nil)
	descSinkFailures = prometheus.NewDesc("sluice_sink_failures_total",
		"Rows the sink failed to write.", []string{"query", "sink"}, nil)
)

// runtimeCollector reads the runtime's counters at scrape time, so the hot
// paths keep only their own atomics.
type runtimeCollector struct{ rt *operators.Runtime }

func (c runtimeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStreamEvents, descStreamQueue, descQueryIn, descQueryOut,
		descQueryLate, descQueryErrors, descQueryEvictions, descQueryBusy, descQueryBlocked, descQueryState,
		descSinkWrites, descSinkFailures} {
		ch <- d
	}
}

func (c runtimeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.rt.Streams() {
		ch <- prometheus.MustNewConstMetric(descStreamEvents, prometheus.CounterValue, float64(st.Ingested), st.Name)
		ch <- prometheus.MustNewConstMetric(descStreamQueue, prometheus.GaugeValue, float64(st.QueueDepth), st.Name)
	}
	for _, q := range c.rt.Queries() {
		name := q.Spec().Name
		st := q.Stats()
		ch <- prometheus.MustNewConstMetric(descQueryIn, prometheus.CounterValue, float64(st.In), name)
		ch <- prometheus.MustNewConstMetric(descQueryOut, prometheus.CounterValue, float64(st.Out), name)
		ch <- prometheus.MustNewConstMetric(descQueryLate, prometheus.CounterValue, float64(st.Late), name)
		ch <- prometheus.MustNewConstMetric(descQueryErrors, prometheus.CounterValue, float64(st.Errors), name)
		ch <- prometheus.MustNewConstMetric(descQueryEvictions, prometheus.CounterValue, float64(st.Evictions), name)
		ch <- prometheus.MustNewConstMetric(descQueryBusy, prometheus.CounterValue, st.Busy, name)
		ch <- prometheus.MustNewConstMetric(descQueryBlocked, prometheus.CounterValue, st.Blocked, name)
		ch <- prometheus.MustNewConstMetric(descQueryState, prometheus.GaugeValue, float64(st.StateSize), name)
		for i, label := range sinkLabels(st.Sinks) {
			ch <- prometheus.MustNewConstMetric(descSinkWrites, prometheus.CounterValue, float64(st.Sinks[i].Writes), name, label)
			ch <- prometheus.MustNewConstMetric(descSinkFailures, prometheus.CounterValue, float64(st.Sinks[i].Failures), name, label)
		}
	}
}

// sinkLabels names a statement's sinks by type; a second sink of the same
// type is "type#2", and so on, so that label sets stay distinct.
func sinkLabels(sinks []operators.SinkStatus) []string {
	seen := map[string]int{}
	out := make([]string, len(sinks))
	for i, s := range sinks {
		seen[s.Type]++
		out[i] = s.Type
		if n := seen[s.Type]; n > 1 {
			out[i] = s.Type + "#" + strconv.Itoa(n)
		}
	}
	return out
}

func (s *Server) setupMetrics() error {
	s.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_ingest_rejected_total",
		Help: "Ingest requests refused: invalid (400/415), too_large (413), backpressure (429), too_many_streams (409); stream is empty for a stream that does not exist.",
	}, []string{"stream", "reason"})
	s.registry = prometheus.NewRegistry()
	for _, c := range append([]prometheus.Collector{
		runtimeCollector{s.rt},
		s.rejected,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}, s.cfg.Metrics...) {
		if err := s.registry.Register(c); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{ErrorLog: slogErrorLog{s}})
}

// slogErrorLog routes promhttp's errors to the server's logger.
type slogErrorLog struct{ s *Server }

func (l slogErrorLog) Println(v ...any) { l.s.log.Error("metrics", "err", fmt.Sprint(v...)) }
