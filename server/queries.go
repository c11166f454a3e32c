package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"sluice/operators"
	"sluice/sqlengine"
)

// maxSQLBody bounds statement and dashboard bodies.
const maxSQLBody = 1 << 20

// queryView is a statement as the API shows it.
type queryView struct {
	*operators.QuerySpec
	Status string               `json:"status"`
	Stats  operators.QueryStats `json:"stats"`
}

func viewOf(q *operators.Query) queryView {
	return queryView{QuerySpec: q.Spec(), Status: q.Status(), Stats: q.Stats()}
}

// replaceView is the answer to a replacement: the statement and what became
// of its state.
type replaceView struct {
	queryView
	StateKept bool   `json:"state_kept"`
	State     string `json:"state"`
}

// compileErrorBody is the answer to SQL that does not compile.
type compileErrorBody struct {
	Error  string              `json:"error"`
	Errors sqlengine.ErrorList `json:"errors,omitempty"`
}

// DeploySQL compiles src and deploys every statement in it, all or none:
// if one fails, those already started are removed again. A compile error
// is a sqlengine.ErrorList; a name clash wraps operators.ErrExists, a
// deploy during shutdown operators.ErrClosed.
func (s *Server) DeploySQL(src string) ([]*operators.Query, error) {
	specs, err := s.compile(src)
	if err != nil {
		return nil, err
	}
	deployed := make([]*operators.Query, 0, len(specs))
	for _, spec := range specs {
		q, err := s.rt.Deploy(spec)
		if err != nil {
			for _, d := range deployed {
				if derr := s.rt.Delete(d.Spec().Name); derr != nil {
					s.log.Error("rolling back a deploy", "query", d.Spec().Name, "err", derr)
				}
			}
			return nil, err
		}
		deployed = append(deployed, q)
	}
	return deployed, nil
}

// compile runs the compiler and names unnamed statements.
func (s *Server) compile(src string) ([]*operators.QuerySpec, error) {
	specs, err := s.cfg.Compile(src)
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, errors.New("no SQL statement found")
	}
	for _, spec := range specs {
		if spec.Name == "" {
			sum := sha256.Sum256([]byte(spec.SQL))
			spec.Name = "query_" + hex.EncodeToString(sum[:4])
		}
	}
	return specs, nil
}

func writeCompileError(w http.ResponseWriter, err error) {
	var list sqlengine.ErrorList
	if errors.As(err, &list) {
		writeJSON(w, http.StatusBadRequest, compileErrorBody{Error: list.Error(), Errors: list})
		return
	}
	writeError(w, http.StatusBadRequest, "%v", err)
}

func readSQL(w http.ResponseWriter, r *http.Request) (string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSQLBody))
	if err != nil {
		status := bodyErrorStatus(err)
		if status == http.StatusRequestEntityTooLarge {
			writeError(w, status, "SQL body is larger than %d bytes", maxSQLBody)
		} else {
			writeError(w, status, "reading the request body: %v", err)
		}
		return "", false
	}
	return string(body), true
}

func (s *Server) deployQueries(w http.ResponseWriter, r *http.Request) {
	src, ok := readSQL(w, r)
	if !ok {
		return
	}
	deployed, err := s.DeploySQL(src)
	if err != nil {
		switch {
		case errors.Is(err, operators.ErrExists):
			writeError(w, http.StatusConflict, "%v", err)
			return
		case errors.Is(err, operators.ErrClosed):
			writeError(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		writeCompileError(w, err)
		return
	}
	views := make([]queryView, len(deployed))
	for i, q := range deployed {
		views[i] = viewOf(q)
	}
	writeJSON(w, http.StatusCreated, map[string][]queryView{"statements": views})
}

func (s *Server) listQueries(w http.ResponseWriter, _ *http.Request) {
	qs := s.rt.Queries()
	views := make([]queryView, len(qs))
	for i, q := range qs {
		views[i] = viewOf(q)
	}
	writeJSON(w, http.StatusOK, views)
}

func (s *Server) getQuery(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	q, ok := s.rt.Query(name)
	if !ok {
		writeError(w, http.StatusNotFound, "no statement named %q", name)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(q))
}

// replaceQuery swaps a statement for a new version. An unnamed statement
// takes the name in the URL.
func (s *Server) replaceQuery(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if _, ok := s.rt.Query(name); !ok {
		writeError(w, http.StatusNotFound, "no statement named %q", name)
		return
	}
	src, ok := readSQL(w, r)
	if !ok {
		return
	}
	specs, err := s.cfg.Compile(src)
	if err != nil {
		writeCompileError(w, err)
		return
	}
	if len(specs) != 1 {
		writeError(w, http.StatusBadRequest, "PUT takes exactly one statement; the body has %d", len(specs))
		return
	}
	spec := specs[0]
	if named := annotatedName(spec); named != "" && named != name {
		writeError(w, http.StatusBadRequest, "the statement is named %q but the URL names %q", named, name)
		return
	}
	spec.Name = name
	q, kept, err := s.rt.Replace(spec)
	switch {
	case errors.Is(err, operators.ErrNotFound):
		writeError(w, http.StatusNotFound, "no statement named %q", name)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	state := "fresh: state shape changed"
	if kept {
		state = "kept: same keys and aggregates"
	}
	writeJSON(w, http.StatusOK, replaceView{queryView: viewOf(q), StateKept: kept, State: state})
}

// annotatedName is the statement's @Name, or "" when it has none.
func annotatedName(spec *operators.QuerySpec) string {
	for k, v := range spec.Annotations {
		if strings.EqualFold(k, "name") && len(v) > 0 {
			return spec.Name
		}
	}
	return ""
}

func (s *Server) deleteQuery(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := s.rt.Delete(name); err != nil {
		if errors.Is(err, operators.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no statement named %q", name)
			return
		}
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
