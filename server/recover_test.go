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

	for name, h := range map[string]http.HandlerFunc{
		"an aborting handler": func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
		"a panic mid-answer": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("data: 1\n\n"))
			panic("broken")
		},
	} {
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != http.ErrAbortHandler {
					t.Errorf("%s: panic %v, want the connection cut (http.ErrAbortHandler)", name, p)
				}
			}()
			s.recoverPanics(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		}()
		if strings.Contains(rec.Body.String(), "internal error") {
			t.Errorf("%s: an error was written into the answer: %q", name, rec.Body.String())
		}
	}
}
