package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// marshal is json.Marshal without HTML escaping, so SQL such as
// "WHERE x > 5" reads as written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the response: %v", err)
		return
	}
	writeRawJSON(w, status, b)
}

// writeRawJSON answers with b, which is already JSON.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// errorBody is every error answer: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	b, _ := marshal(errorBody{Error: fmt.Sprintf(format, args...)})
	writeRawJSON(w, status, b)
}
