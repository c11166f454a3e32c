package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerPanicAnswers500(t *testing.T) {
	var logged bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil))}
	h := s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		var rows []int
		_ = rows[3] // a bug
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/queries", strings.NewReader("SELECT 1")))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(string(body), `"error":"internal error (runtime error: index out of range [3] with length 0); the server logged the details"`) {
		t.Fatalf("answer %d %s", rec.Code, body)
	}
	if !strings.Contains(logged.String(), "http handler panicked") || !strings.Contains(logged.String(), "path=/v1/queries") || !strings.Contains(logged.String(), "recover_test.go") {
		t.Fatalf("log:\n%s", logged.String())
	}

	aborted := s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("ErrAbortHandler not passed on: %v", p)
		}
	}()
	aborted.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}
