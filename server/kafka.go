package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"sluice/operators"
	"sluice/plugins/sources/kafka"
)

// KafkaStreams is what the API needs of sluice's Kafka-backed streams: a
// *kafka.Manager, or a checkpoint.Checkpointer standing in for one.
type KafkaStreams interface {
	Add(ctx context.Context, name string, sc kafka.StreamConfig) (*kafka.Source, error)
	Remove(name string) error
	List(ctx context.Context) []kafka.Stats
	Topic(stream string) (string, bool)
	Publish(ctx context.Context, stream string, values [][]byte) error
}

// publishTimeout bounds how long a collector-mode ingest waits for Kafka.
const publishTimeout = 10 * time.Second

// declareRequest is the body of POST /v1/streams.
type declareRequest struct {
	Name  string              `json:"name"`
	Kafka *kafka.StreamConfig `json:"kafka"`
}

// declareStream is POST /v1/streams: consume a Kafka topic into a stream.
func (s *Server) declareStream(w http.ResponseWriter, r *http.Request) {
	var req declareRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSQLBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid stream declaration: %v (want {\"name\":\"events\",\"kafka\":{\"topic\":\"events\"}})", err)
		return
	}
	switch {
	case !validStreamName(req.Name):
		writeError(w, http.StatusBadRequest, "invalid stream name %q: use 1 to 128 of A-Z a-z 0-9 _ . -", req.Name)
		return
	case req.Kafka == nil:
		writeError(w, http.StatusBadRequest, "stream %q: only Kafka-backed streams are declared (a \"kafka\" object); other streams exist once written to", req.Name)
		return
	case s.cfg.Kafka == nil:
		writeError(w, http.StatusBadRequest, "stream %q: kafka not configured: set --kafka-brokers", req.Name)
		return
	}
	_, err := s.cfg.Kafka.Add(r.Context(), req.Name, *req.Kafka)
	switch {
	case err == nil:
	case errors.Is(err, kafka.ErrInvalid), errors.Is(err, operators.ErrNotConfigured):
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	case errors.Is(err, kafka.ErrExists):
		writeError(w, http.StatusConflict, "%v", err)
		return
	default:
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	s.log.Info("kafka stream declared", "stream", req.Name, "topic", req.Kafka.Topic)
	for _, st := range s.cfg.Kafka.List(r.Context()) {
		if st.Stream == req.Name {
			writeJSON(w, http.StatusCreated, st)
			return
		}
	}
	writeJSON(w, http.StatusCreated, map[string]string{"stream": req.Name, "topic": req.Kafka.Topic})
}

// removeStream is DELETE /v1/streams/{stream}: stop consuming its topic.
func (s *Server) removeStream(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "stream")
	if s.cfg.Kafka == nil {
		writeError(w, http.StatusNotFound, "stream %q is not Kafka-backed", name)
		return
	}
	err := s.cfg.Kafka.Remove(name)
	switch {
	case err == nil:
	case errors.Is(err, kafka.ErrNotFound):
		writeError(w, http.StatusNotFound, "stream %q is not Kafka-backed", name)
		return
	default:
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	s.log.Info("kafka stream removed", "stream", name)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": name})
}

// streamListView is a stream with, when Kafka-backed, its source's stats.
type streamListView struct {
	streamView
	Kafka *kafka.Stats `json:"kafka,omitempty"`
}

// withKafka adds each Kafka-backed stream's partitions, offsets and lag;
// a declared stream nothing has read or written yet is listed too.
func (s *Server) withKafka(ctx context.Context, views []streamView) []streamListView {
	out := make([]streamListView, len(views))
	at := make(map[string]int, len(views))
	for i, v := range views {
		out[i].streamView = v
		at[v.Name] = i
	}
	if s.cfg.Kafka == nil {
		return out
	}
	for _, st := range s.cfg.Kafka.List(ctx) {
		i, ok := at[st.Stream]
		if !ok {
			i = len(out)
			out = append(out, streamListView{streamView: streamView{StreamStats: operators.StreamStats{Name: st.Stream, Readers: []string{}}}})
		}
		out[i].Kafka = &st
	}
	return out
}

// publish sends a validated ingest batch for a Kafka-backed stream to its
// topic (collector mode) and answers 202 once Kafka acknowledged it: the
// events reach the stream through its consumer. It reports false, having
// answered nothing, when the stream is not Kafka-backed.
func (s *Server) publish(w http.ResponseWriter, r *http.Request, stream string, recs []*operators.Record) bool {
	if s.cfg.Kafka == nil {
		return false
	}
	topic, ok := s.cfg.Kafka.Topic(stream)
	if !ok {
		return false
	}
	values := make([][]byte, len(recs))
	for i, rec := range recs {
		values[i] = rec.Raw
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout)
	defer cancel()
	if err := s.cfg.Kafka.Publish(ctx, stream, values); err != nil {
		s.log.Warn("collector publish failed", "stream", stream, "topic", topic, "events", len(values), "err", err)
		s.reject(stream, http.StatusServiceUnavailable)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "stream %q: events not acknowledged by Kafka topic %q; retry (some may already be in Kafka): %v", stream, topic, err)
		return true
	}
	writeAccepted(w, len(recs), topic)
	return true
}
