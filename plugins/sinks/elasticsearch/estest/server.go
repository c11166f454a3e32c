// Package estest is a strict in-process stand-in for the parts of
// Elasticsearch's HTTP API that sluice uses: index creation with mappings,
// _bulk (every NDJSON action/source pair checked, answered in
// Elasticsearch's format with per-item errors), _search with match/term
// queries and terms/date_histogram aggregations, and document reads. Tests
// can make it answer 429, refuse chosen documents, or go down.
package estest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Server is the stand-in. Its state survives Stop and Restart.
type Server struct {
	t    testing.TB
	addr string

	mu          sync.Mutex
	ts          *httptest.Server
	indices     map[string]*index
	creates     map[string]int // PUT /{index} requests, by index name
	bulks       int            // _bulk requests answered, of any status
	rejectBulk  int            // next bulk requests to answer 429
	rejectItems int            // next bulk items to answer 429
	failIDs     map[string]string
	unavailable bool
}

// New starts a stand-in on a free loopback port, closed at test cleanup.
func New(t testing.TB) *Server {
	s := &Server{t: t, indices: map[string]*index{}, creates: map[string]int{}, failIDs: map[string]string{}}
	s.ts = httptest.NewServer(s.handler())
	s.addr = s.ts.Listener.Addr().String()
	t.Cleanup(s.Stop)
	return s
}

// URL is the base URL, as --es-url takes it.
func (s *Server) URL() string { return "http://" + s.addr }

// Stop closes the listener and every connection: clients get connection
// refused until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	ts := s.ts
	s.ts = nil
	s.mu.Unlock()
	if ts != nil {
		ts.CloseClientConnections()
		ts.Close()
	}
}

// Restart listens again on the same address, with the same indices.
func (s *Server) Restart() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("estest: listen again on %s: %v", s.addr, err)
	}
	ts := httptest.NewUnstartedServer(s.handler())
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	s.mu.Lock()
	s.ts = ts
	s.mu.Unlock()
}

// SetUnavailable makes every request answer 503 (a cluster without a
// master) until called with false.
func (s *Server) SetUnavailable(down bool) {
	s.mu.Lock()
	s.unavailable = down
	s.mu.Unlock()
}

// RejectBulk makes the next n _bulk requests answer 429 as a node whose
// write queue is full does.
func (s *Server) RejectBulk(n int) {
	s.mu.Lock()
	s.rejectBulk = n
	s.mu.Unlock()
}

// RejectItems makes the next n bulk items answer 429 inside an otherwise
// successful bulk response.
func (s *Server) RejectItems(n int) {
	s.mu.Lock()
	s.rejectItems = n
	s.mu.Unlock()
}

// FailDoc makes every write of document id fail with a mapping error
// carrying reason.
func (s *Server) FailDoc(id, reason string) {
	s.mu.Lock()
	s.failIDs[id] = reason
	s.mu.Unlock()
}

// Indices lists the index names, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.indices))
}

// Docs is an index's documents by id, each as the source it was sent with.
func (s *Server) Docs(name string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, ok := s.indices[name]
	if !ok {
		return nil
	}
	out := make(map[string]json.RawMessage, len(ix.docs))
	for id, d := range ix.docs {
		out[id] = append(json.RawMessage(nil), d.source...)
	}
	return out
}

// Mapping is an index's mapping as GET /{index}/_mapping shows it.
func (s *Server) Mapping(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix, ok := s.indices[name]; ok {
		return ix.mapping.render()
	}
	return nil
}

// Settings are an index's settings, flattened ("index.number_of_shards": "1").
func (s *Server) Settings(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix, ok := s.indices[name]; ok {
		return maps.Clone(ix.settings)
	}
	return nil
}

// Explicit reports whether an index was created by PUT /{index} rather
// than by a write to a missing index (which gets dynamic mapping only).
func (s *Server) Explicit(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, ok := s.indices[name]
	return ok && ix.explicit
}

// CreateRequests counts PUT /{index} requests for name, answered or refused.
func (s *Server) CreateRequests(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates[name]
}

// BulkRequests counts _bulk requests received, including refused ones.
func (s *Server) BulkRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bulks
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.info)
	mux.HandleFunc("PUT /{index}", s.createIndex)
	mux.HandleFunc("GET /{index}", s.getIndex) // and HEAD
	mux.HandleFunc("DELETE /{index}", s.deleteIndex)
	mux.HandleFunc("GET /{index}/_mapping", s.getMapping)
	mux.HandleFunc("GET /{index}/_settings", s.getSettings)
	for _, m := range []string{"POST", "PUT"} {
		mux.HandleFunc(m+" /_bulk", s.bulk)
		mux.HandleFunc(m+" /{index}/_bulk", s.bulk)
	}
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /_search", s.search)
		mux.HandleFunc(m+" /{index}/_search", s.search)
		mux.HandleFunc(m+" /_refresh", s.refresh)
		mux.HandleFunc(m+" /{index}/_refresh", s.refresh)
	}
	mux.HandleFunc("GET /{index}/_doc/{id}", s.getDoc)
	mux.HandleFunc("GET /_cat/indices", s.catIndices)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The official clients refuse to talk to a server without this header.
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		s.mu.Lock()
		down := s.unavailable
		s.mu.Unlock()
		if down {
			writeError(w, errorf(503, "master_not_discovered_exception", "the stand-in was told to be unavailable"))
			return
		}
		if r.ContentLength != 0 && r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
				writeError(w, err)
				return
			}
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(w, errorf(400, "illegal_argument_exception", "request [%s %s] has no handler in the stand-in", r.Method, r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func checkContentType(ct string) *esError {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == "application/x-ndjson" || strings.HasPrefix(mt, "application/vnd.elasticsearch+")) {
		return nil
	}
	return &esError{Status: 406, Type: "illegal_argument_exception", Reason: fmt.Sprintf("Content-Type header [%s] is not supported", ct)}
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{
		"name": "estest", "cluster_name": "sluice-estest", "cluster_uuid": "estest",
		"version": map[string]any{"number": "8.19.0", "build_flavor": "default", "lucene_version": "9.12.0"},
		"tagline": "You Know, for Search",
	})
}

func (s *Server) createIndex(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("index")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errorf(400, "parse_exception", "read body: %v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates[name]++
	if ix, ok := s.indices[name]; ok {
		writeError(w, errorf(400, "resource_already_exists_exception", "index [%s/%s] already exists", name, ix.uuid))
		return
	}
	ix, e := createIndex(name, body)
	if e != nil {
		writeError(w, e)
		return
	}
	s.indices[name] = ix
	writeJSON(w, 200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

// getIndex answers GET /{index} with its mapping and settings, and HEAD
// /{index} with 200 or 404 alone.
func (s *Server) getIndex(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("index")
	s.mu.Lock()
	_, ok := s.indices[name]
	s.mu.Unlock()
	switch {
	case r.Method == http.MethodHead && ok:
		w.WriteHeader(200)
	case r.Method == http.MethodHead:
		w.WriteHeader(404)
	case !ok:
		writeError(w, errorf(404, "index_not_found_exception", "no such index [%s]", name))
	default:
		writeJSON(w, 200, map[string]any{name: map[string]any{"aliases": map[string]any{}, "mappings": s.Mapping(name), "settings": s.Settings(name)}})
	}
}

func (s *Server) deleteIndex(w http.ResponseWriter, r *http.Request) {
	names, e := s.resolve(r.PathValue("index"))
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	for _, n := range names {
		delete(s.indices, n)
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"acknowledged": true})
}

func (s *Server) getMapping(w http.ResponseWriter, r *http.Request) {
	names, e := s.resolve(r.PathValue("index"))
	if e != nil {
		writeError(w, e)
		return
	}
	out := map[string]any{}
	for _, n := range names {
		out[n] = map[string]any{"mappings": s.Mapping(n)}
	}
	writeJSON(w, 200, out)
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	names, e := s.resolve(r.PathValue("index"))
	if e != nil {
		writeError(w, e)
		return
	}
	out := map[string]any{}
	for _, n := range names {
		out[n] = map[string]any{"settings": s.Settings(n)}
	}
	writeJSON(w, 200, out)
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	if target := r.PathValue("index"); target != "" {
		if _, e := s.resolve(target); e != nil {
			writeError(w, e)
			return
		}
	}
	writeJSON(w, 200, map[string]any{"_shards": map[string]int{"total": 1, "successful": 1, "failed": 0}})
}

func (s *Server) getDoc(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("index"), r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, ok := s.indices[name]
	if !ok {
		writeError(w, errorf(404, "index_not_found_exception", "no such index [%s]", name))
		return
	}
	d, ok := ix.docs[id]
	if !ok {
		writeJSON(w, 404, map[string]any{"_index": name, "_id": id, "found": false})
		return
	}
	writeJSON(w, 200, map[string]any{
		"_index": name, "_id": id, "_version": d.version, "_seq_no": d.seqNo, "_primary_term": 1,
		"found": true, "_source": d.source,
	})
}

func (s *Server) catIndices(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var rows []map[string]string
	for _, n := range slices.Sorted(maps.Keys(s.indices)) {
		ix := s.indices[n]
		rows = append(rows, map[string]string{
			"health": "green", "status": "open", "index": n, "uuid": ix.uuid,
			"pri": ix.settings["index.number_of_shards"], "rep": ix.settings["index.number_of_replicas"],
			"docs.count": fmt.Sprint(len(ix.docs)),
		})
	}
	s.mu.Unlock()
	if r.URL.Query().Get("format") == "json" {
		writeJSON(w, 200, rows)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	for _, row := range rows {
		fmt.Fprintf(w, "%s %s %s %s %s %s %s\n", row["health"], row["status"], row["index"], row["uuid"], row["pri"], row["rep"], row["docs.count"])
	}
}

// resolve expands a target ("a,b", "metrics-*", "_all") into existing
// index names; a concrete name that does not exist is an error.
func (s *Server) resolve(target string) ([]string, *esError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, part := range strings.Split(target, ",") {
		if part == "_all" || part == "*" || strings.Contains(part, "*") {
			for n := range s.indices {
				if part == "_all" || globMatch(part, n) {
					out = append(out, n)
				}
			}
			continue
		}
		if _, ok := s.indices[part]; !ok {
			return nil, errorf(404, "index_not_found_exception", "no such index [%s]", part)
		}
		out = append(out, part)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// globMatch matches Elasticsearch index patterns, where only * is special.
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(name, p)
		}
		j := strings.Index(name, p)
		if j < 0 {
			return false
		}
		name = name[j+len(p):]
	}
	return true
}
