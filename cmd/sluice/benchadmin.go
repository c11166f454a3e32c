package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// benchAdmin deploys the benchmark's statements and watches their counters
// over the HTTP API.
type benchAdmin struct {
	base  string
	token string
	http  *http.Client
}

func (c *benchAdmin) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

// errDeployed is a statement name that is already running.
var errDeployed = errors.New("already deployed")

// deploy starts the statements of src and returns their names.
func (c *benchAdmin) deploy(ctx context.Context, src string) ([]string, error) {
	status, body, err := c.do(ctx, http.MethodPost, "/v1/queries", src)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusCreated:
	case http.StatusConflict:
		return nil, fmt.Errorf("%w: %s", errDeployed, strings.TrimSpace(string(body)))
	default:
		return nil, fmt.Errorf("%d %s", status, strings.TrimSpace(string(body)))
	}
	var v struct {
		Statements []struct {
			Name string `json:"name"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("reading the deploy answer: %w", err)
	}
	names := make([]string, len(v.Statements))
	for i, s := range v.Statements {
		names[i] = s.Name
	}
	return names, nil
}

func (c *benchAdmin) remove(ctx context.Context, name string) error {
	status, body, err := c.do(ctx, http.MethodDelete, "/v1/queries/"+url.PathEscape(name), "")
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("%d %s", status, strings.TrimSpace(string(body)))
	}
	return nil
}

// benchStatement is what the benchmark reads of GET /v1/queries.
type benchStatement struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Target string `json:"target"`
	Stats  struct {
		In   int64   `json:"events_in"`
		Out  int64   `json:"rows_out"`
		Busy float64 `json:"busy_seconds"`
	} `json:"stats"`
}

// busiest is the statement that spent the most time processing between
// two listings, and that time.
func busiest(before, after []benchStatement) (name string, busy float64) {
	was := map[string]float64{}
	for _, s := range before {
		was[s.Name] = s.Stats.Busy
	}
	for _, s := range after {
		if d := s.Stats.Busy - was[s.Name]; d > busy {
			name, busy = s.Name, d
		}
	}
	return name, busy
}

func (c *benchAdmin) statements(ctx context.Context) ([]benchStatement, error) {
	status, body, err := c.do(ctx, http.MethodGet, "/v1/queries", "")
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%d %s", status, strings.TrimSpace(string(body)))
	}
	var list []benchStatement
	if err == nil {
		err = json.Unmarshal(body, &list)
	}
	if err != nil {
		return nil, fmt.Errorf("listing statements: %w", err)
	}
	return list, nil
}

// benchCounts are a statement's counters when the load starts.
type benchCounts map[string][2]int64

func countsOf(list []benchStatement) benchCounts {
	m := benchCounts{}
	for _, s := range list {
		m[s.Name] = [2]int64{s.Stats.In, s.Stats.Out}
	}
	return m
}

// drained tells whether every statement has taken in all that reached its
// source stream since base: the accepted events for the ingest stream,
// the rows of the statements that INSERT INTO it for the others. taken is
// the least any reader of the ingest stream took in; readers counts them.
func drained(list []benchStatement, base benchCounts, stream string, accepted int64) (taken int64, readers int, ok bool) {
	fed := map[string]int64{stream: accepted}
	for _, s := range list {
		if s.Target != "" {
			fed[s.Target] += s.Stats.Out - base[s.Name][1]
		}
	}
	ok = true
	for _, s := range list {
		in := s.Stats.In - base[s.Name][0]
		if in != fed[s.Source] {
			ok = false
		}
		if s.Source == stream {
			if readers == 0 || in < taken {
				taken = in
			}
			readers++
		}
	}
	return taken, readers, ok
}

// waitDrained polls the statements until the pipeline has taken in every
// accepted event and every row its statements passed on.
func (c *benchAdmin) waitDrained(ctx context.Context, base benchCounts, stream string, accepted int64) (taken int64, statements int, err error) {
	for {
		list, err := c.statements(ctx)
		if err != nil {
			return taken, 0, err
		}
		var readers int
		var ok bool
		taken, readers, ok = drained(list, base, stream, accepted)
		if readers == 0 {
			return 0, len(list), fmt.Errorf("no statement reads the stream %q", stream)
		}
		if ok {
			return taken, len(list), nil
		}
		if sleepOrDone(ctx, 10*time.Millisecond) != nil {
			return taken, len(list), fmt.Errorf("statements on %q took in %d of %d events before the timeout", stream, taken, accepted)
		}
	}
}
