package functions

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/operators"
)

func newBotSink(t *testing.T, args map[string]string) operators.Sink {
	t.Helper()
	p, ok := operators.LookupSink("bot_signatures")
	if !ok {
		t.Fatal("sink bot_signatures is not registered")
	}
	sink, err := p.New(operators.SinkConfig{Query: "bot_detector", Args: args})
	if err != nil {
		t.Fatalf("bot_signatures%v: %v", args, err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink
}

func write(t *testing.T, sink operators.Sink, rows ...*operators.Record) {
	t.Helper()
	if err := sink.Write(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func signatureOf(ip string) (BotSignature, bool) {
	for _, sig := range BotSignatures() {
		if sig.IP == ip {
			return sig, true
		}
	}
	return BotSignature{}, false
}

func TestBotSignatureSinkArgs(t *testing.T) {
	p, _ := operators.LookupSink("bot_signatures")
	for args, want := range map[string]map[string]string{
		`ttl "soon"`:          {"ttl": "soon"},
		`ttl "-1m"`:           {"ttl": "-1m"},
		`ttl "0s"`:            {"ttl": "0s"},
		`argument "treshold"`: {"treshold": "300"},
		"column must name":    {"column": ""},
	} {
		_, err := p.New(operators.SinkConfig{Query: "q", Args: want})
		if err == nil || !strings.Contains(err.Error(), args) {
			t.Errorf("args %v: error %v, want one mentioning %s", want, err, args)
		}
	}
	sink := newBotSink(t, nil).(*botSignatureSink)
	if sink.ttl != time.Hour || sink.column != "ip" {
		t.Errorf("defaults ttl %v column %q, want 1h and ip", sink.ttl, sink.column)
	}
}

func TestBotSignatureSinkFlagsIPs(t *testing.T) {
	sink := newBotSink(t, map[string]string{"ttl": "30m"})
	names := []string{"window_start", "ip", "hits"}
	before := time.Now()
	write(t, sink,
		operators.NewRow(names, i(1718000000000), s("203.0.113.7"), i(412)),
		operators.NewRow(names, i(1718000000000), null, i(999)),
		operators.NewRow(names, i(1718000000000), s(""), i(999)),
		operators.NewRow([]string{"other"}, s("x")),
	)
	for ip, want := range map[operators.Value]bool{s("203.0.113.7"): true, s("203.0.113.8"): false, null: false} {
		if got := call(t, "bot_signature", ip); got != b(want) {
			t.Errorf("bot_signature(%v) = %v, want %v", ip, got, want)
		}
	}
	sig, ok := signatureOf("203.0.113.7")
	if !ok {
		t.Fatalf("BotSignatures() = %+v lacks 203.0.113.7", BotSignatures())
	}
	if sig.Query != "bot_detector" || sig.Reason != `{"window_start":1718000000000,"ip":"203.0.113.7","hits":412}` {
		t.Errorf("signature %+v", sig)
	}
	if sig.Expires.Before(before.Add(30*time.Minute)) || sig.Expires.After(time.Now().Add(30*time.Minute)) {
		t.Errorf("expires %v, want 30m after the write at %v", sig.Expires, before)
	}
	for _, sig := range BotSignatures() {
		if sig.IP == "" {
			t.Errorf("an empty key was flagged: %+v", sig)
		}
	}
}

func TestBotSignatureColumnFromRawEvent(t *testing.T) {
	sink := newBotSink(t, map[string]string{"column": "client"})
	write(t, sink, &operators.Record{Raw: []byte(`{"client":"2001:db8::42","n":1}`)})
	if got := call(t, "bot_signature", s("2001:db8::42")); got != b(true) {
		t.Errorf("bot_signature of a raw event's client = %v, want true", got)
	}
}

func TestBotSignatureExpiresAndRenews(t *testing.T) {
	const ip = "198.51.100.23"
	short := newBotSink(t, map[string]string{"ttl": "300ms"})
	row := operators.NewRow([]string{"ip"}, s(ip))
	write(t, short, row)
	if got := call(t, "bot_signature", s(ip)); got != b(true) {
		t.Fatalf("bot_signature(%s) = %v right after the write", ip, got)
	}
	first, _ := signatureOf(ip)

	// A second flag renews the entry and its expiry.
	write(t, short, row)
	renewed, ok := signatureOf(ip)
	if !ok || !renewed.Expires.After(first.Expires) {
		t.Errorf("renewed signature %+v (listed %v), want expiry after %v", renewed, ok, first.Expires)
	}

	deadline := time.Now().Add(5 * time.Second)
	for call(t, "bot_signature", s(ip)) == b(true) {
		if time.Now().After(deadline) {
			t.Fatalf("bot_signature(%s) still true 5s after a 300ms ttl", ip)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sig, ok := signatureOf(ip); ok {
		t.Errorf("expired signature still listed: %+v", sig)
	}
}

func TestBotSignatureConcurrentWritesAndReads(t *testing.T) {
	sink := newBotSink(t, map[string]string{"ttl": "1h"})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for n := range 200 {
				row := operators.NewRow([]string{"ip"}, s(fmt.Sprintf("10.%d.%d.%d", w, n/250, n%250)))
				if err := sink.Write(context.Background(), []*operators.Record{row}); err != nil {
					t.Error(err)
				}
				call(t, "bot_signature", s("10.0.0.1"))
				BotSignatures()
			}
		})
	}
	wg.Wait()
	if err := sink.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for w := range 4 {
		for n := range 200 {
			ip := fmt.Sprintf("10.%d.%d.%d", w, n/250, n%250)
			if got := call(t, "bot_signature", s(ip)); got != b(true) {
				t.Fatalf("bot_signature(%s) = %v after concurrent writes", ip, got)
			}
		}
	}
}
