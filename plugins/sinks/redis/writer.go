package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/buger/jsonparser"
	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
	"sluice/plugins/sinks/rowtemplate"
)

// writer turns batches of rows into one pipelined round trip. It runs on
// the buffer's writer goroutine only, so its scratch space is unshared.
type writer struct {
	client *goredis.Client
	mode   string

	key, member, field, value, score *rowtemplate.Template
	constScore                       float64
	hasConstScore                    bool
	ttl                              time.Duration
	maxLen                           int64
	co                               *cooccur // mode cooccur

	log      *slog.Logger
	scratch  []byte
	lastKey  string
	expiring map[string]struct{} // keys given an EXPIRE … NX in this batch
	spans    []span
}

// span is the commands one row queued, as positions in the pipeline, and
// the key to give the TTL once they succeed ("" for none).
type span struct {
	row      *operators.Record
	from, to int
	expire   string
}

// send is the buffer's Sender. Lists are written in MULTI/EXEC so that no
// reader sees a member removed and not yet pushed back.
func (w *writer) send(ctx context.Context, rows []*operators.Record) (buffer.Result, error) {
	var res buffer.Result
	if w.co != nil {
		if err := w.co.load(ctx, w.client); err != nil {
			return res, err
		}
	}
	var pipe goredis.Pipeliner
	if w.mode == "list" {
		pipe = w.client.TxPipeline()
	} else {
		pipe = w.client.Pipeline()
	}
	w.spans = w.spans[:0]
	for _, r := range rows {
		from := pipe.Len()
		expire, err := w.queue(ctx, pipe, r)
		if err != nil {
			res.Rejected = append(res.Rejected, buffer.Rejection{Row: r, Reason: err.Error()})
			continue
		}
		w.spans = append(w.spans, span{r, from, pipe.Len(), expire})
	}
	if pipe.Len() == 0 {
		return res, nil
	}
	n := pipe.Len()
	cmds, err := pipe.Exec(ctx)
	var rerr goredis.Error
	if err != nil && !errors.As(err, &rerr) {
		return buffer.Result{}, fmt.Errorf("redis pipeline of %d commands: %w", n, err)
	}
	clear(w.expiring)
	var expire goredis.Pipeliner // after the writes: only keys they wrote
	for _, sp := range w.spans {
		failed := false
		for _, c := range cmds[sp.from:sp.to] {
			cerr := c.Err()
			if cerr == nil || cerr == goredis.Nil {
				continue
			}
			failed = true
			arg := c.Args()[1]
			if w.co != nil {
				arg = c.Args()[3] // the session key, not the script's digest
			}
			reason := fmt.Sprintf("redis %s %v: %v", strings.ToUpper(c.Name()), arg, cerr)
			if goredis.HasErrorPrefix(cerr, "NOSCRIPT") {
				w.co.loaded = false // Redis restarted and lost its script cache
			}
			if retryable(cerr) {
				res.Retry = append(res.Retry, sp.row)
				res.RetryReason = reason
			} else {
				res.Rejected = append(res.Rejected, buffer.Rejection{Row: sp.row, Reason: reason})
			}
			break
		}
		// Only a key the row did write gets the TTL: a key refused with
		// WRONGTYPE belongs to someone else.
		if _, done := w.expiring[sp.expire]; !failed && sp.expire != "" && !done {
			w.expiring[sp.expire] = struct{}{}
			if expire == nil {
				expire = w.client.Pipeline()
			}
			expire.ExpireNX(ctx, sp.expire, w.ttl)
		}
	}
	if expire != nil {
		// The rows are written: failing the batch would write them again
		// (zincr twice). A TTL missed here is set by the key's next write.
		if _, err := expire.Exec(ctx); err != nil {
			w.log.Warn("redis sink: setting key TTLs failed", "keys", len(w.expiring), "err", err)
		}
	}
	return res, nil
}

// queue adds one row's commands, and says which key gets the TTL once
// they succeed. Everything is rendered before the first command is
// queued, so a row that cannot be written queues nothing.
func (w *writer) queue(ctx context.Context, p goredis.Pipeliner, r *operators.Record) (expire string, err error) {
	key, err := w.keyText(r)
	if err != nil {
		return "", fmt.Errorf("key %w", err)
	}
	switch w.mode {
	case "set", "hll", "list":
		members, err := w.members(r)
		if err != nil {
			return "", err
		}
		if len(members) == 0 {
			return "", nil
		}
		switch w.mode {
		case "set":
			p.SAdd(ctx, key, members...)
		case "hll":
			p.PFAdd(ctx, key, members...)
		default:
			// The first member ends up at the head.
			for i := len(members) - 1; i >= 0; i-- {
				p.LRem(ctx, key, 0, members[i])
				p.LPush(ctx, key, members[i])
			}
			p.LTrim(ctx, key, 0, w.maxLen-1)
		}
	case "hash":
		f, err := w.text(w.field, r)
		if err != nil {
			return "", fmt.Errorf("field %w", err)
		}
		v, err := w.valueText(r)
		if err != nil {
			return "", err
		}
		p.HSet(ctx, key, f, v)
	case "zset", "zincr":
		m, err := w.text(w.member, r)
		if err != nil {
			return "", fmt.Errorf("member %w", err)
		}
		score, err := w.scoreOf(r)
		if err != nil {
			return "", err
		}
		if w.mode == "zset" {
			p.ZAdd(ctx, key, goredis.Z{Score: score, Member: m})
		} else {
			p.ZIncrBy(ctx, key, score, m)
		}
	case "string":
		v, err := w.valueText(r)
		if err != nil {
			return "", err
		}
		p.Set(ctx, key, v, w.ttl)
		return "", nil
	case "cooccur":
		return "", w.co.queue(ctx, p, w, key, r) // the script sets its own TTLs
	}
	if w.ttl > 0 {
		return key, nil
	}
	return "", nil
}

// members is the row's member, or each element when the member column
// holds a JSON array (as redis_zrange returns): a row can push several
// recommendations at once.
func (w *writer) members(r *operators.Record) ([]any, error) {
	v, err := w.member.Value(r)
	if err != nil {
		return nil, fmt.Errorf("member %w", err)
	}
	if v.Kind != operators.KindJSON || !strings.HasPrefix(v.S, "[") {
		return []any{v.Text()}, nil
	}
	var out []any
	var bad error
	_, err = jsonparser.ArrayEach([]byte(v.S), func(b []byte, t jsonparser.ValueType, _ int, _ error) {
		switch t {
		case jsonparser.Null:
		case jsonparser.Object, jsonparser.Array:
			bad = fmt.Errorf("array element %s is not a string or number", b)
		default:
			out = append(out, operators.FromJSON(b, t).Text())
		}
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("member %q: %w", w.member, err)
	}
	return out, nil
}

// keyText renders the key, reusing the previous string when the key
// repeats (all of a day's DAU rows share one key).
func (w *writer) keyText(r *operators.Record) (string, error) {
	b, err := w.key.Append(w.scratch[:0], r)
	w.scratch = b
	if err != nil {
		return "", err
	}
	if string(b) != w.lastKey {
		w.lastKey = string(b)
	}
	return w.lastKey, nil
}

func (w *writer) text(t *rowtemplate.Template, r *operators.Record) (string, error) {
	b, err := t.Append(w.scratch[:0], r)
	w.scratch = b
	return string(b), err
}

// valueText is the value argument, or the whole row as JSON.
func (w *writer) valueText(r *operators.Record) (string, error) {
	if w.value == nil {
		w.scratch = r.AppendJSON(w.scratch[:0])
		return string(w.scratch), nil
	}
	v, err := w.text(w.value, r)
	if err != nil {
		return "", fmt.Errorf("value %w", err)
	}
	return v, nil
}

func (w *writer) scoreOf(r *operators.Record) (float64, error) {
	if w.hasConstScore {
		return w.constScore, nil
	}
	v, err := w.score.Value(r)
	if err != nil {
		return 0, fmt.Errorf("score %w", err)
	}
	f, ok := v.Num()
	if !ok {
		return 0, fmt.Errorf("score %q: %s is not a number", w.score, v)
	}
	return f, nil
}

// retryable reports whether Redis refused a command for a passing reason
// (loading, busy, out of memory, failover, a script cache lost in a
// restart) rather than because of the row.
func retryable(err error) bool {
	for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "OOM", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "NOREPLICAS", "NOSCRIPT", "max number of clients"} {
		if goredis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}
