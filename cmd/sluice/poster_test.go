package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeIngest answers each POST with the next scripted status; 202s carry
// the number of lines received. It records every body it was sent.
type fakeIngest struct {
	mu      sync.Mutex
	script  []scripted
	bodies  [][]byte
	headers []http.Header
}

type scripted struct {
	status     int
	retryAfter string
	body       string
}

func (f *fakeIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.headers = append(f.headers, r.Header.Clone())
	s := scripted{status: http.StatusAccepted}
	if len(f.script) > 0 {
		s, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	if s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	if s.status == http.StatusAccepted && s.body == "" {
		s.body = `{"accepted":` + strconv.Itoa(bytes.Count(body, []byte{'\n'})) + `}`
	}
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

// recordWaits replaces the poster's sleep with a recorder.
func recordWaits(p *eventPoster) *[]time.Duration {
	var waits []time.Duration
	p.wait = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return &waits
}

func TestPosterWaitsOut429(t *testing.T) {
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	f := &fakeIngest{script: []scripted{
		{status: 429, retryAfter: "2"},
		{status: 429},
		{status: 429, retryAfter: date},
		{status: 503},
		{status: 502, retryAfter: "3"},
	}}
	ts := httptest.NewServer(f)
	defer ts.Close()
	p, err := newEventPoster(ts.URL+"/", "clicks", "secret", 1)
	if err != nil {
		t.Fatal(err)
	}
	waits := recordWaits(p)
	body := []byte("{\"a\":1}\n{\"a\":2}\n")
	if err := p.post(context.Background(), body, 2); err != nil {
		t.Fatal(err)
	}
	if got := p.throttled.Load(); got != 3 {
		t.Fatalf("throttled = %d, want 3", got)
	}
	if got := p.failed.Load(); got != 2 {
		t.Fatalf("failed = %d, want 2", got)
	}
	w := *waits
	if len(w) != 5 || w[0] != 2*time.Second || w[1] != time.Second || w[2] < 59*time.Minute || w[2] > time.Hour ||
		w[3] != 50*time.Millisecond || w[4] != 3*time.Second {
		t.Fatalf("waits = %v, want [2s 1s ~1h 50ms 3s]", w)
	}
	if len(f.bodies) != 6 {
		t.Fatalf("%d attempts, want 6", len(f.bodies))
	}
	for i, b := range f.bodies {
		if string(b) != string(body) {
			t.Fatalf("attempt %d sent %q, want the same batch %q", i, b, body)
		}
		h := f.headers[i]
		if h.Get("Content-Type") != "application/x-ndjson" || h.Get("Authorization") != "Bearer secret" {
			t.Fatalf("attempt %d headers %v", i, h)
		}
	}
}

func TestPosterBacksOffOnTransportErrors(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close() // nothing listens any more
	p, err := newEventPoster(ts.URL, "events", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var waits []time.Duration
	p.wait = func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) == 8 {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	err = p.post(ctx, []byte("{}\n"), 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000}
	for i := range want {
		if waits[i] != want[i]*time.Millisecond {
			t.Fatalf("waits = %v, want %v ms", waits, want)
		}
	}
}

func TestPosterRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    scripted
		want string
	}{
		{"bad request", scripted{status: 400, body: `{"error":"line 1: invalid JSON"}`}, `400 {"error":"line 1: invalid JSON"}`},
		{"too large", scripted{status: 413, body: `{"error":"too big"}`}, "413"},
		{"unauthorized", scripted{status: 401, body: `{"error":"token"}`}, "401"},
		{"short count", scripted{status: 202, body: `{"accepted":1}`}, "accepted 1 of 2 events"},
		{"no count", scripted{status: 202, body: `{}`}, "without an accepted count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeIngest{script: []scripted{tc.s}}
			ts := httptest.NewServer(f)
			defer ts.Close()
			p, _ := newEventPoster(ts.URL, "events", "", 1)
			err := p.post(context.Background(), []byte("{}\n{}\n"), 2)
			if !errors.Is(err, errRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want errRefused mentioning %q", err, tc.want)
			}
			if len(f.bodies) != 1 {
				t.Fatalf("%d attempts; a refusal is final", len(f.bodies))
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", -1},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-3", -1},
		{"soon", -1},
		{"Wed, 01 Jan 2025 00:00:30 GMT", 30 * time.Second},
		{"Tue, 31 Dec 2024 23:00:00 GMT", 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNewEventPosterChecksURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := newEventPoster(u, "events", "", 1); err == nil {
			t.Errorf("newEventPoster(%q) accepted", u)
		}
	}
	p, err := newEventPoster("http://127.0.0.1:8080/", "my stream", "", 1)
	if err != nil || p.url != "http://127.0.0.1:8080/v1/streams/my%20stream/events" {
		t.Fatalf("url %q, err %v", p.url, err)
	}
}
