package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/plugins/checkpoint"
)

func TestKafkaStreamFlags(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
		err  string
	}{
		{args: []string{"--kafka-stream", "events=clicks", "--kafka-stream", "orders=orders:billing"}, want: "events=clicks,orders=orders:billing"},
		{args: []string{"--kafka-stream", "a=t1, b=t2:g"}, want: "a=t1,b=t2:g"},
		{env: map[string]string{"SLUICE_KAFKA_STREAMS": "events=clicks,orders=orders:billing"}, want: "events=clicks,orders=orders:billing"},
		{args: []string{"--kafka-stream", "x=y"}, env: map[string]string{"SLUICE_KAFKA_STREAMS": "events=clicks"}, want: "x=y"},
		{env: map[string]string{"SLUICE_KAFKA_STREAMS": "events"}, err: `SLUICE_KAFKA_STREAMS="events": "events": want name=topic or name=topic:group`},
		{env: map[string]string{"SLUICE_KAFKA_STREAMS": "=clicks"}, err: `SLUICE_KAFKA_STREAMS="=clicks": "=clicks": want name=topic or name=topic:group`},
	}
	for _, tt := range tests {
		c, err := parseServe(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%v %v: error %v, want %s", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %v: %v", tt.args, tt.env, err)
			continue
		}
		if got := c.kafkaStreams.String(); got != tt.want {
			t.Errorf("%v %v: streams %s, want %s", tt.args, tt.env, got, tt.want)
		}
	}
}

func TestCheckpointFlags(t *testing.T) {
	env := map[string]string{"SLUICE_STATE_REDIS_URL": "redis://r:6379/2", "SLUICE_NODE": "n7", "SLUICE_CHECKPOINT_INTERVAL": "250ms"}
	c, err := parseServe([]string{"--state-dir", "/var/lib/sluice"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.stateRedisURL != "redis://r:6379/2" || c.stateDir != "/var/lib/sluice" || c.node != "n7" || c.checkpointInterval != 250*time.Millisecond {
		t.Errorf("config %+v", c)
	}
	d, err := parseServe(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.checkpointInterval != 5*time.Second || d.node != defaultNode() || d.stateRedisURL != "" || d.stateDir != "" {
		t.Errorf("defaults %+v", d)
	}
	if _, err := parseServe([]string{"--checkpoint-interval", "0s"}, func(string) string { return "" }, io.Discard); err == nil || err.Error() != "--checkpoint-interval 0s: want a positive duration" {
		t.Errorf("zero interval: %v", err)
	}
}

// With a Kafka stream, checkpoints are on unless turned off: under
// --data-dir when it is set, else in the working directory; otherwise only
// a store flag turns them on.
func TestDefaultStateStore(t *testing.T) {
	data, work := t.TempDir(), t.TempDir()
	t.Chdir(work)
	tests := []struct {
		args []string
		dir  string // where the store keeps its files; "" for no store
	}{
		{args: nil},
		{args: []string{"--data-dir", data}},
		{args: []string{"--kafka-brokers", "k:9092", "--data-dir", data}}, // Kafka only as a sink
		{args: []string{"--kafka-brokers", "k:9092", "--kafka-stream", "e=t", "--data-dir", data}, dir: filepath.Join(data, "sluice-state")},
		{args: []string{"--kafka-brokers", "k:9092", "--kafka-stream", "e=t"}, dir: filepath.Join(work, "sluice-state")},
		{args: []string{"--kafka-stream", "e=t", "--data-dir", data, "--state-dir", filepath.Join(data, "own")}, dir: filepath.Join(data, "own")},
		{args: []string{"--kafka-stream", "e=t", "--state-dir", "none"}},
		{args: []string{"--state-dir", filepath.Join(data, "plain")}, dir: filepath.Join(data, "plain")},
	}
	for _, tt := range tests {
		c, err := parseServe(append(tt.args, "--node", "n1"), func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		store, err := c.stateStore(slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if tt.dir == "" {
			if store != nil {
				t.Errorf("%v: store %T, want none", tt.args, store)
			}
			continue
		}
		if _, ok := store.(*checkpoint.DirStore); !ok {
			t.Fatalf("%v: store %T, want a directory", tt.args, store)
		}
		if fi, err := os.Stat(tt.dir); err != nil || !fi.IsDir() {
			t.Errorf("%v: %s not made: %v", tt.args, tt.dir, err)
		}
	}
}

// A default state directory that cannot be made names itself and the flags
// that choose another.
func TestDefaultStateDirError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := parseServe([]string{"--kafka-stream", "e=t", "--data-dir", file}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.stateStore(slog.New(slog.DiscardHandler))
	want := "kafka streams are checkpointed by default, to " + filepath.Join(file, "sluice-state") + ": set --data-dir, --state-dir or --state-redis-url, or --state-dir none for no checkpoints: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want it to start %q", err, want)
	}
}
