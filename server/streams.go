package server

import (
	"math"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"sluice/operators"
)

// streamView is a stream's stats plus its recent ingest rate.
type streamView struct {
	operators.StreamStats
	Rate float64 `json:"rate"` // events/s over about the last 10 s
}

func (s *Server) listStreams(w http.ResponseWriter, r *http.Request) {
	stats := s.rt.Streams()
	now := time.Now()
	views := make([]streamView, len(stats))
	for i, st := range stats {
		rate := s.rates.rate(st.Name, st.Ingested, now)
		views[i] = streamView{StreamStats: st, Rate: math.Round(rate*10) / 10}
	}
	writeJSON(w, http.StatusOK, s.withKafka(r.Context(), views))
}

// streamTail answers a sample of the stream's most recent events.
func (s *Server) streamTail(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "stream")
	recs, ok := s.rt.StreamTail(name)
	if !ok {
		writeError(w, http.StatusNotFound, "no stream named %q", name)
		return
	}
	buf := append(make([]byte, 0, 256*len(recs)+2), '[')
	for i, rec := range recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = rec.AppendJSON(buf)
	}
	writeRawJSON(w, http.StatusOK, append(buf, ']'))
}
