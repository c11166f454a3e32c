package server

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// recoverPanics answers 500 with a JSON error when a handler panics, and
// logs the panic with its stack: a bug met by one request (say, a statement
// the compiler mishandles) gets an answer and a log entry instead of a
// dropped connection, and the server goes on.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p) // the handler chose to abort the response
			}
			s.log.Error("http handler panicked", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			writeError(w, http.StatusInternalServerError, "internal error (%v); the server logged the details", p)
		}()
		next.ServeHTTP(w, r)
	})
}
