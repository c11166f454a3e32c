package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
	"github.com/klauspost/compress/gzip"

	"sluice/operators"
)

// Reasons counted by sluice_ingest_rejected_total.
const (
	rejectInvalid      = "invalid"          // 400, 415
	rejectTooLarge     = "too_large"        // 413
	rejectBackpressure = "backpressure"     // 429
	rejectTooMany      = "too_many_streams" // 409
	rejectUnavailable  = "unavailable"      // 503: Kafka did not acknowledge (collector mode)
)

// ingest accepts a batch of events for one stream: all of them or none.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "stream")
	if !validStreamName(name) {
		s.reject("", http.StatusBadRequest)
		writeError(w, http.StatusBadRequest, "invalid stream name %q: use 1 to 128 of A-Z a-z 0-9 _ . -", name)
		return
	}
	body, status, err := readBody(w, r, s.cfg.MaxBody)
	if err != nil {
		s.reject(name, status)
		writeError(w, status, "%v", err)
		return
	}
	recs, derr := decodeEvents(body, isNDJSON(r.Header.Get("Content-Type")), s.rt.Now())
	if derr != nil {
		s.reject(name, http.StatusBadRequest)
		writeJSON(w, http.StatusBadRequest, derr)
		return
	}
	if s.publish(w, r, name, recs) {
		return
	}
	if err := s.rt.Ingest(name, recs); err != nil {
		if errors.Is(err, operators.ErrBackpressure) {
			s.reject(name, http.StatusTooManyRequests)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "stream %q queue is full; retry later", name)
			return
		}
		if errors.Is(err, operators.ErrTooManyStreams) {
			s.reject(name, http.StatusConflict)
			writeError(w, http.StatusConflict, "%v (--max-streams): post to an existing stream, deploy a statement reading %q, or raise --max-streams", err, name)
			return
		}
		writeError(w, http.StatusInternalServerError, "ingest into %q: %v", name, err)
		return
	}
	writeAccepted(w, len(recs), "")
}

// writeAccepted answers 202 {"accepted":n}, with "topic" when the events
// went to a Kafka topic (collector mode).
func writeAccepted(w http.ResponseWriter, n int, topic string) {
	out := make([]byte, 0, 64)
	out = append(out, `{"accepted":`...)
	out = strconv.AppendInt(out, int64(n), 10)
	if topic != "" {
		out = append(out, `,"topic":`...)
		out = strconv.AppendQuote(out, topic)
	}
	writeRawJSON(w, http.StatusAccepted, append(out, '}'))
}

func (s *Server) reject(stream string, status int) {
	reason := rejectInvalid
	switch status {
	case http.StatusRequestEntityTooLarge:
		reason = rejectTooLarge
	case http.StatusTooManyRequests:
		reason = rejectBackpressure
	case http.StatusConflict:
		reason = rejectTooMany
	case http.StatusServiceUnavailable:
		reason = rejectUnavailable
	}
	// Only existing streams get their own series: a client can name any
	// stream, and each name would be a metric series for good.
	if !s.rt.HasStream(stream) {
		stream = ""
	}
	s.rejected.WithLabelValues(stream, reason).Inc()
}

// validStreamName is [A-Za-z0-9_.-]{1,128}.
func validStreamName(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func isNDJSON(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines":
		return true
	}
	return false
}

var gzipReaders sync.Pool

// readBody reads the request body into a fresh buffer (records keep slices
// of it), undoing gzip. Both the body as sent and as decompressed are held
// to limit. On error it returns the status to answer with.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, error) {
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, tooLargeError(limit)
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	hint := r.ContentLength
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(src)
		} else {
			err = zr.Reset(src)
		}
		if err == io.EOF {
			err = errEmptyGzip
		}
		if err != nil {
			return nil, bodyErrorStatus(err), bodyError(err, limit)
		}
		defer gzipReaders.Put(zr)
		defer zr.Close()
		src = zr
		hint = min(4*max(hint, 16<<10), limit)
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q: send gzip or nothing", enc)
	}
	body, err := readLimited(src, limit, hint)
	if err != nil {
		return nil, bodyErrorStatus(err), bodyError(err, limit)
	}
	return body, 0, nil
}

var errTooLarge = errors.New("body too large")

var errEmptyGzip = errors.New("no gzip data")

// maxHint bounds the buffer a declared Content-Length reserves before the
// body arrives.
const maxHint = 1 << 20

func tooLargeError(limit int64) error {
	return fmt.Errorf("request body is larger than %d bytes (--max-body)", limit)
}

func bodyErrorStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.Is(err, errTooLarge) || errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func bodyError(err error, limit int64) error {
	if bodyErrorStatus(err) == http.StatusRequestEntityTooLarge {
		return tooLargeError(limit)
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errEmptyGzip) {
		return fmt.Errorf("invalid gzip body: %w", err)
	}
	return fmt.Errorf("reading the request body: %w", err)
}

// readLimited reads src to the end into a buffer sized by hint, failing with
// errTooLarge past limit bytes. The hint comes from the client's headers, so
// it sizes the buffer only up to maxHint: the rest grows as bytes arrive.
func readLimited(src io.Reader, limit, hint int64) ([]byte, error) {
	if hint <= 0 {
		hint = 16 << 10
	}
	hint = min(hint, maxHint)
	// One byte more than the body so that the final Read sees EOF without a regrow.
	buf := make([]byte, 0, min(hint, limit)+1)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, errTooLarge
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
