package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"sluice/operators"
)

// sseBatch bounds how many events go out between two flushes.
const sseBatch = 256

// follower is one statement a results stream follows.
type follower struct {
	name string
	sub  *operators.Subscription
	// head and tail wrap a row's JSON into one event.
	head, tail []byte
	// Rows published between Subscribe and the snapshot of recent rows come
	// twice; the live side skips them until the first row not replayed.
	replayed map[*operators.Record]bool
}

// delivery is a follower's next row, or nil rec once its statement is gone.
type delivery struct {
	f   *follower
	rec *operators.Record
}

// forward hands f's rows to out in order; when the statement is deleted it
// hands on what is left, then a nil row.
func (f *follower) forward(ctx context.Context, out chan<- delivery) {
	send := func(rec *operators.Record) bool {
		select {
		case out <- delivery{f, rec}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		select {
		case rec := <-f.sub.C:
			if !send(rec) {
				return
			}
		case <-f.sub.Gone:
			for {
				select {
				case rec := <-f.sub.C:
					if !send(rec) {
						return
					}
				default:
					send(nil)
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// appendRow appends one event carrying rec as JSON. A data line cannot
// hold a newline, so pretty-printed raw events are compacted.
func (f *follower) appendRow(buf []byte, rec *operators.Record) []byte {
	buf = append(buf, f.head...)
	start := len(buf)
	buf = rec.AppendJSON(buf)
	if bytes.ContainsAny(buf[start:], "\r\n") {
		var c bytes.Buffer
		if err := json.Compact(&c, buf[start:]); err == nil {
			buf = append(buf[:start], c.Bytes()...)
		}
	}
	return append(buf, f.tail...)
}

// live appends rec unless the replay already sent it.
func (f *follower) live(buf []byte, rec *operators.Record) []byte {
	if f.replayed != nil {
		if f.replayed[rec] {
			return buf
		}
		f.replayed = nil
	}
	return f.appendRow(buf, rec)
}

// streamResults serves the followers' rows as Server-Sent Events: recent
// rows first (unless ?replay=false), then live rows, with a ping comment
// when idle, until the client goes away or the server closes. When a
// statement is deleted, gone appends what tells the client and says
// whether the stream goes on.
func (s *Server) streamResults(w http.ResponseWriter, r *http.Request, fs []*follower, gone func([]byte, *follower) ([]byte, bool)) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	buf := make([]byte, 0, 4096)
	if r.URL.Query().Get("replay") != "false" {
		for _, f := range fs {
			recent := s.rt.Recent(f.name)
			f.replayed = make(map[*operators.Record]bool, len(recent))
			for _, rec := range recent {
				f.replayed[rec] = true
				buf = f.appendRow(buf, rec)
			}
		}
	}
	if _, err := w.Write(buf); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	rows := make(chan delivery, sseBatch)
	for _, f := range fs {
		go f.forward(ctx, rows)
	}
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	more := true
	for more {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-ping.C:
			buf = append(buf[:0], ": ping\n\n"...)
		case d := <-rows:
			buf = buf[:0]
		batch:
			for n := 1; ; n++ {
				if d.rec == nil {
					buf, more = gone(buf, d.f)
				} else {
					buf = d.f.live(buf, d.rec)
				}
				if !more || n == sseBatch {
					break
				}
				select {
				case d = <-rows:
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
