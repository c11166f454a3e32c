package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"sluice/operators"
)

// maxFollow bounds the statements one multiplexed results stream follows.
const maxFollow = 64

// subscriberBuffer is how many rows wait for a slow client before its
// rows are dropped (and counted).
const subscriberBuffer = 1024

// results streams one statement's output rows, one `data:` event per row.
// The subscription survives a replacement of the statement; the stream
// ends once the statement is deleted and its last rows are out.
func (s *Server) results(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	sub, err := s.rt.Subscribe(name, subscriberBuffer)
	if err != nil {
		if errors.Is(err, operators.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no statement named %q", name)
			return
		}
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	defer sub.Close()
	f := &follower{name: name, sub: sub, head: []byte("data: "), tail: []byte("\n\n")}
	s.streamResults(w, r, []*follower{f}, func(buf []byte, _ *follower) ([]byte, bool) { return buf, false })
}

// missingBody answers a multiplexed stream naming statements that do not
// exist.
type missingBody struct {
	Error   string   `json:"error"`
	Missing []string `json:"missing"`
}

// multiResults streams several statements' rows over one connection (a
// browser keeps only six per server): `event: row` with
// {"query":name,"row":row}, and `event: gone` with {"query":name} when a
// statement is deleted, after which the stream goes on for the others.
func (s *Server) multiResults(w http.ResponseWriter, r *http.Request) {
	var names []string
	seen := map[string]bool{}
	for _, n := range r.URL.Query()["query"] {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	switch {
	case len(names) == 0:
		writeError(w, http.StatusBadRequest, "name the statements to follow: /v1/results?query=a&query=b")
		return
	case len(names) > maxFollow:
		writeError(w, http.StatusBadRequest, "%d statements named; one stream follows at most %d", len(names), maxFollow)
		return
	}

	fs := make([]*follower, 0, len(names))
	defer func() {
		for _, f := range fs {
			f.sub.Close()
		}
	}()
	var missing []string
	for _, name := range names {
		sub, err := s.rt.Subscribe(name, subscriberBuffer)
		if errors.Is(err, operators.ErrNotFound) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		quoted, err := marshal(name)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "encoding %q: %v", name, err)
			return
		}
		head := append(append([]byte("event: row\ndata: {\"query\":"), quoted...), `,"row":`...)
		fs = append(fs, &follower{name: name, sub: sub, head: head, tail: []byte("}\n\n")})
	}
	if len(missing) > 0 {
		quoted := make([]string, len(missing))
		for i, m := range missing {
			quoted[i] = strconv.Quote(m)
		}
		msg := "no statement named " + quoted[0]
		if len(missing) > 1 {
			msg = "no statements named " + strings.Join(quoted, ", ")
		}
		writeJSON(w, http.StatusNotFound, missingBody{Error: msg, Missing: missing})
		return
	}
	s.streamResults(w, r, fs, func(buf []byte, f *follower) ([]byte, bool) {
		quoted, _ := marshal(f.name)
		buf = append(buf, "event: gone\ndata: {\"query\":"...)
		buf = append(buf, quoted...)
		return append(buf, "}\n\n"...), true
	})
}
