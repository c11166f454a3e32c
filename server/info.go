package server

import (
	"net/http"

	"sluice/operators"
)

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Status  string `json:"status"`
		Queries int    `json:"queries"`
		Streams int    `json:"streams"`
	}{"ok", len(s.rt.Queries()), len(s.rt.Streams())})
}

// functions lists what the SQL console can complete.
func (s *Server) functions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Functions   []string `json:"functions"`
		Sinks       []string `json:"sinks"`
		Annotations []string `json:"annotations"`
	}{nonNil(operators.FunctionNames()), nonNil(operators.SinkNames()), nonNil(operators.AnnotationNames())})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
