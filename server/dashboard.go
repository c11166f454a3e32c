package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// dashboardStore keeps the dashboard layout: an opaque JSON document the
// web UI reads and writes, in memory and, with a data dir, on disk.
type dashboardStore struct {
	mu   sync.RWMutex
	doc  []byte
	path string // "" keeps it in memory only
}

// emptyDashboard is served until a layout is saved.
var emptyDashboard = []byte("{}")

func newDashboardStore(dataDir string) (*dashboardStore, error) {
	d := &dashboardStore{doc: emptyDashboard}
	if dataDir == "" {
		return d, nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	d.path = filepath.Join(dataDir, "dashboard.json")
	doc, err := os.ReadFile(d.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return d, nil
	case err != nil:
		return nil, err
	case !json.Valid(doc):
		return nil, fmt.Errorf("%s is not valid JSON; fix or remove it", d.path)
	}
	d.doc = doc
	return d, nil
}

func (d *dashboardStore) get() []byte {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.doc
}

// put stores doc, writing the file first (via a rename, so a crash leaves
// the old or the new layout, never half of one).
func (d *dashboardStore) put(doc []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.path != "" {
		tmp := d.path + ".tmp"
		if err := os.WriteFile(tmp, doc, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, d.path); err != nil {
			return err
		}
	}
	d.doc = doc
	return nil
}

func (s *Server) getDashboard(w http.ResponseWriter, _ *http.Request) {
	writeRawJSON(w, http.StatusOK, s.dash.get())
}

func (s *Server) putDashboard(w http.ResponseWriter, r *http.Request) {
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSQLBody))
	if err != nil {
		if status := bodyErrorStatus(err); status == http.StatusRequestEntityTooLarge {
			writeError(w, status, "dashboard document is larger than %d bytes", maxSQLBody)
			return
		}
		writeError(w, http.StatusBadRequest, "reading the request body: %v", err)
		return
	}
	if !json.Valid(doc) {
		var v any
		err := json.Unmarshal(doc, &v)
		writeError(w, http.StatusBadRequest, "dashboard document is not valid JSON: %v", err)
		return
	}
	if err := s.dash.put(doc); err != nil {
		writeError(w, http.StatusInternalServerError, "saving the dashboard: %v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
