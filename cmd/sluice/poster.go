package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// eventPoster sends NDJSON batches to a sluice server's ingest endpoint.
// It never drops a batch: a 429 is waited out for its Retry-After and the
// same body is sent again; transport errors and 5xx answers are retried
// with backoff until the context ends.
type eventPoster struct {
	client *http.Client
	url    string
	token  string
	// wait sleeps between attempts; tests replace it to see the delays.
	wait func(ctx context.Context, d time.Duration) error

	throttled atomic.Int64 // 429 answers
	failed    atomic.Int64 // transport errors and 5xx answers, each retried
}

// newEventPoster posts to base + /v1/streams/{stream}/events over up to
// conns kept-alive connections.
func newEventPoster(base, stream, token string, conns int) (*eventPoster, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://host:port", base)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	return &eventPoster{
		client: &http.Client{Transport: tr},
		url:    strings.TrimSuffix(base, "/") + "/v1/streams/" + url.PathEscape(stream) + "/events",
		token:  token,
		wait:   sleepOrDone,
	}, nil
}

func sleepOrDone(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errRefused is a batch the server will not take however often it is sent.
var errRefused = errors.New("server refused the batch")

// post sends one batch of n events and returns once the server accepted
// all of them.
func (p *eventPoster) post(ctx context.Context, body []byte, n int) error {
	backoff := 50 * time.Millisecond
	for {
		status, retryAfter, reply, err := p.send(ctx, body)
		switch {
		case err != nil || status >= 500:
			if ctx.Err() != nil {
				return fmt.Errorf("posting %d events: %w", n, ctx.Err())
			}
			p.failed.Add(1)
			if retryAfter < 0 {
				retryAfter = backoff
				backoff = min(2*backoff, 2*time.Second)
			}
		case status == http.StatusTooManyRequests:
			p.throttled.Add(1)
			if retryAfter < 0 {
				retryAfter = time.Second
			}
		case status == http.StatusOK || status == http.StatusAccepted:
			var ack struct {
				Accepted *int `json:"accepted"`
			}
			if err := json.Unmarshal(reply, &ack); err != nil || ack.Accepted == nil {
				return fmt.Errorf("%w: answer %d without an accepted count: %.200s", errRefused, status, reply)
			}
			if *ack.Accepted != n {
				return fmt.Errorf("%w: accepted %d of %d events", errRefused, *ack.Accepted, n)
			}
			return nil
		default:
			return fmt.Errorf("%w: %d %s", errRefused, status, bytes.TrimSpace(reply))
		}
		if err := p.wait(ctx, retryAfter); err != nil {
			return fmt.Errorf("posting %d events: %w", n, err)
		}
	}
}

// send makes one attempt. retryAfter is -1 when there is no answer or it
// has no usable Retry-After header.
func (p *eventPoster) send(ctx context.Context, body []byte) (status int, retryAfter time.Duration, reply []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, -1, nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, -1, nil, err
	}
	// Read the whole answer so that the connection is kept alive.
	reply, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, -1, nil, err
	}
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), reply, nil
}

// parseRetryAfter reads delay-seconds or an HTTP date; -1 if neither.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return -1
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}
