package functions

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"

	"sluice/operators"
)

// BotSignature is one key (normally an IP address) flagged by a detector
// statement, as GET /v1/bots lists it.
type BotSignature struct {
	IP      string    `json:"ip"`
	Expires time.Time `json:"expires"`
	Query   string    `json:"query"`  // the statement that flagged it
	Reason  string    `json:"reason"` // the statement's output row, as JSON
}

// botSignatures is the cache bot_signature(ip) reads and the
// bot_signatures sink fills. Entries cost their size in bytes, so the cache
// holds at most 16 MiB of signatures (some 50,000 of a typical size);
// ristretto expires them by TTL.
var botSignatures = sync.OnceValue(func() *ristretto.Cache[string, BotSignature] {
	c, err := ristretto.NewCache(&ristretto.Config[string, BotSignature]{
		NumCounters:        1_000_000,
		MaxCost:            16 << 20,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		panic("functions: bot signature cache: " + err.Error()) // only on a bad constant config
	}
	return c
})

const defaultBotTTL = time.Hour

func init() {
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "bot_signature", Volatile: true, MinArgs: 1, MaxArgs: 1,
		Doc: "bot_signature(ip): whether ip is currently flagged by a statement with @Sink(type=\"bot_signatures\"); false for NULL",
		Eval: func(args []operators.Value) operators.Value {
			if args[0].IsNull() {
				return operators.Bool(false)
			}
			_, ok := botSignatures().Get(args[0].Text())
			return operators.Bool(ok)
		},
	})
	operators.RegisterSink(operators.SinkPlugin{
		Name: "bot_signatures",
		Doc:  "flags the value of column in each output row for ttl; bot_signature(value) is true until then, and GET /v1/bots lists it",
		Args: []operators.ArgSpec{
			{Name: "ttl", Doc: "how long a flag lasts, as a Go duration (default 1h); a row flagging the key again renews it"},
			{Name: "column", Doc: "output column holding the key (default ip); rows where it is NULL or empty are ignored"},
		},
		New: newBotSignatureSink,
	})
}

// BotSignatures lists the keys flagged now, sorted by IP.
func BotSignatures() []BotSignature {
	now := time.Now()
	var out []BotSignature
	botSignatures().IterValues(func(s BotSignature) bool {
		if s.Expires.After(now) {
			out = append(out, s)
		}
		return false
	})
	slices.SortFunc(out, func(a, b BotSignature) int { return strings.Compare(a.IP, b.IP) })
	return out
}

type botSignatureSink struct {
	query  string
	column string
	ttl    time.Duration
}

func newBotSignatureSink(cfg operators.SinkConfig) (operators.Sink, error) {
	s := &botSignatureSink{query: cfg.Query, column: "ip", ttl: defaultBotTTL}
	for name, value := range cfg.Args {
		switch name {
		case "ttl":
			ttl, err := time.ParseDuration(value)
			if err != nil || ttl <= 0 {
				return nil, fmt.Errorf("bot_signatures: ttl %q is not a positive duration such as 30m or 1h", value)
			}
			s.ttl = ttl
		case "column":
			if value == "" {
				return nil, fmt.Errorf("bot_signatures: column must name an output column")
			}
			s.column = value
		default:
			return nil, fmt.Errorf("bot_signatures: unknown argument %q (known: ttl, column)", name)
		}
	}
	return s, nil
}

// Write never blocks: ristretto takes sets through a buffer and drops them
// when that is full. Dropped flags are reported as an error, so the sink's
// failure counter and log say so; the detector flags the key again in its
// next window.
func (s *botSignatureSink) Write(_ context.Context, rows []*operators.Record) error {
	cache := botSignatures()
	expires := time.Now().Add(s.ttl)
	dropped := 0
	for _, r := range rows {
		v := r.Get(s.column)
		if v.IsNull() || v.Text() == "" {
			continue
		}
		sig := BotSignature{IP: strings.Clone(v.Text()), Expires: expires, Query: s.query, Reason: r.String()}
		cost := int64(len(sig.IP) + len(sig.Query) + len(sig.Reason) + 64)
		if !cache.SetWithTTL(sig.IP, sig, cost, s.ttl) {
			dropped++
		}
	}
	if dropped > 0 {
		return fmt.Errorf("bot_signatures: %d of %d flags dropped: cache write buffer full", dropped, len(rows))
	}
	return nil
}

// Flush waits until every flag written so far is visible to bot_signature.
func (s *botSignatureSink) Flush(context.Context) error {
	botSignatures().Wait()
	return nil
}

func (s *botSignatureSink) Close() error { return nil }

// ClearBotSignature lifts one flag (a false positive); ip "" lifts them all.
func ClearBotSignature(ip string) {
	c := botSignatures()
	if ip == "" {
		c.Clear()
	} else {
		c.Del(ip)
	}
	c.Wait()
}
