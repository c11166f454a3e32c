// Package redislookup gives SQL statements read access to state kept in
// Redis — redis_get, redis_hget, redis_zrange, redis_smembers — so events
// can be joined with what other statements or applications wrote there.
// Answers are cached for a second in ristretto, so a hot key costs one
// round trip per second rather than one per event. Without --redis-url
// every lookup is NULL.
package redislookup

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
)

// ttl is how long an answer, a missing key or a failure is reused.
const ttl = time.Second

// timeout bounds one lookup: it runs on a statement's goroutine.
const timeout = 200 * time.Millisecond

type lookup struct {
	client  *goredis.Client
	cache   *ristretto.Cache[[]byte, operators.Value]
	lastLog atomic.Int64 // unix seconds of the last logged failure
	env     *operators.Env
}

var current atomic.Pointer[lookup]

func init() {
	operators.OnSetup(setup)
}

// setup connects to --redis-url; it replaces an earlier connection.
func setup(env *operators.Env) error {
	var next *lookup
	if env.RedisURL != "" {
		opt := &goredis.Options{Addr: env.RedisURL}
		if strings.Contains(env.RedisURL, "://") {
			var err error
			if opt, err = goredis.ParseURL(env.RedisURL); err != nil {
				return fmt.Errorf("redis lookups: --redis-url %q: %w", env.RedisURL, err)
			}
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
		opt.MaxRetries = -1
		opt.DialerRetries = 1
		opt.DisableIdentity = true
		cache, err := ristretto.NewCache(&ristretto.Config[[]byte, operators.Value]{
			NumCounters: 100_000,
			MaxCost:     16 << 20, // bytes of keys and answers
			BufferItems: 64,
		})
		if err != nil {
			return fmt.Errorf("redis lookups: cache: %w", err)
		}
		next = &lookup{client: goredis.NewClient(opt), cache: cache, env: env}
	}
	if old := current.Swap(next); old != nil {
		old.cache.Close()
		_ = old.client.Close()
	}
	return nil
}

// keyBufs holds the buffers cache keys are built in, so that a hit
// allocates nothing. Ristretto keeps only a key's hashes, never the key,
// so the buffer is free again once Get or SetWithTTL returns. A pool
// rather than one buffer: statements' goroutines look up at once; and not
// the stack, since the key escapes into ristretto's hash function.
var keyBufs = sync.Pool{New: func() any { return new([]byte) }}

// cached answers the lookup kind of args from the cache or, on a miss,
// from fetch. Failures are cached too, as NULL, so that a Redis that is
// down is asked once a second per key instead of once per event. The
// cache key is the arguments' text, written without allocating.
func cached(kind string, fetch func(ctx context.Context, c *goredis.Client) (operators.Value, error), args ...operators.Value) operators.Value {
	l := current.Load()
	if l == nil {
		return operators.Null()
	}
	buf := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(buf)
	ck := append((*buf)[:0], kind...)
	for _, a := range args {
		ck = a.AppendText(append(ck, 0))
	}
	*buf = ck
	if v, ok := l.cache.Get(ck); ok {
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	v, err := fetch(ctx, l.client)
	cancel()
	if err == goredis.Nil {
		v, err = operators.Null(), nil
	}
	if err != nil {
		v = operators.Null()
		if now := time.Now().Unix(); l.lastLog.Swap(now) != now {
			l.env.Log().Warn("redis lookup failed; NULL for a second", "function", kind, "args", argsText(args), "err", err)
		}
	}
	l.cache.SetWithTTL(ck, v, int64(len(ck)+len(v.S)+32), ttl)
	return v
}

// argsText is a lookup's arguments for the log.
func argsText(args []operators.Value) string {
	texts := make([]string, len(args))
	for i, a := range args {
		texts[i] = a.Text()
	}
	return strings.Join(texts, " ")
}

// jsonArray encodes members as a JSON array of strings.
func jsonArray(members []string) operators.Value {
	b := []byte{'['}
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = operators.AppendJSONString(b, m)
	}
	return operators.RawJSON(string(append(b, ']')))
}
