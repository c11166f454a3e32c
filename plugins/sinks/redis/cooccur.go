package redis

import (
	"context"
	"fmt"
	"math"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
	"sluice/plugins/sinks/rowtemplate"
)

// cooccurScript is one event of mode cooccur, atomic in Redis.
//
// KEYS: the session's recent items (list), its seen event ids (set), and
// optionally the user's recommendations (list). ARGV: event id, item,
// weight, max_len, ttl in seconds (0: none), similarity key prefix, rec_top,
// rec_len.
//
// An event id already in the seen set is a replay: nothing happens. Else
// the weight goes both ways between the item and every other recent item of
// the session, the item becomes the most recent (the session's first event
// sets the TTL of both session keys), and the items most similar to it go
// to the head of the recommendation list, which is rewritten only when that
// changes it. Doing it all in one script orders every recommendation after
// the co-occurrence of its own event and of every event before it, whatever
// the batching. Each redis.call costs about a microsecond, so the script
// makes as few as it can.
//
// Redis does not roll a script back when a command fails: the types of
// every key written are checked before the first write, and the event id
// is added to the seen set last, so that a row refused with WRONGTYPE
// leaves nothing behind and can be replayed once the key is fixed.
var cooccurScript = goredis.NewScript(`
local function wrongtype(key, want)
  local t = redis.call('TYPE', key)['ok']
  return t ~= 'none' and t ~= want
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
local item, weight, sim = ARGV[2], ARGV[3], ARGV[6]
local recent = redis.call('LRANGE', KEYS[1], 0, -1)
local bad, touched = nil, #KEYS == 3
if #KEYS == 3 and wrongtype(KEYS[3], 'list') then bad = KEYS[3] end
for _, other in ipairs(recent) do
  if bad then break end
  if other ~= item then
    touched = true
    if wrongtype(sim .. other, 'zset') then bad = sim .. other end
  end
end
if not bad and touched and wrongtype(sim .. item, 'zset') then bad = sim .. item end
if bad then
  return redis.error_reply('WRONGTYPE ' .. bad .. ' holds the wrong kind of value; nothing written')
end
for _, other in ipairs(recent) do
  if other ~= item then
    redis.call('ZINCRBY', sim .. item, weight, other)
    redis.call('ZINCRBY', sim .. other, weight, item)
  end
end
if recent[1] ~= item then
  redis.call('LREM', KEYS[1], 0, item)
  redis.call('LPUSH', KEYS[1], item)
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[4]) - 1)
end
if #KEYS == 3 then
  local top = redis.call('ZREVRANGE', sim .. item, 0, tonumber(ARGV[7]) - 1)
  local len = tonumber(ARGV[8])
  local old = #top > 0 and redis.call('LRANGE', KEYS[3], 0, len - 1) or {}
  local new, seen = {}, {}
  for _, list in ipairs({top, old}) do
    for _, m in ipairs(list) do
      if #new < len and not seen[m] then
        new[#new + 1], seen[m] = m, true
      end
    end
  end
  local same = #new == #old
  for i = 1, #new do
    same = same and new[i] == old[i]
  end
  if not same then
    redis.call('DEL', KEYS[3])
    redis.call('RPUSH', KEYS[3], unpack(new))
  end
end
redis.call('SADD', KEYS[2], ARGV[1])
local ttl = tonumber(ARGV[5])
if #recent == 0 and ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl, 'NX')
  redis.call('EXPIRE', KEYS[2], ttl, 'NX')
end
return 1
`)

// maxRec bounds rec_top and rec_len: the script passes the whole list to
// one RPUSH.
const maxRec = 1000

// cooccur holds mode cooccur's arguments besides key, member, score,
// max_len and ttl, which it shares with the other modes.
type cooccur struct {
	id     *rowtemplate.Template
	rec    *rowtemplate.Template // nil: co-occurrence only
	sim    string
	recTop int64
	recLen int64
	score  string // the score argument as written, for errors

	loaded bool // the script is in Redis's script cache
	keys   []string
	argv   []any
}

func newCooccur(args map[string]string, columns []string) (*cooccur, error) {
	c := &cooccur{sim: "sim:", recTop: 5, recLen: 20, score: args["score"]}
	var err error
	if c.id, err = template(args, "id", rowtemplate.Field, columns); err != nil {
		return nil, err
	}
	if c.rec, err = template(args, "rec", rowtemplate.Parse, columns); err != nil {
		return nil, err
	}
	if s, ok := args["sim"]; ok {
		c.sim = s
	}
	for _, n := range []struct {
		arg string
		dst *int64
	}{{"rec_top", &c.recTop}, {"rec_len", &c.recLen}} {
		s, ok := args[n.arg]
		if !ok {
			continue
		}
		if c.rec == nil {
			return nil, fmt.Errorf("argument %s needs argument rec", n.arg)
		}
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || v <= 0 || v > maxRec {
			return nil, fmt.Errorf("%s=%q: want a whole number from 1 to %d", n.arg, s, maxRec)
		}
		*n.dst = v
	}
	return c, nil
}

// load puts the script into Redis's script cache, once and again after
// Redis answered NOSCRIPT (it restarted), so that rows are sent as EVALSHA.
func (c *cooccur) load(ctx context.Context, client *goredis.Client) error {
	if c.loaded {
		return nil
	}
	if err := cooccurScript.Load(ctx, client).Err(); err != nil {
		return fmt.Errorf("redis script load: %w", err)
	}
	c.loaded = true
	return nil
}

// queue adds the row's EVALSHA; key is the session's recent-items list.
func (c *cooccur) queue(ctx context.Context, p goredis.Pipeliner, w *writer, key string, r *operators.Record) error {
	id, err := w.text(c.id, r)
	if err != nil {
		return fmt.Errorf("id %w", err)
	}
	item, err := w.text(w.member, r)
	if err != nil {
		return fmt.Errorf("member %w", err)
	}
	weight, err := w.scoreOf(r)
	if err != nil {
		return err
	}
	if math.IsNaN(weight) || math.IsInf(weight, 0) {
		return fmt.Errorf("score %q: %v is not a finite number", c.score, weight)
	}
	c.keys = append(c.keys[:0], key, key+":seen")
	if c.rec != nil {
		rec, err := w.text(c.rec, r)
		if err != nil {
			return fmt.Errorf("rec %w", err)
		}
		c.keys = append(c.keys, rec)
	}
	c.argv = append(c.argv[:0], id, item, strconv.FormatFloat(weight, 'g', -1, 64),
		w.maxLen, int64(w.ttl.Seconds()), c.sim, c.recTop, c.recLen)
	p.EvalSha(ctx, cooccurScript.Hash(), c.keys, c.argv...)
	return nil
}
