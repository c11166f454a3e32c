package estest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// esError is an Elasticsearch exception: a type such as
// "mapper_parsing_exception" and a reason, with the HTTP status it maps to.
type esError struct {
	Status int
	Type   string
	Reason string
}

func (e *esError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Reason) }

func errorf(status int, typ, format string, args ...any) *esError {
	return &esError{Status: status, Type: typ, Reason: fmt.Sprintf(format, args...)}
}

// cause is the {"type","reason"} object Elasticsearch nests in errors.
func (e *esError) cause() map[string]any {
	return map[string]any{"type": e.Type, "reason": e.Reason}
}

// body is the whole-request error document:
// {"error":{"root_cause":[…],"type":…,"reason":…},"status":…}.
func (e *esError) body() map[string]any {
	c := e.cause()
	c["root_cause"] = []any{e.cause()}
	return map[string]any{"error": c, "status": e.Status}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *esError) {
	writeJSON(w, e.Status, e.body())
}
