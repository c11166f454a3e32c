package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"sluice/operators"
)

// sseBatch bounds how many rows go out between two flushes.
const sseBatch = 256

// results streams a statement's output rows as Server-Sent Events: the
// recent rows first (unless ?replay=false), then live rows, until the
// client goes away. The subscription survives a replacement of the
// statement; the stream ends when the statement is deleted.
func (s *Server) results(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	sub, err := s.rt.Subscribe(name, 1024)
	if err != nil {
		if errors.Is(err, operators.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no statement named %q", name)
			return
		}
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	// Rows published between Subscribe and the snapshot of recent rows come
	// twice; skip them on the live side until the first row not replayed.
	var replayed map[*operators.Record]bool
	buf := make([]byte, 0, 4096)
	if r.URL.Query().Get("replay") != "false" {
		recent := s.rt.Recent(name)
		replayed = make(map[*operators.Record]bool, len(recent))
		for _, rec := range recent {
			replayed[rec] = true
			buf = appendEvent(buf, rec)
		}
	}
	if _, err := w.Write(buf); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-ping.C:
			if _, ok := s.rt.Query(name); !ok {
				return
			}
			buf = append(buf[:0], ": ping\n\n"...)
		case rec := <-sub.C:
			buf = buf[:0]
		batch:
			for n := 0; n < sseBatch; n++ {
				if replayed != nil {
					if replayed[rec] {
						rec = nil
					} else {
						replayed = nil
					}
				}
				if rec != nil {
					buf = appendEvent(buf, rec)
				}
				select {
				case rec = <-sub.C:
				default:
					break batch
				}
			}
			if len(buf) == 0 {
				continue
			}
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// appendEvent appends one SSE event carrying rec as JSON. A data line
// cannot hold a newline, so pretty-printed raw events are compacted.
func appendEvent(buf []byte, rec *operators.Record) []byte {
	buf = append(buf, "data: "...)
	start := len(buf)
	buf = rec.AppendJSON(buf)
	if bytes.ContainsAny(buf[start:], "\r\n") {
		var c bytes.Buffer
		if err := json.Compact(&c, buf[start:]); err == nil {
			buf = append(buf[:start], c.Bytes()...)
		}
	}
	return append(buf, '\n', '\n')
}
