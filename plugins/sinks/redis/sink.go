// Package redis is the @Sink(type="redis") plugin: it writes keyed state
// that applications read (daily active users, recommendation lists,
// counters) with pipelined commands chosen to be idempotent under replay.
package redis

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
	"sluice/plugins/sinks/rowtemplate"
)

func init() {
	operators.RegisterSink(operators.SinkPlugin{
		Name: "redis",
		Doc:  "Writes rows to Redis with SADD, PFADD, HSET, ZADD, ZINCRBY, LPUSH+LTRIM, SET or a co-occurrence script, pipelined in batches.",
		Args: append([]operators.ArgSpec{
			{Name: "mode", Required: true, Doc: "set | hll | hash | zset | zincr | list | string | cooccur"},
			{Name: "key", Required: true, Doc: `key template over the row's columns, e.g. "dau:{date}"`},
			{Name: "member", Doc: "set, hll, zset, zincr, list: the member, a column or template; cooccur: the item"},
			{Name: "field", Doc: "hash: the field, a column or template"},
			{Name: "value", Doc: "hash, string: the value, a column or template (default: the row as JSON)"},
			{Name: "score", Doc: "zset, zincr: the score or increment, a numeric column or a number; cooccur: the event's weight"},
			{Name: "ttl", Doc: "key expiry as a Go duration, e.g. 48h; set once when the key is created (SET refreshes it); cooccur: of the session's keys"},
			{Name: "max_len", Doc: "list: entries kept (default 100); cooccur: recent items kept per session"},
			{Name: "id", Doc: "cooccur: the event's id within its session, e.g. \"{session_seq}\"; an id seen before is a replay and changes nothing"},
			{Name: "sim", Doc: `cooccur: key prefix of the similarity sorted sets (default "sim:")`},
			{Name: "rec", Doc: `cooccur: key template of the list that receives the items most similar to each event's item, e.g. "rec:{user_id}"`},
			{Name: "rec_top", Doc: "cooccur: how many similar items each event pushes onto rec (default 5)"},
			{Name: "rec_len", Doc: "cooccur: entries kept in rec (default 20)"},
		}, buffer.Args...),
		New: New,
	})
}

// Sink writes a statement's rows to Redis through a delivery buffer.
type Sink struct {
	*buffer.Buffer // Write, Flush, Counters and Stats
	client         *goredis.Client
	w              *writer
}

// New builds a Redis sink from a @Sink annotation.
func New(cfg operators.SinkConfig) (operators.Sink, error) {
	w, err := newWriter(cfg.Args, cfg.Columns)
	if err != nil {
		return nil, fmt.Errorf("redis sink: %w", err)
	}
	opt, err := buffer.ParseOptions(cfg.Args)
	if err != nil {
		return nil, fmt.Errorf("redis sink: %w", err)
	}
	if cfg.Env == nil || cfg.Env.RedisURL == "" {
		return nil, fmt.Errorf("redis sink: no Redis address (set --redis-url): %w", operators.ErrNotConfigured)
	}
	copt, err := clientOptions(cfg.Env.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("redis sink: %w", err)
	}
	w.client = goredis.NewClient(copt)
	w.log = cfg.Env.Log()
	return &Sink{Buffer: buffer.New(cfg.Query, "redis", cfg.Env, opt, w.send), client: w.client, w: w}, nil
}

// clientOptions reads --redis-url: a redis:// or rediss:// URL, or host:port.
func clientOptions(url string) (*goredis.Options, error) {
	opt := &goredis.Options{Addr: url}
	if strings.Contains(url, "://") {
		var err error
		if opt, err = goredis.ParseURL(url); err != nil {
			return nil, fmt.Errorf("--redis-url %q: %w", url, err)
		}
	}
	// The delivery buffer retries with backoff and counts it; the client must not retry on its own.
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	opt.PoolSize = 2
	opt.DisableIdentity = true
	opt.DialTimeout = time.Second
	return opt, nil
}

// Close delivers what is queued and closes the connection.
func (s *Sink) Close() error {
	return errors.Join(s.Buffer.Close(), s.client.Close())
}

// modes lists each mode's required and optional arguments besides key.
var modes = map[string]struct{ required, optional []string }{
	"set":     {required: []string{"member"}, optional: []string{"ttl"}},
	"hll":     {required: []string{"member"}, optional: []string{"ttl"}},
	"hash":    {required: []string{"field"}, optional: []string{"value", "ttl"}},
	"zset":    {required: []string{"member", "score"}, optional: []string{"ttl"}},
	"zincr":   {required: []string{"member", "score"}, optional: []string{"ttl"}},
	"list":    {required: []string{"member"}, optional: []string{"max_len", "ttl"}},
	"string":  {optional: []string{"value", "ttl"}},
	"cooccur": {required: []string{"member", "score", "id"}, optional: []string{"max_len", "ttl", "sim", "rec", "rec_top", "rec_len"}},
}

// modeArgs are the arguments that only some modes use.
var modeArgs = []string{"member", "field", "value", "score", "ttl", "max_len", "id", "sim", "rec", "rec_top", "rec_len"}

// newWriter checks the annotation's arguments against the mode and the
// statement's columns.
func newWriter(args map[string]string, columns []string) (*writer, error) {
	name := args["mode"]
	m, ok := modes[name]
	if !ok {
		return nil, fmt.Errorf("mode=%q: want one of set, hll, hash, zset, zincr, list, string, cooccur", name)
	}
	names := make([]string, 0, len(args))
	for a := range args {
		names = append(names, a)
	}
	slices.Sort(names)
	for _, a := range names {
		switch {
		case a == "mode" || a == "key" || slices.Contains(m.required, a) || slices.Contains(m.optional, a) || buffer.IsArg(a):
		case slices.Contains(modeArgs, a):
			return nil, fmt.Errorf("argument %s is not used in mode %s", a, name)
		default:
			return nil, fmt.Errorf("unknown argument %s", a)
		}
	}
	for _, a := range append([]string{"key"}, m.required...) {
		if strings.TrimSpace(args[a]) == "" {
			return nil, fmt.Errorf("mode %s needs argument %s", name, a)
		}
	}
	w := &writer{mode: name, maxLen: 100, expiring: map[string]struct{}{}}
	var err error
	if w.key, err = template(args, "key", rowtemplate.Parse, columns); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		arg string
		dst **rowtemplate.Template
	}{{"member", &w.member}, {"field", &w.field}, {"value", &w.value}} {
		if *f.dst, err = template(args, f.arg, rowtemplate.Field, columns); err != nil {
			return nil, err
		}
	}
	if s, ok := args["score"]; ok {
		if f, perr := strconv.ParseFloat(s, 64); perr == nil {
			w.constScore, w.hasConstScore = f, true
		} else if w.score, err = template(args, "score", rowtemplate.Field, columns); err != nil {
			return nil, err
		}
	}
	if s, ok := args["ttl"]; ok {
		d, perr := time.ParseDuration(s)
		if perr != nil || d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("ttl=%q: want whole seconds, at least 1s, such as 48h", s)
		}
		w.ttl = d
	}
	if s, ok := args["max_len"]; ok {
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || n <= 0 {
			return nil, fmt.Errorf("max_len=%q: want a positive whole number", s)
		}
		w.maxLen = n
	}
	if name == "cooccur" {
		if w.co, err = newCooccur(args, columns); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// template parses argument arg when present and checks its columns.
func template(args map[string]string, arg string, parse func(string) (*rowtemplate.Template, error), columns []string) (*rowtemplate.Template, error) {
	src, ok := args[arg]
	if !ok {
		return nil, nil
	}
	t, err := parse(src)
	if err == nil {
		err = t.Check(columns)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	return t, nil
}
