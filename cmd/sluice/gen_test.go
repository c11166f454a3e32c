package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"sluice/plugins/sources/generator"
)

// genReference is what the generator itself produces for the flags used
// in these tests.
func genReference(t *testing.T, count int) []byte {
	t.Helper()
	c := generator.DefaultConfig()
	c.Seed, c.Users, c.Count = 7, 3000, count
	c.Jitter = 500 * time.Millisecond
	c.Start = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	g, err := generator.New(c)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for ok := true; ok; {
		out, ok = g.AppendNext(out)
	}
	return out
}

var genArgs = []string{"--seed", "7", "--users", "3000", "--jitter", "500ms", "--start", "2025-06-01T08:00:00Z"}

func TestGenStdout(t *testing.T) {
	var a, b bytes.Buffer
	args := append(genArgs, "--count", "3000")
	if err := runGen(context.Background(), args, &a, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := runGen(context.Background(), args, &b, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same flags gave different output")
	}
	if !bytes.Equal(a.Bytes(), genReference(t, 3000)) {
		t.Fatal("sluice gen differs from the generator with the same settings")
	}
}

// TestGenPosts sends through a server that refuses every other batch with
// 429: every event arrives exactly once, in order.
func TestGenPosts(t *testing.T) {
	f := &fakeIngest{}
	for range 20 {
		f.script = append(f.script, scripted{status: 429, retryAfter: "0"}, scripted{status: 202})
	}
	ts := httptest.NewServer(f)
	defer ts.Close()
	const count, batch = 2500, 300
	batches := (count + batch - 1) / batch // each refused once, then accepted
	var summary bytes.Buffer
	args := append(genArgs, "--count", strconv.Itoa(count), "--batch", strconv.Itoa(batch), "--url", ts.URL, "--stream", "clicks", "--token", "t0k")
	if err := runGen(context.Background(), args, io.Discard, &summary); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i, b := range f.bodies {
		if i%2 == 1 {
			got = append(got, b...)
		} else if i+1 < len(f.bodies) && !bytes.Equal(b, f.bodies[i+1]) {
			t.Fatalf("batch %d was changed when resent", i/2)
		}
	}
	if len(f.bodies) != 2*batches || !bytes.Equal(got, genReference(t, count)) {
		t.Fatalf("%d POSTs, want %d; accepted bodies equal to the generator's output: %v", len(f.bodies), 2*batches, bytes.Equal(got, genReference(t, count)))
	}
	if h := f.headers[0].Get("Authorization"); h != "Bearer t0k" {
		t.Fatalf("Authorization %q", h)
	}
	if !strings.Contains(summary.String(), fmt.Sprintf("%d events to %s/v1/streams/clicks/events", count, ts.URL)) || !strings.Contains(summary.String(), fmt.Sprintf("%d answers 429", batches)) {
		t.Fatalf("summary %q", summary.String())
	}
}

// TestGenRate checks real-time pacing: no event leaves before the wall
// clock reaches its timestamp relative to --start.
func TestGenRate(t *testing.T) {
	var out bytes.Buffer
	began := time.Now()
	if err := runGen(context.Background(), []string{"--rate", "300", "--duration", "1500ms", "--start", "2025-06-01T08:00:00Z"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte{'\n'})
	var last int64
	for _, l := range lines {
		i := bytes.Index(l, []byte(`"ts":`))
		var ts int64
		for _, c := range l[i+5:] {
			if c < '0' || c > '9' {
				break
			}
			ts = ts*10 + int64(c-'0')
		}
		last = max(last, ts)
	}
	span := time.Duration(last-time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC).UnixMilli()) * time.Millisecond
	if len(lines) < 20 || span < time.Second || took < span {
		t.Fatalf("%d events spanning %v sent in %v", len(lines), span, took)
	}
}

func TestGenFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--start", "yesterday"}, `--start "yesterday"`},
		{[]string{"--batch", "0", "--count", "1"}, "--batch must be at least 1"},
		{[]string{"--users", "10", "--rate", "1000", "--count", "1"}, "needs at least"},
		{[]string{"--bots", "2"}, "bot fraction"},
		{[]string{"--url", "localhost:8080", "--count", "1"}, "want http://host:port"},
		{[]string{"stray"}, `sluice gen takes no arguments, got ["stray"]`},
		{[]string{"--count", "many"}, `invalid value "many" for flag -count`},
	} {
		var stderr bytes.Buffer
		err := runGen(context.Background(), tc.args, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("gen %v: err = %v, stderr %q, want %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}
