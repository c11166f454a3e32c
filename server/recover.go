package server

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/go-chi/chi/v5/middleware"
)

// recoverPanics answers 500 with a JSON error when a handler panics before
// it has answered, and logs the panic with its stack: a bug met by one
// request (say, a statement the compiler mishandles) gets an answer and a
// log entry instead of a dropped connection, and the server goes on. A
// handler that panics mid-answer (a results stream) has its connection
// cut instead, so that no error is written into the middle of its body.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww, wrapped := w.(middleware.WrapResponseWriter) // by logRequests, at debug level
		if !wrapped {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
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
			if ww.Status() != 0 {
				panic(http.ErrAbortHandler)
			}
			writeError(w, http.StatusInternalServerError, "internal error (%v); the server logged the details", p)
		}()
		next.ServeHTTP(ww, r)
	})
}
