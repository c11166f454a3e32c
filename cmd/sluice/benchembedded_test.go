package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestEmbeddedStopReleasesWhatStartOpened starts the embedded server with
// the state directory of a serve run set: stop leaves that run's
// checkpoints alone, and the HTTP API no longer answers.
func TestEmbeddedStopReleasesWhatStartOpened(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SLUICE_STATE_DIR", dir)
	t.Setenv("SLUICE_NODE", "embedded-test")
	var stderr bytes.Buffer
	srv, err := startEmbedded(benchOptions{}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.url + "/healthz")
	if err != nil {
		srv.stop()
		t.Fatalf("server does not answer before stop: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		srv.stop()
		t.Fatalf("GET /healthz before stop: %s", resp.Status)
	}
	checkpoint := filepath.Join(dir, "embedded-test.json")
	if _, err := os.Stat(checkpoint); err == nil {
		t.Fatalf("%s exists before stop", checkpoint)
	}

	srv.stop()
	if _, err := os.Stat(checkpoint); !os.IsNotExist(err) {
		t.Errorf("the benchmark wrote a checkpoint into the serve run's state directory: %v", err)
	}
	if resp, err := http.Get(srv.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("server still answers after stop: %s", resp.Status)
	}
	if stderr.Len() != 0 {
		t.Errorf("stop logged:\n%s", stderr.String())
	}
}
