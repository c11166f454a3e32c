package main

import (
	"io"
	"testing"
	"time"
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
