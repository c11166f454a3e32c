package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// embeddedServer is a sluice server inside this process, on a free
// loopback port, for `sluice bench --embedded`.
type embeddedServer struct {
	selfUsage
	url  string
	stop func()
}

// startEmbedded builds the server as `sluice serve` does, from its
// defaults and SLUICE_* environment (so SLUICE_QUEUE_SIZE tunes it too),
// without deploying the shipped statements.
func startEmbedded(o benchOptions, stderr io.Writer) (*embeddedServer, error) {
	c, err := parseServe(nil, os.Getenv, stderr)
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	c.adminToken, c.ingestToken = o.adminToken, o.token
	// A benchmark's state is no one's to keep: with the SLUICE_* settings
	// of a serve run, its last checkpoint would replace that run's.
	c.stateDir, c.stateRedisURL = noStateDir, ""
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, srv, err := c.newServer(log)
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.stopServer(nil, srv, rt, 0, log)
		return nil, fmt.Errorf("embedded server: listening: %w", err)
	}
	hs := &http.Server{Handler: srv, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go hs.Serve(ln)
	return &embeddedServer{
		url:  "http://" + ln.Addr().String(),
		stop: func() { c.stopServer(hs, srv, rt, 5*time.Second, log) },
	}, nil
}
